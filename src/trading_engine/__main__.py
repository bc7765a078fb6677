"""``python -m trading_engine``: the command line."""

from __future__ import annotations

from trading_engine.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
