"""Imports only go down: the layer contracts of the package, checked on the source (AST).

Every ``import`` of ``trading_engine`` inside ``src/`` counts, module level or inside a function,
under ``TYPE_CHECKING`` or not. A module may import its own top-level unit (package or module)
and the layers below its own; units of one layer are independent of each other. ``mt5sim``
imports nothing of the engine and only ``terminal``, ``backtest`` (the fast engine calls the
simulator directly) and ``optimize`` (it reads history files once per study and converts the
simulator's server time) import it. The module graph has no cycle at
run time (imports under ``TYPE_CHECKING`` are left out of that one check: a type-only reference
back, as ``mt5sim.server.orders`` annotating the ``TradeServer`` that dispatches to it, runs
nothing).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = "trading_engine"

LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer.split())
    for layer in (
        "__main__",
        "cli",
        "__init__",  # the curated public API
        "optimize",  # searches and walk-forward over the backtest engine
        "backtest init_config",
        "orchestrator",
        "config",  # composes the sections that live beside their packages
        "data indicators strategy execution",  # the four stages: independent
        "terminal journal observability optimize_config",
        "runtime",
        "events sections",
        "model clock timeframes",
        "errors",
    )
)
"""Top to bottom. ``mt5sim`` stands apart (see ``test_mt5sim_imports_nothing_of_the_engine``)."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The module ``name`` denotes (a package's ``__init__`` for a package), if it is ours."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _type_only_lines(tree: ast.Module) -> set[int]:
    """Lines of the statements under ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def _imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import of ours in ``path``."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    TYPE_ONLY[module] = _type_only_lines(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    target = _resolve(alias.name)
                    if target:
                        yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:  # ``from pkg import submodule`` imports the submodule
                target = _resolve(f"{base}.{alias.name}")
                if target:
                    yield target, node.lineno


TYPE_ONLY: dict[str, set[int]] = {}
GRAPH: dict[str, list[tuple[str, int]]] = {m: list(_imports(m, p)) for m, p in MODULES.items()}


def _unit(module: str) -> str:
    """The top-level unit: ``trading_engine.execution.trader`` → ``execution``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(unit: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if unit in layer), None)


def test_every_unit_has_a_layer() -> None:
    units = {_unit(m) for m in MODULES} - {"mt5sim", "py"}
    assert sorted(u for u in units if _layer(u) is None) == []


def _violations(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Imports that go up, sideways between the units of one layer, or into an unknown unit."""
    found = []
    for module, imports in graph.items():
        unit = _unit(module)
        if unit == "mt5sim":
            continue
        for target, line in imports:
            other = _unit(target)
            if other in (unit, "mt5sim"):
                continue
            here, there = _layer(unit), _layer(other)
            if here is None or there is None or there <= here:
                found.append(f"{module}:{line} imports {target}")
    return found


def test_imports_only_go_down_and_stages_are_independent() -> None:
    assert _violations(GRAPH) == []


def test_mt5sim_imports_nothing_of_the_engine_and_only_its_users_import_it() -> None:
    outward = [
        f"{module}:{line} imports {target}"
        for module, imports in GRAPH.items()
        if _unit(module) == "mt5sim"
        for target, line in imports
        if _unit(target) != "mt5sim"
    ]
    inward = sorted(
        {
            module
            for module, imports in GRAPH.items()
            if _unit(module) not in ("mt5sim", "terminal", "backtest", "optimize")
            for target, _ in imports
            if _unit(target) == "mt5sim"
        }
    )
    assert outward == []
    assert inward == []


def test_the_module_graph_has_no_cycle() -> None:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target, line in GRAPH[module]:
            if line in TYPE_ONLY[module]:
                continue
            if target == module or module.startswith(target + "."):
                continue  # a module importing its own package's __init__ is not a cycle
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in GRAPH:
        if module not in state:
            visit(module)
    assert cycles == []


def test_the_checker_tells_down_from_up_and_sideways() -> None:
    fake = {
        "trading_engine.execution.trader": [("trading_engine.model.order", 1)],  # down
        "trading_engine.model.order": [("trading_engine.execution.trader", 2)],  # up
        "trading_engine.strategy.service": [("trading_engine.execution.trader", 3)],  # sideways
        "trading_engine.mt5sim.api.core": [("trading_engine.mt5sim.spec.constants", 4)],
    }

    assert _violations(fake) == [
        "trading_engine.model.order:2 imports trading_engine.execution.trader",
        "trading_engine.strategy.service:3 imports trading_engine.execution.trader",
    ]
    assert ("trading_engine.model.mt5", 0) in {(t, 0) for t, _ in GRAPH["trading_engine.model"]}
    assert _resolve("trading_engine.mt5sim.spec.constants.ORDER_TYPE_BUY") == (
        "trading_engine.mt5sim.spec.constants"
    )
