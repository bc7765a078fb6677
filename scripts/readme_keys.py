"""Regenerate the README's configuration key table from the pydantic models.

Usage: ``python scripts/readme_keys.py [--check] [README.md]``. The table lives between the
``config-keys`` markers; ``--check`` exits 1 (and says so) when the README differs from the models,
as ``tests/unit/test_readme_keys.py`` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trading_engine.init_config import replace_keys_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("readme", nargs="?", type=Path, default=Path("README.md"))
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a drift")
    args = parser.parse_args()
    text = args.readme.read_text(encoding="utf-8")
    fresh = replace_keys_table(text)
    if args.check:
        if fresh != text:
            print(f"{args.readme}: the key table differs from the models; run {sys.argv[0]}")
            return 1
        return 0
    if fresh != text:
        args.readme.write_text(fresh, encoding="utf-8")
        print(f"{args.readme}: key table updated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
