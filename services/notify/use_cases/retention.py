"""Anonymising what notify keeps of a ticket's reporter, on ``personal_data.expired``.

Notify keeps the reporter's feedback contact (``ticket_reporters``), the address of
every notification sent to them, the dispatch message (the reporter's name and phone)
of every notification to a webhook department, and the outcome of each attempt, whose
text may quote an address. All of them are anonymised in place; the notifications stay,
with their template, channel, status and times. A notification to the reporter still
waiting to be sent is skipped: it has nowhere to go.

An erasure may come before the reporter's contact (both are sent at once): the reporter
is then remembered as anonymised, their held news is dropped, and a ``reporter.contact``
that comes later is not kept.
"""
from psycopg.types.json import Jsonb

from services.common.events import ERASURE, EXPIRED, PERSONAL_DATA_EXPIRED, REPORTER_CONTACT
from services.common.messaging import ParkMessage
from services.common.personal_data import (
    ANONYMISED,
    PERSONAL_KEYS,
    anonymise_outbox,
    anonymised,
    count,
    details_in,
)

SERVICE = "notify"
REPORTER = "reporter"


def applying(apply):
    """``apply(conn, envelope)`` for every event but ``personal_data.expired``, and but a
    ``reporter.contact`` of a reporter already erased."""
    def apply_event(conn, envelope):
        body = envelope.body if isinstance(envelope.body, dict) else {}
        if envelope.type == PERSONAL_DATA_EXPIRED:
            return anonymise_reporter(conn, body)
        if envelope.type == REPORTER_CONTACT and _erased(conn, body.get("ticket_id")):
            return None
        return apply(conn, envelope)
    return apply_event


def _erased(conn, ticket_id):
    if not isinstance(ticket_id, str):
        return False
    row = conn.execute("SELECT contact ->> 'anonymised' = 'true' AS erased FROM ticket_reporters"
                       " WHERE ticket_id = %s", (ticket_id,)).fetchone()
    return bool(row and row["erased"])


def anonymise_reporter(conn, body):
    ticket_id = body.get("ticket_id")
    if not isinstance(ticket_id, str) or not ticket_id:
        raise ParkMessage("personal_data.expired without its ticket_id")
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"notify:{ticket_id}",))
    details = set()
    contacts = conn.execute(
        "UPDATE ticket_reporters r SET contact = (r.contact - %s::text[]) || '{\"anonymised\": true}'"
        " FROM ticket_reporters before WHERE r.ticket_id = %s AND before.ticket_id = r.ticket_id"
        " AND jsonb_typeof(r.contact) = 'object' AND r.contact ?| %s::text[]"
        " RETURNING before.contact", (list(PERSONAL_KEYS), ticket_id, list(PERSONAL_KEYS))).fetchall()
    for row in contacts:
        details |= details_in({"contact": row["contact"]})
    if body.get("reason") == ERASURE:
        _remember_erased(conn, ticket_id)
    notifications = _anonymise_notifications(conn, ticket_id, details)
    counts = {"contact": len(contacts), "notification": len(notifications),
              "attempt": _scrub_attempts(conn, notifications, details),
              "outbox": anonymise_outbox(conn, ticket_id)}
    count(SERVICE, body.get("reason") or EXPIRED, counts)


def _anonymise_notifications(conn, ticket_id, details):
    """The ids of the ticket's notifications that held a detail of the reporter."""
    rows = conn.execute("SELECT id, recipient, address, params, status FROM notifications"
                        " WHERE ticket_id = %s FOR UPDATE", (ticket_id,)).fetchall()
    changed = []
    for row in rows:
        to_reporter = row["recipient"] == REPORTER and row["address"] != ANONYMISED
        params = anonymised(row["params"])
        if not to_reporter and params == row["params"]:
            continue
        details |= details_in(row["params"])
        if to_reporter:
            details.add(row["address"])
        conn.execute(
            "UPDATE notifications SET params = %s, address = %s,"
            " status = CASE WHEN status = 'pending' AND %s THEN 'skipped' ELSE status END"
            " WHERE id = %s",
            (Jsonb(params), ANONYMISED if to_reporter else row["address"], to_reporter,
             row["id"]))
        changed.append(row["id"])
    return changed


def _scrub_attempts(conn, notification_ids, details):
    """Attempts of those notifications whose outcome quoted a detail; returns how many."""
    scrubbed = set()
    for detail in sorted(details, key=len, reverse=True):  # a whole email before its name
        rows = conn.execute(
            "UPDATE notification_attempts SET detail = replace(detail, %s, %s)"
            " WHERE notification_id = ANY(%s) AND strpos(detail, %s) > 0 RETURNING id",
            (detail, ANONYMISED, notification_ids, detail)).fetchall()
        scrubbed |= {row["id"] for row in rows}
    return len(scrubbed)


def _remember_erased(conn, ticket_id):
    """A reporter whose contact has not come yet hears nothing, and it is not kept."""
    conn.execute("INSERT INTO ticket_reporters (ticket_id, contact) VALUES (%s, %s)"
                 " ON CONFLICT (ticket_id) DO UPDATE SET contact = excluded.contact"
                 " WHERE ticket_reporters.contact IS NULL", (ticket_id, Jsonb({"anonymised": True})))
    conn.execute("DELETE FROM held_events WHERE ticket_id = %s", (ticket_id,))
