"""The market: the seeded price generator, history files, bars built the MT5 way, the
server's calendar, and ``MarketData`` answering quotes and history as of a simulated instant."""
