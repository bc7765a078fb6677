from __future__ import annotations

import importlib
from typing import TypeVar

import pytest

import trading_engine.runtime as runtime

MODULES = ["backoff", "channel", "service", "supervisor"]


@pytest.mark.parametrize("module_name", MODULES)
def test_every_module_exports_exactly_what_its_all_lists(module_name: str) -> None:
    module = importlib.import_module(f"trading_engine.runtime.{module_name}")
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, TypeVar)
        and getattr(value, "__module__", None) == module.__name__
    }
    assert public <= set(module.__all__)
    assert all(hasattr(module, name) for name in module.__all__)


def test_package_reexports_the_public_names() -> None:
    assert all(hasattr(runtime, name) for name in runtime.__all__)
    assert {"Channel", "Service", "ServiceState", "Supervisor", "ChildSpec", "Backoff"} <= set(
        runtime.__all__
    )
    assert runtime.__doc__ is not None
