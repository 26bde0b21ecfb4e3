"""Applying one consumed event: read it, decide who hears what (domain), record it (store).

Runs inside the inbox transaction of ``handle_once``. An event notify cannot read is
parked. A ticket event the reporter may hear of that overtakes its ``concern.received``
is held until the concern tells whether the reporter asked for feedback. Each
notification recorded is logged with its template, recipient kind and channel only:
never an address, never a reporter's contact.
"""
import logging

from services.common.events import CONCERN_RECEIVED, apply_shared_event
from services.common.local_directory import current_directory
from services.common.messaging import ParkMessage
from services.notify import domain, store

log = logging.getLogger(__name__)


def apply_event(conn, envelope):
    if apply_shared_event(conn, envelope):
        return
    try:
        event = domain.read_event(envelope.message_id, envelope.type, envelope.body)
    except domain.UnusableEvent as problem:
        raise ParkMessage(str(problem)) from None
    store.lock_ticket(conn, event.ticket_id)
    if event.type == CONCERN_RECEIVED:
        _on_concern(conn, event)
    else:
        _on_ticket_event(conn, event)


def _on_concern(conn, event):
    contact = domain.feedback_contact(event)
    store.remember_reporter(conn, event.ticket_id, contact)
    _record(conn, event, domain.reporter_notifications(event, contact))
    for earlier in store.release_held_events(conn, event.ticket_id):
        _record(conn, earlier, domain.reporter_notifications(earlier, contact))


def _on_ticket_event(conn, event):
    _record(conn, event, domain.party_notifications(event, current_directory(conn)))
    reporter = store.find_reporter(conn, event.ticket_id)
    if reporter is not None:
        _record(conn, event, domain.reporter_notifications(event, reporter["contact"]))
    elif domain.reporter_may_hear(event):
        store.hold_event(conn, event)


def _record(conn, event, notifications):
    for notification in notifications:
        if store.record_notification(conn, event, notification):
            log.info("recorded %s for the %s by %s (ticket %s)", notification.template,
                     notification.recipient_kind, notification.channel, event.ticket_id)
