"""Parity: the fast engine and the asyncio pipeline make the same trades (same fingerprint).

Each scenario runs both engines on the same configuration and bars and compares the fingerprints
(every closed trade and the counts of orders, fills, rejections and risk refusals), and checks
that the scenario did what it is named after (a test that could pass on an idle run proves
nothing).

Inherent differences, kept out of these scenarios and stated here: the pipeline makes more
terminal calls (its polls), so a fault counted in calls, or the latency fault (which moves
simulated time per call), falls elsewhere in the two runs; and the fast engine refreshes the
positions (and so ``PositionView.profit``) only when a stop, target or stop-out may have fired,
while the pipeline refreshes them on every bar: a strategy that reads ``position.profit`` sees
the value of the last refresh in the fast engine. The skipping itself is bounded by a test: with
and without it the fast engine makes the same run. And a lost connection: the fast engine reads
the history without polling, so an outage holds back only the calls that meet it, while the
pipeline's polls fail and retry with backoff and the outage's bars arrive late, at the
reconnection, where a signal can be refused as stale: the last test shows the two runs differ
only around the outage.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.integration.conftest import make_config, strategy

from trading_engine.backtest import BacktestResult, run_backtest


def _both(cfg: Any, bars: int) -> tuple[BacktestResult, BacktestResult]:
    fast = run_backtest(cfg, bars=bars, engine="fast")
    pipeline = run_backtest(cfg, bars=bars, engine="pipeline")
    assert fast.engine == "fast"
    assert pipeline.engine == "pipeline"
    return fast, pipeline


def _assert_same(fast: BacktestResult, pipeline: BacktestResult) -> None:
    assert fast.counts == pipeline.counts
    assert fast.trades == pipeline.trades
    assert fast.risk_refusals == pipeline.risk_refusals
    assert fast.fingerprint == pipeline.fingerprint


def _cfg(tmp_path: Path, strategies: list[dict[str, Any]], **overrides: Any) -> Any:
    base: dict[str, Any] = {
        "services.indicator_calculation.warmup_bars": 300,
        "logging.level": "ERROR",
    }
    base.update(overrides)
    return make_config(tmp_path / "unused.db", strategies, **base)


EMA = {"name": "ema_cross", "class_path": "ema_cross", "params": {}}


def test_ema_cross_on_m1_gives_the_same_fingerprint_with_stops_and_targets_hit_inside_bars(
    tmp_path: Path,
) -> None:
    params = {"regime_filter": False, "sl_atr": 1.5, "tp_atr": 1.5, "volume": 0.5}
    cfg = _cfg(tmp_path, [{**EMA, "params": params}])
    fast, pipeline = _both(cfg, 1500)
    reasons = {t.close_reason for t in fast.trades}
    assert {"sl", "tp"} <= reasons
    _assert_same(fast, pipeline)


def test_ema_cross_reversals_without_stops_give_the_same_fingerprint(tmp_path: Path) -> None:
    params = {"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 0.1}
    cfg = _cfg(tmp_path, [{**EMA, "params": params}])
    fast, pipeline = _both(cfg, 1200)
    assert len(fast.trades) >= 20
    assert {t.close_reason for t in fast.trades} == {"signal"}
    assert {t.side for t in fast.trades} == {"buy", "sell"}
    _assert_same(fast, pipeline)


def test_rsi_reversion_with_regime_changes_gives_the_same_fingerprint(tmp_path: Path) -> None:
    rsi = {
        "name": "rsi_reversion",
        "class_path": "rsi_reversion",
        "params": {"regimes": ["ranging", "trending_up", "trending_down"], "volume": 0.2},
    }
    cfg = _cfg(tmp_path, [rsi])
    fast, pipeline = _both(cfg, 1500)
    assert fast.trades
    _assert_same(fast, pipeline)


def test_three_symbols_on_m1_m5_h1_give_the_same_fingerprint(tmp_path: Path) -> None:
    params = {"regime_filter": False, "sl_atr": 2, "tp_atr": 3, "volume": 0.1}
    cfg = _cfg(
        tmp_path,
        [{**EMA, "params": params}],
        **{
            "trading.symbols": ["EURUSD", "GBPUSD", "USDJPY"],
            "trading.timeframes": ["M1", "M5", "H1"],
            "services.indicator_calculation.warmup_bars": 100,
        },
    )
    fast, pipeline = _both(cfg, 2000)
    assert {t.symbol for t in fast.trades} == {"EURUSD", "GBPUSD", "USDJPY"}
    _assert_same(fast, pipeline)


def test_daily_loss_halt_resumes_next_server_day_with_the_same_fingerprint(
    tmp_path: Path,
) -> None:
    params = {"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 1.0}
    cfg = _cfg(tmp_path, [{**EMA, "params": params}], **{"risk.daily_loss_limit": 60.0})
    fast, pipeline = _both(cfg, 2600)
    assert fast.risk_refusals.get("daily_loss_limit", 0) > 0
    halted = [e for e in fast.risk_events if e[1] == "HALTED"]
    assert halted
    assert any(t.open_time // 86_400 > halted[0][0] // 86_400 for t in fast.trades)
    _assert_same(fast, pipeline)


def test_drawdown_halt_gives_the_same_fingerprint(tmp_path: Path) -> None:
    params = {"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 1.0}
    cfg = _cfg(
        tmp_path,
        [{**EMA, "params": params}],
        **{"risk.max_drawdown_pct": 0.5, "risk.daily_loss_limit": 5000.0},
    )
    fast, pipeline = _both(cfg, 1500)
    assert fast.risk_refusals.get("max_drawdown", 0) > 0
    _assert_same(fast, pipeline)


def test_slippage_commission_and_requotes_give_the_same_fingerprint(tmp_path: Path) -> None:
    params = {"regime_filter": False, "sl_atr": 1.5, "tp_atr": 2, "volume": 0.3}
    cfg = _cfg(
        tmp_path,
        [{**EMA, "params": params}],
        **{
            "terminal.sim.slippage_points": 3,
            "terminal.sim.commission_per_lot": 3.5,
            "terminal.sim.requote_probability": 0.2,
        },
    )
    fast, pipeline = _both(cfg, 1500)
    assert any(t.commission < 0 for t in fast.trades)
    _assert_same(fast, pipeline)


def test_a_strategy_that_raises_is_disabled_in_both_engines_alike(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path,
        [
            strategy("bug", "Raising", raise_at=[3, 7], raise_from=20),
            strategy("script", "Scripted", enter_at=[5, 40], exit_at=[35, 70]),
        ],
    )
    fast, pipeline = _both(cfg, 120)
    assert [name for name, _, _ in fast.disabled_strategies] == ["bug"]
    assert fast.counts["strategy_errors"] >= 10
    assert len(fast.trades) == 2
    _assert_same(fast, pipeline)
    assert fast.disabled_strategies == pipeline.disabled_strategies


def test_the_fast_engine_skips_refreshes_only_when_nothing_can_have_closed(
    tmp_path: Path,
) -> None:
    bars = 300
    from trading_engine.backtest.engine import BacktestEngine

    params = {"regime_filter": False, "sl_atr": 0, "tp_atr": 0, "volume": 0.1}
    cfg = _cfg(tmp_path, [{**EMA, "params": params}])
    skipping = BacktestEngine(cfg, bars=bars)
    exact = BacktestEngine(cfg, bars=bars, skip_refresh=False)
    a, b = skipping.run(), exact.run()
    assert skipping.refreshes_skipped > 0
    assert exact.refreshes_skipped == 0
    assert a.fingerprint == b.fingerprint


def test_a_weekend_and_a_quiet_market_give_the_same_fingerprint(tmp_path: Path) -> None:
    params = {"regime_filter": False, "sl_atr": 2, "tp_atr": 2, "volume": 0.2}
    cfg = _cfg(
        tmp_path,
        [{**EMA, "params": params}],
        **{
            "trading.symbols": ["EURUSD", "GBPUSD"],
            "trading.timeframes": ["M1", "H1"],
            "terminal.sim.start": "2024-01-12T14:00:00Z",  # a Friday afternoon
            "services.indicator_calculation.warmup_bars": 50,
        },
    )
    fast, pipeline = _both(cfg, 1400)
    opened = {t.open_time // 86_400 % 7 for t in fast.trades}  # 1 = Friday, 4 = Monday
    assert {1, 4} <= opened
    _assert_same(fast, pipeline)


def test_a_lost_connection_changes_only_the_trades_around_the_outage(tmp_path: Path) -> None:
    params = {"regime_filter": False, "sl_atr": 1.5, "tp_atr": 1.5, "volume": 0.5}
    start, end = "2024-01-10T03:00:00+00:00", "2024-01-10T03:07:00+00:00"
    outage = {"kind": "disconnect", "start": start, "end": end}
    cfg = _cfg(tmp_path, [{**EMA, "params": params}], **{"terminal.sim.faults": [outage]})
    fast, pipeline = _both(cfg, 600)
    eet = 2 * 3600  # the server's offset in January
    begins = datetime.fromisoformat(start).timestamp() + eet
    settled = datetime.fromisoformat(end).timestamp() + eet + 3600

    def trades(result: BacktestResult, keep: Any) -> list[Any]:
        # tickets apart: one more or one fewer trade around the outage shifts every later one
        return [dataclasses.replace(t, position=0) for t in result.trades if keep(t)]

    assert trades(fast, lambda t: t.close_time < begins) == trades(
        pipeline, lambda t: t.close_time < begins
    )
    after = trades(fast, lambda t: t.open_time >= settled)
    assert len(after) >= 5
    assert after == trades(pipeline, lambda t: t.open_time >= settled)
    # around the outage: the pipeline saw the outage's bars late and refused a stale signal,
    # which the fast engine traded as the connection came back
    assert pipeline.risk_refusals == {"stale_signal": 1}
    assert fast.risk_refusals == {}
    assert len(fast.trades) == len(pipeline.trades) + 1
