"""The API surface: ``Terminal`` and its groups of ``MetaTrader5`` calls, request parsing, the
terminal's view of "now" and the ``Buy``/``Sell``/``Close`` helpers."""
