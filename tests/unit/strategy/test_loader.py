"""Loading strategies: built-in names, import paths, user files, and every error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from trading_engine.errors import StrategyError
from trading_engine.strategy.ema_cross import EmaCross
from trading_engine.strategy.loader import load_strategy, resolve_strategy_class
from trading_engine.strategy.rsi_reversion import RsiReversion

USER_STRATEGY = textwrap.dedent(
    """
    from pydantic import BaseModel, ConfigDict

    from trading_engine.events import Side
    from trading_engine.strategy import Signal, Snapshot, Strategy


    class AlwaysLongParams(BaseModel):
        model_config = ConfigDict(extra="forbid")
        lots: float = 0.1


    class AlwaysLong(Strategy[AlwaysLongParams]):
        Params = AlwaysLongParams

        def on_bar(self, snapshot: Snapshot) -> Signal | None:
            if snapshot.position is None:
                return self.enter(Side.BUY, volume=self.params.lots)
            return None


    class NotAStrategy:
        pass
    """
)


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_strategies.py"
    path.write_text(USER_STRATEGY)
    return path


def test_builtin_names_load_the_builtin_strategies() -> None:
    ema = load_strategy("ema_cross", {"sl_atr": 1.0})
    rsi = load_strategy("rsi_reversion", {})
    assert isinstance(ema, EmaCross)
    assert ema.name == "ema_cross"
    assert ema.params.sl_atr == 1.0
    assert isinstance(rsi, RsiReversion)
    assert rsi.name == "rsi_reversion"


def test_a_module_path_with_colon_or_dot_loads_the_class() -> None:
    assert resolve_strategy_class("trading_engine.strategy.ema_cross:EmaCross") is EmaCross
    assert resolve_strategy_class("trading_engine.strategy.rsi_reversion.RsiReversion") is (
        RsiReversion
    )


def test_the_given_name_overrides_the_default_name() -> None:
    assert load_strategy("ema_cross", name="ema_fast_eurusd").name == "ema_fast_eurusd"


def test_a_users_file_loads_without_touching_the_engine(user_file: Path) -> None:
    strategy = load_strategy(f"{user_file}:AlwaysLong", {"lots": 0.3})
    assert type(strategy).__name__ == "AlwaysLong"
    assert strategy.params.lots == 0.3


def test_a_relative_file_path_is_taken_from_base_dir(user_file: Path) -> None:
    strategy = load_strategy("my_strategies.py:AlwaysLong", base_dir=user_file.parent)
    assert strategy.name == "AlwaysLong"


def test_a_users_module_on_sys_path_loads(user_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(user_file.parent))
    assert load_strategy("my_strategies:AlwaysLong").name == "AlwaysLong"


@pytest.mark.parametrize(
    ("class_path", "message"),
    [
        ("no_such_package.strats:Foo", "module 'no_such_package' not found"),
        ("trading_engine.strategy.ema_cross:Nope", "has no attribute 'Nope'"),
        ("trading_engine.strategy.base:Snapshot", "not a subclass of"),
        ("trading_engine.strategy.base:Strategy", "is abstract"),
        ("nonsense", "expected a built-in name"),
        ("/nowhere/strategies.py:Foo", "not found"),
        ("strategies.py", "name the class"),
    ],
)
def test_load_errors_are_clear_strategy_errors(class_path: str, message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        load_strategy(class_path)


def test_a_class_of_a_user_file_that_is_not_a_strategy_is_refused(user_file: Path) -> None:
    with pytest.raises(StrategyError, match="'NotAStrategy' is not a subclass"):
        load_strategy(f"{user_file}:NotAStrategy")


def test_a_missing_dependency_of_a_user_module_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "needs_dep.py").write_text("import surely_not_installed_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StrategyError, match="imports 'surely_not_installed_xyz', which is not"):
        load_strategy("needs_dep:Anything")


def test_a_user_file_that_raises_on_import_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('oops')\n")
    with pytest.raises(StrategyError, match="raised RuntimeError: oops"):
        load_strategy(f"{path}:Anything")


def test_invalid_params_of_a_loaded_strategy_name_the_field() -> None:
    with pytest.raises(StrategyError, match="sl_atr: Input should be greater than or equal to 0"):
        load_strategy("ema_cross", {"sl_atr": -1})
    with pytest.raises(StrategyError, match="colour: Extra inputs are not permitted"):
        load_strategy("rsi_reversion", {"colour": "red"})


def test_binding_errors_name_the_entry_of_strategies() -> None:
    from trading_engine.config import StrategyConfig
    from trading_engine.strategy.service import bind_strategies

    good = StrategyConfig(name="a", class_path="ema_cross")
    values = ["ema_fast", "ema_slow", "atr", "adx", "plus_di", "minus_di"]
    cases = [
        (StrategyConfig(name="b", class_path="nope"), r"^strategies\[1\] \('b'\): cannot load"),
        (
            StrategyConfig(name="b", class_path="ema_cross", params={"bogus": 1}),
            r"^strategies\[1\] \('b'\): invalid parameters .* bogus",
        ),
        (
            StrategyConfig(name="b", class_path="ema_cross", params={"fast_value": "x"}),
            r"^strategies\[1\] \('b'\): strategy 'b' reads \['x'\]",
        ),
    ]
    for bad, message in cases:
        with pytest.raises(StrategyError, match=message):
            bind_strategies([good, bad], values)
