"""Anonymising what notify keeps of a ticket's reporter, on ``personal_data.expired``.

Notify keeps the reporter's feedback contact (``ticket_reporters``, with the page token
of their concern's own page: the link made of it is never kept, the courier makes it as
it sends), the address of every notification sent to them, the dispatch message (the
reporter's name and phone) of every notification to a webhook department, and the
outcome of each attempt, whose text may quote an address or the link. All of them are
anonymised in place; the notifications stay, with their template, channel, status and
times. A notification to the reporter still waiting to be sent is skipped: it has
nowhere to go, and one sent again later finds no token, so carries no link.

An erasure may come before the reporter's contact (both are sent at once): the reporter
is then remembered as anonymised, their held news is dropped, and a ``reporter.contact``
that comes later is not kept.
"""
from services.common.errors import ParkMessage
from services.common.events import ERASURE, EXPIRED, PERSONAL_DATA_EXPIRED, REPORTER_CONTACT
from services.common.personal_data import (
    ANONYMISED,
    PERSONAL_KEYS,
    anonymise_outbox,
    anonymised,
    count,
    details_in,
)
from services.notify import store

SERVICE = "notify"
REPORTER = "reporter"


def applying(apply):
    """``apply(conn, envelope)`` for every event but ``personal_data.expired``, and but a
    ``reporter.contact`` of a reporter already erased."""
    def apply_event(conn, envelope):
        body = envelope.body if isinstance(envelope.body, dict) else {}
        if envelope.type == PERSONAL_DATA_EXPIRED:
            return anonymise_reporter(conn, body)
        ticket_id = body.get("ticket_id")
        if envelope.type == REPORTER_CONTACT and isinstance(ticket_id, str) \
                and store.reporter_erased(conn, ticket_id):
            return None
        return apply(conn, envelope)
    return apply_event


def anonymise_reporter(conn, body):
    ticket_id = body.get("ticket_id")
    if not isinstance(ticket_id, str) or not ticket_id:
        raise ParkMessage("personal_data.expired without its ticket_id")
    store.lock_ticket(conn, ticket_id)
    details = set()
    contacts = store.anonymise_contact(conn, ticket_id, PERSONAL_KEYS)
    for contact in contacts:
        details |= details_in({"contact": contact})
    if body.get("reason") == ERASURE:  # a reporter whose contact has not come yet hears nothing
        store.remember_erased(conn, ticket_id)
        store.drop_held_events(conn, ticket_id)
    notifications = _anonymise_notifications(conn, ticket_id, details)
    counts = {"contact": len(contacts), "notification": len(notifications),
              "attempt": _scrub_attempts(conn, notifications, details),
              "outbox": anonymise_outbox(conn, ticket_id)}
    count(SERVICE, body.get("reason") or EXPIRED, counts)


def _anonymise_notifications(conn, ticket_id, details):
    """The ids of the ticket's notifications that held a detail of the reporter."""
    changed = []
    for row in store.lock_notifications_of(conn, ticket_id):
        to_reporter = row["recipient"] == REPORTER and row["address"] != ANONYMISED
        params = anonymised(row["params"])
        if not to_reporter and params == row["params"]:
            continue
        details |= details_in(row["params"])
        if to_reporter:
            details.add(row["address"])
        store.anonymise_notification(conn, row["id"], params,
                                     ANONYMISED if to_reporter else row["address"],
                                     skip_if_pending=to_reporter)
        changed.append(row["id"])
    return changed


def _scrub_attempts(conn, notification_ids, details):
    """Attempts of those notifications whose outcome quoted a detail; returns how many."""
    scrubbed = set()
    for detail in sorted(details, key=len, reverse=True):  # a whole email before its name
        scrubbed |= set(store.replace_in_attempts(conn, notification_ids, detail, ANONYMISED))
    return len(scrubbed)
