"""Audit a journal against the simulated account it trades on: do the books agree?

``audit(journal_path, account_path, magic)`` returns the problems found (empty: the books agree):

- every journal order with a fill is exactly one order of the account's history, with one deal
  of the same volume (a fill the terminal does not know is a fill booked twice or invented);
- every deal of an order this engine sent (our ``magic``, not a server stop) is one journal
  order (otherwise a fill was lost);
- no client id (the comment tag) was sent twice: each appears on at most one terminal order;
- no journal order is left unfinished (SUBMITTED, UNKNOWN ...);
- the journal's open positions are the account's open positions of our ``magic``.

Used by the crash-recovery tests and ``scripts/soak_crash.py`` after each restart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from trading_engine.journal.store import Journal
from trading_engine.model.order_state import FINAL_STATES
from trading_engine.mt5sim.spec.structs import TradeDeal
from trading_engine.mt5sim.store import read_books

__all__ = ["AuditReport", "audit"]

_SERVER_REASONS = (4, 5, 6)  # DEAL_REASON_SL, _TP, _SO: closes the server made


@dataclass
class AuditReport:
    """The counts of an audit and the problems it found."""

    orders: int = 0
    fills: int = 0
    deals: int = 0
    open_positions: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when journal and terminal agree."""
        return not self.problems


def audit(journal_path: str | Path, account_path: str | Path, magic: int) -> AuditReport:
    """Compare the journal at ``journal_path`` with the account file at ``account_path``."""
    books = read_books(account_path)
    with Journal.open(journal_path) as journal:
        orders = journal.orders()
        open_rows = journal.open_positions()
    report = AuditReport(orders=len(orders))
    problems = report.problems
    ours = [d for d in books.deals if int(d.magic) == magic and int(d.type) in (0, 1)]
    sent = [d for d in ours if int(d.reason) not in _SERVER_REASONS]
    report.deals = len(ours)
    terminal_orders = [o for o in (*books.history_orders, *books.orders) if o.magic == magic]
    tags = Counter(o.comment for o in terminal_orders if o.comment)
    for tag, count in tags.items():
        if count > 1:
            problems.append(f"client tag {tag!r} was sent {count} times")
    deals_by_order: dict[int, list[TradeDeal]] = {}
    for deal in sent:
        deals_by_order.setdefault(int(deal.order), []).append(deal)
    filled = [o for o in orders if o.filled_volume > 0]
    report.fills = len(filled)
    journaled_tickets = Counter(o.order_ticket for o in filled)
    for ticket, count in journaled_tickets.items():
        if count > 1:
            problems.append(f"order ticket {ticket} is journaled {count} times")
    for order in filled:
        deals = deals_by_order.get(order.order_ticket or 0, [])
        if not deals:
            problems.append(f"journal order {order.client_id} has no deal on the terminal")
            continue
        volume = sum(float(d.volume) for d in deals)
        if abs(volume - order.filled_volume) > 1e-9:
            problems.append(
                f"journal order {order.client_id}: volume {order.filled_volume} in the journal, "
                f"{volume} on the terminal"
            )
    for ticket in sorted(set(deals_by_order) - set(journaled_tickets)):
        problems.append(f"terminal order {ticket} was filled but is not in the journal (lost)")
    unfinished = [o.client_id for o in orders if o.state not in FINAL_STATES]
    if unfinished:
        problems.append(f"journal orders left unfinished: {unfinished}")
    live = {p.ticket for p in books.positions if p.magic == magic}
    held = {row.ticket for row in open_rows}
    report.open_positions = len(held)
    if live != held:
        problems.append(f"open positions differ: journal {sorted(held)}, terminal {sorted(live)}")
    return report
