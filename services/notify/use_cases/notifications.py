"""Applying one consumed event: read it, decide who hears what (domain), record it (store).

Runs inside the inbox transaction of ``handle_once``. An event notify cannot read is
parked. What the reporter may hear waits (``held_events``) until notify knows whether
the reporter asked for feedback (``concern.received``) and, if so, their contact
(``reporter.contact``): the two may come in either order, and before or after the
ticket's events. A notification for a channel that is not configured is recorded as
``skipped``. Each notification recorded is logged with its template, recipient kind
and channel only: never an address, never a reporter's contact. Rejected feedback that
names no ticket is told to its department's offices at once: no ticket to lock, no
reporter to wait for. A sign-in code is told to its person at once; one for an id the
directory does not know is dropped (logged without its code), not parked: the person may
have left the directory since they asked.
"""
import logging
import uuid
from datetime import datetime, timezone

from services.common import metrics
from services.common.event_routing import apply_shared_event
from services.common.events import CONCERN_RECEIVED, REPORTER_CONTACT, STAFF_SIGN_IN_CODE
from services.common.local_directory import current_directory
from services.common.messaging import ParkMessage
from services.common.people import find_person
from services.notify import domain, store

log = logging.getLogger(__name__)
KEY_NAMESPACE = uuid.UUID("5b0d9a52-6c52-4c36-9a7e-2b1f3d0c8e11")
NOT_READ = object()  # the reporter, not read yet in this event's step


def apply_event(conn, envelope, channels):
    """``channels``: the set of channels this process can send on (the others are skipped)."""
    if apply_shared_event(conn, envelope):
        return
    if envelope.type == REPORTER_CONTACT:
        return _on_contact(conn, envelope.body, channels)
    if envelope.type == STAFF_SIGN_IN_CODE:
        return _on_sign_in_code(conn, envelope, channels)
    try:
        told = domain.read_events(envelope.message_id, envelope.type, envelope.body)
    except domain.UnusableEvent as problem:
        raise ParkMessage(str(problem)) from None
    if not told[0].ticket_id:  # rejected feedback naming no ticket: its offices hear of it
        return _record(conn, told[0], domain.party_notifications(told[0], current_directory(conn)),
                       channels)
    store.lock_ticket(conn, told[0].ticket_id)
    directory = current_directory(conn)
    for event in told:
        reporter = NOT_READ
        if event.type == CONCERN_RECEIVED:
            reporter = store.remember_feedback_requested(
                conn, event.ticket_id, bool(event.ticket.get("feedback_requested")))
        _record(conn, event, [*domain.party_notifications(event, directory),
                              *_reporter_notifications(conn, event, reporter)], channels)


def _on_contact(conn, body, channels):
    ticket_id, contact = body.get("ticket_id"), body.get("contact")
    if not isinstance(ticket_id, str) or not isinstance(contact, dict):
        raise ParkMessage("reporter.contact without its ticket_id and contact")
    store.lock_ticket(conn, ticket_id)
    store.remember_contact(conn, ticket_id, contact)
    for earlier in store.release_held_events(conn, ticket_id):
        _record(conn, earlier, domain.reporter_notifications(earlier, contact), channels)


def _on_sign_in_code(conn, envelope, channels):
    try:
        sign_in = domain.read_sign_in_code(envelope.body)
    except domain.UnusableEvent as problem:
        raise ParkMessage(str(problem)) from None
    person = find_person(current_directory(conn), sign_in.person_id)
    if person is None:
        log.info("sign-in code for %r, whom the directory does not know: nothing sent",
                 sign_in.person_id)
        return
    event = domain.Event(envelope.message_id, envelope.type, {}, {})
    _record(conn, event, domain.sign_in_code_notifications(
        sign_in, person, datetime.now(timezone.utc)), channels)


def _reporter_notifications(conn, event, reporter):
    """What the reporter is told of ``event`` now (recorded with the parties'); an event
    they may hear later is held. ``reporter``: what ``store.find_reporter`` answers, when
    the event's own step read it already (``NOT_READ`` otherwise)."""
    if not domain.reporter_may_hear(event):
        return []
    if reporter is NOT_READ:
        reporter = store.find_reporter(conn, event.ticket_id)
    if reporter is not None and reporter["contact"] is not None:
        return list(domain.reporter_notifications(event, reporter["contact"]))
    if reporter is None or reporter["feedback_requested"] is not False:
        store.hold_event(conn, event)  # not yet known whether, or how, to tell the reporter
    else:
        store.drop_held_events(conn, event.ticket_id)  # a silent reporter: nothing to keep
    return []


def idempotency_key(event, notification):
    """The same for every attempt of one notification: a department's webhook is known by
    its dispatch id (docs/reference.md#notification-channels), anything else by its event, recipient and
    channel."""
    if notification.channel == "webhook" and notification.params.get("dispatch_id"):
        return notification.params["dispatch_id"]
    return str(uuid.uuid5(KEY_NAMESPACE, f"{event.id}|{notification.recipient}|{notification.channel}"))


def _record(conn, event, notifications, channels):
    """Record the event's notifications, in one statement."""
    recorded = []
    for notification in notifications:
        status = "pending" if notification.channel in channels else "skipped"
        if status == "skipped":  # never sent: a secret it holds is not kept either
            notification = domain.without_secrets(notification)
        recorded.append((notification, idempotency_key(event, notification), status))
    new = store.record_notifications(conn, event, recorded)
    for notification, key, status in recorded:
        if key in new:
            if status == "skipped":
                metrics.NOTIFICATIONS_SKIPPED.labels(notification.channel).inc()
            log.info("%s %s for the %s by %s (ticket %s)", status, notification.template,
                     notification.recipient_kind, notification.channel, event.ticket_id)
