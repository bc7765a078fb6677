"""``Terminal``: one simulated MetaTrader 5 terminal with the ``MetaTrader5`` module's API.

Every method of the package is an attribute with the package's calling rules (copy_* and calc
functions positional-only, ``*_get`` filters keyword-only). Each call, under one re-entrant lock:
spends the configured latency through ``sleep``, fails with an IPC error while a disconnect fault
is active or before ``initialize()`` (None/False, ``last_error()`` -10004 'No IPC connection'),
catches the trade server up with the market to the clock's ``now`` (``catchup.py``), answers, and
leaves ``last_error()`` at ``(1, 'Success')`` or the failure's reason.

Decisions where the package is silent (see also the module docs of ``execution``/``catchup``):
- unknown symbol → None with ``(-1, 'Terminal: Call failed')``; an argument of the wrong type or
  value → None with ``(-2, 'Invalid "<name>" argument')``;
- ``symbol_info_tick`` needs the symbol in Market Watch (``symbol_select``); ``SimConfig``'s
  ``market_watch`` lists the symbols selected at start (None = all); copy_* work regardless;
- ``copy_rates_*`` serve only the newest ``maxbars`` bars;
- ``order_check`` is local to the terminal: the AutoTrading switch and connection faults do not
  apply to it; ``order_send`` rejections are ``OrderSendResult``s with ``last_error`` Success.
"""

from __future__ import annotations

from trading_engine.mt5sim.api.helpers import buy, close, sell
from trading_engine.mt5sim.api.history import HistoryApi
from trading_engine.mt5sim.api.rates import RatesApi
from trading_engine.mt5sim.api.symbols import SymbolsApi
from trading_engine.mt5sim.api.trading import TradingApi
from trading_engine.mt5sim.spec.structs import OrderSendResult

__all__ = ["Terminal"]


class Terminal(SymbolsApi, RatesApi, HistoryApi, TradingApi):
    """An isolated simulated terminal (market, account, trade server, faults).

    ``Terminal(config: SimConfig | None = None, *, clock=None, sleep=None)``: ``clock`` returns
    the simulated time as UTC epoch seconds (default: the wall clock); ``sleep`` spends the
    per-call latency (default ``time.sleep``; tests pass their fake clock's advance function so
    that no test waits on the wall clock). ``terminal.faults`` scripts failures,
    ``terminal.trade_allowed`` is the AutoTrading button.
    """

    # -- helpers of the package (Buy/Sell/Close) ----------------------------------------------

    def Buy(
        self,
        symbol: str,
        volume: float,
        price: float | None = None,
        *,
        comment: str | None = None,
        ticket: int | None = None,
    ) -> OrderSendResult | None:
        """Market buy as the package's helper does (deviation 10, retries on 10004/10021)."""
        return buy(self, symbol, volume, price, comment=comment, ticket=ticket)

    def Sell(
        self,
        symbol: str,
        volume: float,
        price: float | None = None,
        *,
        comment: str | None = None,
        ticket: int | None = None,
    ) -> OrderSendResult | None:
        """Market sell as the package's helper does."""
        return sell(self, symbol, volume, price, comment=comment, ticket=ticket)

    def Close(
        self, symbol: str, *, comment: str | None = None, ticket: int | None = None
    ) -> bool | str | None:
        """Close the symbol's positions (or one ``ticket``): True / "Partially" / False / None."""
        return close(self, symbol, comment=comment, ticket=ticket)
