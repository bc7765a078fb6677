"""The trade server: request checks, the ledger (positions, orders, deals, balance), account
arithmetic, and the catch-up that fills orders and stops between two API calls."""
