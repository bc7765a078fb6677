"""The eleven result types of the ``MetaTrader5`` module, as tuple-like struct sequences.

Like the C struct sequences of the real module they are ``tuple`` subclasses with named,
read-only attributes in a fixed order, a ``Name(field=value, ...)`` repr, ``_asdict()`` and
``__match_args__``, and they are built from one iterable (``TradeDeal(values)``). They have no
``_fields`` or ``_replace`` (struct sequences have neither). Field lists: ``docs/mt5-api.md`` §2.2.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import TYPE_CHECKING, Any, ClassVar, Self

__all__ = [
    "AccountInfo",
    "BookInfo",
    "OrderCheckResult",
    "OrderSendResult",
    "SymbolInfo",
    "TerminalInfo",
    "Tick",
    "TradeDeal",
    "TradeOrder",
    "TradePosition",
    "TradeRequest",
]


class _Struct(tuple[Any, ...]):
    """Base of the struct sequences: a tuple of exactly ``n_fields`` items."""

    __slots__ = ()
    _names: ClassVar[tuple[str, ...]] = ()
    n_fields: ClassVar[int] = 0
    n_sequence_fields: ClassVar[int] = 0
    _spec: ClassVar[str] = ""

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        names = tuple(cls._spec.split())
        cls._names = names
        cls.n_fields = cls.n_sequence_fields = len(names)
        setattr(cls, "__match_args__", names)  # noqa: B010
        cls.__module__ = "trading_engine.mt5sim"
        for i, n in enumerate(names):
            setattr(cls, n, property(itemgetter(i), doc=f"field {i}: {n}"))

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...

    def __new__(cls, sequence: Iterable[Any], dict: Any = None) -> Self:
        values = tuple(sequence)
        if len(values) != cls.n_fields:
            raise TypeError(
                f"{cls.__module__}.{cls.__name__}() takes a {cls.n_fields}-sequence "
                f"({len(values)}-sequence given)"
            )
        return tuple.__new__(cls, values)

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={v!r}" for n, v in zip(self._names, self, strict=True))
        return f"{type(self).__name__}({body})"

    def _asdict(self) -> dict[str, Any]:
        """Convert named tuple object to dictionary."""
        return dict(zip(self._names, self, strict=True))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (tuple(self),))

    @classmethod
    def _make(cls, values: tuple[Any, ...]) -> Self:
        """Build from an exact tuple without copying (internal fast path)."""
        return tuple.__new__(cls, values)


class Tick(_Struct):
    """MetaTrader5 ``Tick``."""

    __slots__ = ()
    _spec = """
        time bid ask last volume time_msc flags volume_real
    """


class BookInfo(_Struct):
    """MetaTrader5 ``BookInfo``."""

    __slots__ = ()
    _spec = """
        type price volume volume_dbl
    """


class AccountInfo(_Struct):
    """MetaTrader5 ``AccountInfo``."""

    __slots__ = ()
    _spec = """
        login trade_mode leverage limit_orders margin_so_mode trade_allowed trade_expert
        margin_mode currency_digits fifo_close balance credit profit equity margin margin_free
        margin_level margin_so_call margin_so_so margin_initial margin_maintenance assets
        liabilities commission_blocked name server currency company
    """


class TerminalInfo(_Struct):
    """MetaTrader5 ``TerminalInfo``."""

    __slots__ = ()
    _spec = """
        community_account community_connection connected dlls_allowed trade_allowed
        tradeapi_disabled email_enabled ftp_enabled notifications_enabled mqid build maxbars
        codepage ping_last community_balance retransmission company name language path data_path
        commondata_path
    """


class SymbolInfo(_Struct):
    """MetaTrader5 ``SymbolInfo``."""

    __slots__ = ()
    _spec = """
        custom chart_mode select visible session_deals session_buy_orders session_sell_orders
        volume volumehigh volumelow time digits spread spread_float ticks_bookdepth
        trade_calc_mode trade_mode start_time expiration_time trade_stops_level
        trade_freeze_level trade_exemode swap_mode swap_rollover3days margin_hedged_use_leg
        expiration_mode filling_mode order_mode order_gtc_mode option_mode option_right bid
        bidhigh bidlow ask askhigh asklow last lasthigh lastlow volume_real volumehigh_real
        volumelow_real option_strike point trade_tick_value trade_tick_value_profit
        trade_tick_value_loss trade_tick_size trade_contract_size trade_accrued_interest
        trade_face_value trade_liquidity_rate volume_min volume_max volume_step volume_limit
        swap_long swap_short margin_initial margin_maintenance session_volume session_turnover
        session_interest session_buy_orders_volume session_sell_orders_volume session_open
        session_close session_aw session_price_settlement session_price_limit_min
        session_price_limit_max margin_hedged price_change price_volatility price_theoretical
        price_greeks_delta price_greeks_theta price_greeks_gamma price_greeks_vega
        price_greeks_rho price_greeks_omega price_sensitivity basis category currency_base
        currency_profit currency_margin bank description exchange formula isin name page path
    """


class TradePosition(_Struct):
    """MetaTrader5 ``TradePosition``."""

    __slots__ = ()
    _spec = """
        ticket time time_msc time_update time_update_msc type magic identifier reason volume
        price_open sl tp price_current swap profit symbol comment external_id
    """


class TradeOrder(_Struct):
    """MetaTrader5 ``TradeOrder``."""

    __slots__ = ()
    _spec = """
        ticket time_setup time_setup_msc time_done time_done_msc time_expiration type type_time
        type_filling state magic position_id position_by_id reason volume_initial volume_current
        price_open sl tp price_current price_stoplimit symbol comment external_id
    """


class TradeDeal(_Struct):
    """MetaTrader5 ``TradeDeal``."""

    __slots__ = ()
    _spec = """
        ticket order time time_msc type entry magic position_id reason volume price commission
        swap profit fee symbol comment external_id
    """


class TradeRequest(_Struct):
    """MetaTrader5 ``TradeRequest``."""

    __slots__ = ()
    _spec = """
        action magic order symbol volume price stoplimit sl tp deviation type type_filling
        type_time expiration comment position position_by
    """


class OrderSendResult(_Struct):
    """MetaTrader5 ``OrderSendResult``."""

    __slots__ = ()
    _spec = """
        retcode deal order volume price bid ask comment request_id retcode_external request
    """


class OrderCheckResult(_Struct):
    """MetaTrader5 ``OrderCheckResult``."""

    __slots__ = ()
    _spec = """
        retcode balance equity profit margin margin_free margin_level comment request
    """
