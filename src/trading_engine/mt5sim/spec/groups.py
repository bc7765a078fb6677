"""MetaTrader 5 group masks (``symbols_get(group=...)``, ``positions_get(group=...)``, ...).

A mask is a comma-separated list of conditions applied one after another: a plain condition adds
the symbols it matches, a condition starting with ``!`` removes them. ``*`` is a wildcard that may
stand anywhere in a condition (MT5 documents it at the start and end). Matching is
case-sensitive, like symbol names. ``"*, !EUR*"`` = every symbol except those starting with EUR.
This is not ``fnmatch``: ``?`` and ``[...]`` are literal characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

__all__ = ["compile_group", "match_group"]


def _pattern(cond: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in cond) + r"\Z")


@lru_cache(maxsize=256)
def compile_group(mask: str) -> Callable[[str], bool]:
    """A predicate telling whether a symbol name is selected by ``mask``."""
    steps: list[tuple[bool, re.Pattern[str]]] = []
    for raw in mask.split(","):
        cond = raw.strip()
        if not cond:
            continue
        negate = cond.startswith("!")
        if negate:
            cond = cond[1:].strip()
        steps.append((not negate, _pattern(cond)))

    def predicate(name: str) -> bool:
        selected = False
        for include, pattern in steps:
            if pattern.match(name):
                selected = include
        return selected

    return predicate


def match_group(mask: str, name: str) -> bool:
    """Whether ``name`` is selected by the group ``mask``."""
    return compile_group(mask)(name)
