"""How long routing keeps a reporter's details, and the signal that their time ran out.

Routing knows when a ticket became final (``closed``, ``merged``, ``rejected``: its
``status_since``) and each district's ``personal_data_days``. Every hour ``expire``
finds the final tickets whose days have passed and that are not yet marked, and for
each, in one transaction: anonymises routing's own copies (the dispatch contact, the
dispatch messages in its outbox), marks the ticket, and emits ``personal_data.expired``
through the outbox, on which intake and notify anonymise theirs. The ticket itself,
its timeline and dispatches hold no detail of the reporter, so every figure stays.

``anonymise_ticket`` also applies ``personal_data.expired`` consumed from the admin's
erasure request (or routing's own, which then finds nothing left). Rows are locked
with SKIP LOCKED: several routing instances share the work.
"""
import logging
from datetime import timedelta

from services.common import events
from services.common.errors import ParkMessage
from services.common.outbox import emit_events
from services.common.personal_data import anonymise_outbox, count
from services.routing.domain import FINAL

log = logging.getLogger(__name__)
SERVICE = "routing"
BATCH = 200


def expire(conn, directory, now, limit=BATCH):
    """Anonymise and announce the tickets whose personal data expired at ``now``; returns
    ``{kind: records}`` anonymised by routing (``tickets``: how many expired)."""
    cutoffs = expiry_cutoffs(directory, now)
    totals = {"tickets": 0, "dispatch_contact": 0, "outbox": 0}
    if not cutoffs:
        return totals
    for ticket in _expired_tickets(conn, cutoffs, limit):
        done = _anonymise(conn, ticket["ticket_id"])
        conn.execute("UPDATE tickets SET personal_data_expired_at = %s WHERE ticket_id = %s",
                     (now, ticket["ticket_id"]))
        emit_events(conn, events.personal_data_expired(ticket["ticket_id"]))
        totals["tickets"] += 1
        for kind, records in done.items():
            totals[kind] += records
    count(SERVICE, events.EXPIRED, {kind: totals[kind] for kind in ("dispatch_contact", "outbox")})
    if totals["tickets"]:
        log.info("personal data of %s final tickets expired", totals["tickets"])
    return totals


def expire_all(db, now, directory_of):
    """``expire`` batch after batch, each in its own transaction, until none is left (the
    first run after an upgrade finds every ticket that was final long ago)."""
    while True:
        with db.transaction() as conn:
            done = expire(conn, directory_of(conn), now)
        if done["tickets"] < BATCH:
            return


def expiry_cutoffs(directory, now):
    """``{district: moment}``: a ticket final since before its district's moment has
    outlived its personal data."""
    return {code: now - timedelta(days=district["policy"]["personal_data_days"])
            for code, district in directory["districts"].items()}


def _expired_tickets(conn, cutoffs, limit):
    """A merged ticket's reporter still hears of, and may rate, its original's result: its
    days count from when the original, too, became final."""
    return conn.execute(
        "SELECT t.ticket_id FROM tickets t"
        " JOIN unnest(%s::text[], %s::timestamptz[]) AS c (district, cutoff)"
        " ON t.district = c.district AND t.status_since <= c.cutoff"
        " LEFT JOIN tickets original ON original.ticket_id = t.merged_into"
        " WHERE t.personal_data_expired_at IS NULL AND t.status IN ('closed', 'merged', 'rejected')"
        " AND (original.ticket_id IS NULL OR (original.status = ANY(%s)"
        "      AND original.status_since <= c.cutoff))"
        " ORDER BY t.status_since LIMIT %s FOR UPDATE OF t SKIP LOCKED",
        (list(cutoffs), list(cutoffs.values()), list(FINAL), limit)).fetchall()


def anonymise_ticket(conn, body):
    """``personal_data.expired`` consumed: anonymise routing's copies of the ticket's
    reporter. After an erasure, a dispatch contact that comes later is kept empty."""
    ticket_id = body.get("ticket_id")
    if not isinstance(ticket_id, str) or not ticket_id:
        raise ParkMessage("personal_data.expired without its ticket_id")
    counts = _anonymise(conn, ticket_id)
    if body.get("reason") == events.ERASURE:
        conn.execute("INSERT INTO dispatch_contacts (ticket_id) VALUES (%s)"
                     " ON CONFLICT (ticket_id) DO NOTHING", (ticket_id,))
    count(SERVICE, body.get("reason") or events.EXPIRED, counts)


def _anonymise(conn, ticket_id):
    contacts = conn.execute(
        "UPDATE dispatch_contacts SET name = NULL, phone = NULL WHERE ticket_id = %s"
        " AND (name IS NOT NULL OR phone IS NOT NULL) RETURNING ticket_id", (ticket_id,)).fetchall()
    return {"dispatch_contact": len(contacts), "outbox": anonymise_outbox(conn, ticket_id)}
