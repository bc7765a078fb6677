"""The package's curated ``__all__``: importable, complete, and light to import."""

from __future__ import annotations
import __future__

import subprocess
import sys
from types import ModuleType

import trading_engine
from trading_engine import clock, errors, events


def test_every_name_in_all_is_importable() -> None:
    namespace: dict[str, object] = {}
    exec("from trading_engine import *", namespace)

    for name in trading_engine.__all__:
        assert getattr(trading_engine, name) is namespace[name]
    assert len(set(trading_engine.__all__)) == len(trading_engine.__all__)


def test_nothing_public_is_missing_from_all() -> None:
    public = {
        name
        for name, value in vars(trading_engine).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and not isinstance(value, __future__._Feature)
    }

    assert public == set(trading_engine.__all__)


def test_errors_clocks_and_events_are_all_exported() -> None:
    for module in (errors, clock, events):
        assert set(module.__all__) <= set(trading_engine.__all__), module.__name__


def test_import_is_light_and_leaves_the_logger_disabled() -> None:
    code = (
        "import sys, trading_engine\n"
        "from loguru import logger\n"
        "heavy = sorted(m for m in ('numba', 'polars', 'numpy', 'prometheus_client')"
        " if m in sys.modules)\n"
        "print('heavy:' + ','.join(heavy))\n"
        "scope = {'__name__': 'trading_engine.x', 'logger': logger}\n"
        "exec(\"logger.warning('engine record')\", scope)\n"
        "logger.warning('host record')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "heavy:"
    assert "host record" in result.stderr
    assert "engine record" not in result.stderr


def test_version_is_a_string() -> None:
    assert isinstance(trading_engine.__version__, str)
    assert trading_engine.__version__[0].isdigit()
