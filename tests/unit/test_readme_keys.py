"""The README's key table is the one the models generate: it cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from trading_engine.config import SystemConfig
from trading_engine.init_config import KEYS_BEGIN, KEYS_END, render_keys_table, replace_keys_table

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_key_table_matches_the_models() -> None:
    text = README.read_text(encoding="utf-8")

    assert replace_keys_table(text) == text, "run: python scripts/readme_keys.py"


def test_every_section_and_leaf_key_has_a_row() -> None:
    table = render_keys_table()

    for section in SystemConfig.model_fields:
        assert f"| `{section}" in table, section
    for key in ("services.data_fetching.nbr_bars", "terminal.sim.faults", "strategies[].params"):
        assert f"| `{key}` |" in table, key
    assert table.startswith(KEYS_BEGIN)
    assert table.endswith(KEYS_END)


def test_a_changed_model_shows_as_a_drift() -> None:
    text = README.read_text(encoding="utf-8")
    stale = text.replace("| `journal.path` |", "| `journal.file` |")

    assert stale != text
    assert replace_keys_table(stale) == text


def test_missing_markers_are_an_error() -> None:
    with pytest.raises(ValueError, match="markers"):
        replace_keys_table("# no table here\n")
