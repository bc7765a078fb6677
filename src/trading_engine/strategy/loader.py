"""Loading strategies by name or import path: a user's own file works without touching the engine.

``class_path`` is one of:

- a built-in name: ``"ema_cross"``, ``"rsi_reversion"``;
- ``"package.module:ClassName"`` (or ``"package.module.ClassName"``), importable from
  ``sys.path``;
- ``"path/to/file.py:ClassName"``: a Python file loaded directly (relative paths are taken from
  ``base_dir``, e.g. the config file's directory, else the current directory).

Every failure is a ``StrategyError`` with one clear line: module or file not found, import error
inside the module, class missing, not a ``Strategy`` subclass, invalid parameters.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from trading_engine.errors import StrategyError
from trading_engine.strategy.base import Strategy

__all__ = ["BUILTIN_STRATEGIES", "load_strategy", "resolve_strategy_class"]

BUILTIN_STRATEGIES: dict[str, str] = {
    "ema_cross": "trading_engine.strategy.ema_cross:EmaCross",
    "rsi_reversion": "trading_engine.strategy.rsi_reversion:RsiReversion",
}
"""Built-in strategy names and the import path each stands for."""


def _split(class_path: str) -> tuple[str, str]:
    if class_path.endswith(".py"):
        raise StrategyError(
            f"cannot load strategy {class_path!r}: name the class, as in '{class_path}:ClassName'"
        )
    if ":" in class_path:
        # A Windows drive ("C:\\x\\s.py:Cls") has its class after the *last* colon.
        module, _, attr = class_path.rpartition(":")
    else:
        module, _, attr = class_path.rpartition(".")
    if not module or not attr:
        known = ", ".join(sorted(BUILTIN_STRATEGIES))
        raise StrategyError(
            f"cannot load strategy {class_path!r}: expected a built-in name ({known}), "
            "'package.module:ClassName' or 'path/to/file.py:ClassName'"
        )
    return module, attr


def _load_file(path: Path, class_path: str) -> ModuleType:
    if not path.is_file():
        raise StrategyError(f"cannot load strategy {class_path!r}: file {str(path)!r} not found")
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode(), usedforsecurity=False).hexdigest()[:10]
    module_name = f"trading_engine_user_strategy_{resolved.stem}_{digest}"
    cached = sys.modules.get(module_name)
    if cached is not None:
        return cached
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise StrategyError(f"cannot load strategy {class_path!r}: {str(path)!r} is not Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pydantic look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise StrategyError(
            f"cannot load strategy {class_path!r}: {str(path)!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _import(module: str, class_path: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module or module.startswith(f"{exc.name}."):
            detail = f"module {exc.name!r} not found"
        else:
            detail = f"module {module!r} imports {exc.name!r}, which is not installed"
        raise StrategyError(f"cannot load strategy {class_path!r}: {detail}") from exc
    except Exception as exc:
        raise StrategyError(
            f"cannot load strategy {class_path!r}: importing {module!r} raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def resolve_strategy_class(
    class_path: str, *, base_dir: str | Path | None = None
) -> type[Strategy[Any]]:
    """The ``Strategy`` subclass named by ``class_path`` (see the module docstring)."""
    target = BUILTIN_STRATEGIES.get(class_path.strip(), class_path.strip())
    module_part, attr = _split(target)
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        path = Path(module_part)
        if not path.is_absolute() and base_dir is not None and (Path(base_dir) / path).is_file():
            path = Path(base_dir) / path  # next to the configuration first, else the cwd
        module = _load_file(path, class_path)
    else:
        module = _import(module_part, class_path)
    cls = getattr(module, attr, None)
    if cls is None:
        raise StrategyError(
            f"cannot load strategy {class_path!r}: {module_part!r} has no attribute {attr!r}"
        )
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise StrategyError(
            f"cannot load strategy {class_path!r}: {attr!r} is not a subclass of "
            "trading_engine.strategy.Strategy"
        )
    if inspect.isabstract(cls):
        raise StrategyError(
            f"cannot load strategy {class_path!r}: {attr!r} is abstract (implement on_bar)"
        )
    return cls


def load_strategy(
    class_path: str,
    params: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    base_dir: str | Path | None = None,
) -> Strategy[Any]:
    """A new strategy instance: the class named by ``class_path``, built with ``params``.

    ``name`` defaults to the strategy's ``default_name`` (the built-in's name) or its class name.
    Raises ``StrategyError`` naming the problem (bad parameters name each offending field).
    """
    cls = resolve_strategy_class(class_path, base_dir=base_dir)
    try:
        return cls(dict(params or {}), name=name)
    except StrategyError:
        raise
    except Exception as exc:
        raise StrategyError(
            f"cannot build strategy {class_path!r}: {type(exc).__name__}: {exc}"
        ) from exc
