"""``--from``/``--to``/``--bars`` on history: warm-up before the start, ending at the data's end."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from trading_engine.backtest.period import DEFAULT_GENERATED_BARS, plan_period
from trading_engine.config import ConfigLoader, SystemConfig
from trading_engine.errors import ConfigError
from trading_engine.mt5sim.market.history import write_bars_csv
from trading_engine.mt5sim.spec.dtypes import RATES_DTYPE

CONFIG = Path(__file__).parents[3] / "configs" / "eurusd.yaml"
JAN_1 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())  # a Monday, server time


def h1_file(path: Path, days: int = 20) -> Path:
    """Weekdays of H1 bars from 2024-01-01 (server time)."""
    times = JAN_1 + 3600 * np.arange(days * 24, dtype=np.int64)
    times = times[(times // 86_400 + 3) % 7 < 5]
    bars = np.zeros(times.size, dtype=RATES_DTYPE)
    bars["time"] = times
    bars["open"] = bars["high"] = bars["low"] = bars["close"] = 1.1
    bars["high"] += 0.001
    bars["tick_volume"] = 100
    write_bars_csv(path, bars)
    return path


def config(history: Path | None, warmup: int = 24) -> SystemConfig:
    overrides: dict[str, object] = {
        "trading.timeframes": ["H1"],
        "services.indicator_calculation.warmup_bars": warmup,
        "terminal.sim.server_utc_offset_hours": 2,
    }
    if history is not None:
        overrides["terminal.sim.history_file"] = str(history)
    return ConfigLoader.load(CONFIG, overrides=overrides)


def server(utc: datetime | None) -> datetime:
    assert utc is not None
    return datetime.fromtimestamp(utc.timestamp() + 7200, tz=UTC)


def test_a_period_inside_the_data_warms_up_before_from(tmp_path: Path) -> None:
    cfg = config(h1_file(tmp_path / "h1.csv"))
    period = plan_period(cfg, start=date(2024, 1, 8), end=date(2024, 1, 10))
    assert period.warnings == []
    assert server(period.start) == datetime(2024, 1, 8, tzinfo=UTC)
    assert server(period.end) == datetime(2024, 1, 11, tzinfo=UTC)  # --to is inclusive
    assert period.bars is None


def test_from_before_the_warm_up_and_to_beyond_the_data_are_trimmed_with_one_warning_each(
    tmp_path: Path,
) -> None:
    cfg = config(h1_file(tmp_path / "h1.csv"), warmup=30)
    period = plan_period(cfg, start=date(2023, 12, 1), end=date(2024, 3, 1))
    assert len(period.warnings) == 2
    assert "30-bar warm-up" in period.warnings[0]
    assert "2024-01-02 07:00" in period.warnings[0]  # the 31st bar's close, server time
    assert "the history ends at 2024-01-20 00:00" in period.warnings[1]
    assert server(period.start) == datetime(2024, 1, 2, 7, tzinfo=UTC)
    assert server(period.end) == datetime(2024, 1, 20, tzinfo=UTC)


def test_a_file_shorter_than_bars_ends_at_the_end_of_the_data(tmp_path: Path) -> None:
    cfg = config(h1_file(tmp_path / "h1.csv", days=3))
    period = plan_period(cfg, bars=10_000)
    assert period.bars is None
    assert server(period.end) == datetime(2024, 1, 4, tzinfo=UTC)
    assert len(period.warnings) == 1
    assert "holds 46 bars" in period.warnings[0]  # 72 bars; start: the 25th's close; 72nd: open
    assert plan_period(cfg, bars=10).bars == 10


def test_a_two_row_file(tmp_path: Path) -> None:
    two = tmp_path / "two.csv"
    lines = h1_file(tmp_path / "h1.csv", days=1).read_text().splitlines()[:3]
    two.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"two\.csv:3: 2 bars leave none to trade"):
        plan_period(config(two))


def test_a_file_shorter_than_the_warm_up_is_an_error_not_an_empty_run(tmp_path: Path) -> None:
    short = h1_file(tmp_path / "h1.csv", days=1)  # 24 bars: the last never closes
    with pytest.raises(ConfigError, match=r"h1\.csv:25: 24 bars leave none to trade"):
        plan_period(config(short, warmup=30))
    period = plan_period(config(short, warmup=21))  # bars 23 and 24 close after the start
    assert server(period.start) == datetime(2024, 1, 1, 22, tzinfo=UTC)


def test_from_after_the_data_is_an_error(tmp_path: Path) -> None:
    cfg = config(h1_file(tmp_path / "h1.csv"))
    with pytest.raises(ConfigError, match=r"--from: --from 2025-01-01 is after the end"):
        plan_period(cfg, start=date(2025, 1, 1))
    with pytest.raises(ConfigError, match="before --from"):
        plan_period(cfg, start=date(2024, 1, 9), end=date(2024, 1, 8))


def test_generated_prices_take_the_period_as_asked() -> None:
    cfg = config(None)
    assert plan_period(cfg).bars == DEFAULT_GENERATED_BARS
    period = plan_period(cfg, start=date(2024, 2, 1), end=date(2024, 2, 2))
    assert period.bars is None
    assert server(period.start) == datetime(2024, 2, 1, tzinfo=UTC)
    assert server(period.end) == datetime(2024, 2, 3, tzinfo=UTC)


def test_a_one_bar_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    lines = h1_file(tmp_path / "h1.csv", days=1).read_text().splitlines()[:2]
    one.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"one\.csv:2: only 1 bar"):
        plan_period(config(one))


def test_bars_beyond_the_data_warns_with_the_bars_the_run_trades(tmp_path: Path) -> None:
    # 72 bars; the start is the 25th's close; bars 26 … 71 close in the run, the 72nd never does
    cfg = config(h1_file(tmp_path / "h1.csv", days=3))
    period = plan_period(cfg, bars=10_000)
    assert "holds 46 bars" in period.warnings[0]
    assert period.held == 46  # the pipeline's budget: it waits for every bar it counts


def test_to_before_the_first_tradable_bar_names_to_not_the_warm_up(tmp_path: Path) -> None:
    cfg = config(h1_file(tmp_path / "h1.csv"), warmup=30)  # bars from 2024-01-01 00:00
    for before in (date(2023, 6, 1), date(2024, 1, 1)):  # before the data, inside the warm-up
        with pytest.raises(ConfigError, match=r"^--to: --to .* before the first bar") as info:
            plan_period(cfg, end=before)
        assert "2024-01-02 07:00" in str(info.value)  # the 31st bar's close: the first start


def test_ticks_inside_the_minute_close_the_bar_before_the_start_after_it(tmp_path: Path) -> None:
    """The start is the 61st minute's close, but its bar closes with the next tick, 7 s later:
    it is traded; the file's last bar never closes (both engines trade 119 bars)."""
    from trading_engine.mt5sim.market.history import write_ticks_csv
    from trading_engine.mt5sim.spec.dtypes import TICKS_DTYPE

    times = JAN_1 + np.sort(np.r_[60 * np.arange(180) + 7, 60 * np.arange(180) + 37])
    ticks = np.zeros(times.size, dtype=TICKS_DTYPE)
    ticks["time"] = times
    ticks["time_msc"] = times * 1000
    ticks["bid"], ticks["ask"] = 1.1, 1.1002
    write_ticks_csv(tmp_path / "ticks.csv", ticks)
    overrides: dict[str, object] = {
        "services.indicator_calculation.warmup_bars": 60,
        "terminal.sim.history_file": str(tmp_path / "ticks.csv"),
    }
    cfg = ConfigLoader.load(CONFIG, overrides=overrides)
    assert plan_period(cfg).held == 180 - 61  # bars 61 … 179
