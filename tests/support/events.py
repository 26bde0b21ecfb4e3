"""Events for the consumers' tests, built by the producers' own code.

A concern is a row as intake stores it, turned into events by ``services.common.events``;
a ticket is rows as routing stores them (ticket, dispatches, timeline), turned into a
``ticket.<change>`` event by ``services.routing.snapshots`` and ``services.common.events``.
So a change in what a producer emits breaks the tests of every consumer.
"""
from datetime import datetime, timedelta, timezone

from kombu import Producer

from services.common import events, topology
from services.routing import snapshots
from tests.support.queues import confirmed_connection

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


def concern_row(ticket_id, received_at=T0, reporter=None, **fields):
    """A concern as intake stores it (``reporter`` as posted, with ``wants_feedback``)."""
    return {"ticket_id": ticket_id, "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "category": "drainage", "title": "下水道堵塞",
            "description": "元岗路下水道堵塞，污水外溢", "location": None, "attachments": [],
            "requested_representative": None, "submitted_at": received_at,
            "received_at": received_at, "reporter": reporter, **fields}


def concern_events(ticket_id, received_at=T0, reporter=None, **fields):
    """What intake emits for a new concern, in its order (contacts first), Nones left out."""
    row = concern_row(ticket_id, received_at, reporter, **fields)
    made = [events.reporter_contact(ticket_id, reporter), events.dispatch_contact(ticket_id, reporter),
            events.concern_received(row)]
    return [event for event in made if event is not None]


def ticket_row(ticket_id, status, version, received_at=T0, representative="rep-chen-jianguo",
               **fields):
    """A ticket as routing stores it."""
    return {"ticket_id": ticket_id, "version": version, "status": status, "district": "baiyun",
            "community": "yuangang", "channel": "wechat", "category": "drainage",
            "title": "下水道堵塞", "description": "元岗路下水道堵塞，污水外溢", "location": None,
            "attachments": [], "representative_id": representative, "received_at": received_at,
            "status_since": received_at, "first_dispatched_at": None, "resolved_at": None,
            "result": None, "reopen_count": 0, "rating": None, "rating_comment": None,
            "feedback_requested": False, **fields}


def dispatch_row(ticket_id, department, dispatched_at, role="lead", status="sent", due_at=None,
                 resolved_at=None, dispatch_id=None):
    """A dispatch as routing stores it."""
    return {"dispatch_id": dispatch_id or f"{ticket_id}-{department}", "ticket_id": ticket_id,
            "department": department, "role": role, "status": status, "note": None,
            "dispatched_at": dispatched_at, "due_at": due_at or dispatched_at + timedelta(hours=72),
            "resolved_at": resolved_at}


def entry(at, actor, action, from_status, to_status, note=None, person=None):
    """A timeline entry as routing stores it; ``person`` (a ``step.Person``) is the staff
    member who acted for the party ``actor``, signed in to the workbench."""
    return {"at": at, "actor": actor, "action": action, "from_status": from_status,
            "to_status": to_status, "note": note, "person_id": person.id if person else None,
            "person_name": person.name if person else None}


def ticket_event(change, ticket, directory, dispatches=(), timeline=None, changes=None):
    """``ticket.<change>`` as routing emits it at the end of a step; ``timeline`` defaults to
    one entry of the change; ``changes`` are the step's earlier changes (names), each with
    its entry taken from the end of the timeline before the last one."""
    timeline = timeline or [entry(T0, "system", change, None, ticket["status"])]
    names = [*(changes or ()), change]
    made = [snapshots.timeline_entry(made) for made in timeline[-len(names):]]
    return events.ticket_changed(snapshots.ticket_snapshot(ticket, list(dispatches), timeline,
                                                           directory), zip(names, made, strict=True))


def department_dispatched(ticket, dispatch, directory, reporter=None):
    """``department.dispatched`` as routing emits it for a webhook department."""
    return events.department_dispatched(snapshots.dispatch_message(ticket, dispatch, directory,
                                                                   reporter))


def publish(*to_publish, amqp_uri=None):
    """Publish events on ``zd.events`` as the outbox relay does, each confirmed by the
    broker (a message it did not take raises); returns their message ids."""
    with confirmed_connection(amqp_uri) as connection:
        producer = Producer(connection.channel())
        for event in to_publish:
            producer.publish(event.body, exchange=topology.EVENTS.name, routing_key=event.type,
                             type=event.type, message_id=event.message_id, delivery_mode=2,
                             serializer="json")
    return [event.message_id for event in to_publish]
