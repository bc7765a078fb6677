"""``python -m trading_engine``: the command line."""

from trading_engine.cli import main

main()
