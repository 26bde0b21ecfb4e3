"""Checking what reaches routing before it touches a ticket.

A concern event that does not fit is parked (``ParkMessage``); department feedback
that does not fit is refused with ``FeedbackRejected`` and parked on
``zd.feedback.rejected`` with the reason, whether it came by AMQP or over HTTP, and
whatever it is: feedback that cannot even be read (another content type, bad UTF-8, not
JSON, a NUL or a lone surrogate in its id, type or body) is refused the same way, alone,
in the batch it came in, and its office hears of it like of any other. What is checked
goes on to ``workflow`` in one step (``step.Step``) of the message's transaction.
"""
import uuid

from marshmallow import ValidationError

from services.common import events, metrics, topology
from services.common.local_directory import current_directory
from services.common.messaging import Envelope, ParkMessage, park, storable
from services.common.outbox import emit_events
from services.common.text import control_character_errors
from services.routing import domain, store
from services.routing.schemas import (
    ConcernReceivedSchema,
    DispatchContactSchema,
    FeedbackSchema,
    RatingEventSchema,
)
from services.routing.use_cases import rejected_feedback, workflow
from services.routing.use_cases.step import Step
from services.routing.use_cases.workflow import FeedbackRejected


def _body(envelope):
    return envelope.body if isinstance(envelope.body, dict) else {}


def receive_concern(conn, concern):
    """A new concern becomes a ticket, once checked against this service's directory.

    When its reporter asked for feedback, the concern waits for its dispatch contact
    (which may come after it), so that every dispatch message carries the contact.
    """
    directory = current_directory(conn)
    concern = checked_concern(concern, directory)
    store.lock_concern(conn, concern["ticket_id"])
    contact = (store.dispatch_contact(conn, concern["ticket_id"]) if concern["feedback_requested"]
               else None)
    if concern["feedback_requested"] and not contact:
        store.hold_concern(conn, concern)
        return
    with Step.on(conn, directory, contacts={concern["ticket_id"]: contact} if contact
                 else None) as step:
        workflow.receive_concern(step, concern)


def district_of(envelope):
    """What a batch of routing's events is split by: a new concern's district (its
    representatives are locked while it is assigned), "" for any other event."""
    if envelope.type == events.CONCERN_RECEIVED and isinstance(envelope.body, dict):
        district = envelope.body.get("district")
        return district if isinstance(district, str) else ""
    return ""


def lock_stations(conn, envelopes):
    """Lock, in one order, the representatives every new concern of a batch may go to,
    before any is assigned: batches in parallel then never wait for each other's
    representatives in crossed orders (``messaging.handle_batch``). They are locked with
    the first count of open tickets (``store.lock_with_first_count``): what comes before
    it (the inbox, the ticket and its first timeline entries, its duplicates) is done
    without holding the district's representatives."""
    directory = current_directory(conn)
    representatives = {rep_id for envelope in envelopes if district_of(envelope)
                       for rep_id in domain.station_representatives(
                           directory, district_of(envelope), envelope.body.get("community"))}
    if representatives:
        store.lock_with_first_count(conn, representatives)


def receive_dispatch_contact(conn, body):
    """The reporter's name and phone for departments; releases a concern that waited."""
    errors = DispatchContactSchema().validate(body)
    if errors:
        raise ParkMessage(f"invalid dispatch contact: {errors}")
    store.lock_concern(conn, body["ticket_id"])
    store.save_dispatch_contact(conn, body["ticket_id"], body["reporter"])
    held = store.release_held_concern(conn, body["ticket_id"])
    if held is not None:
        with Step.on(conn, current_directory(conn)) as step:
            workflow.receive_concern(step, held)


def receive_rating(conn, rated):
    """The reporter's rating (or one the office took by phone, ``taken_by``), applied to
    the ticket; one that does not fit is parked."""
    try:
        rated = RatingEventSchema().load(rated)
    except ValidationError as invalid:
        raise ParkMessage(f"invalid rating: {invalid.messages}") from None
    try:
        with Step.on(conn, current_directory(conn)) as step:
            workflow.rate(step, rated)
    except workflow.RatingRefused as reason:
        raise ParkMessage(f"rating refused: {reason}") from reason


def checked_concern(concern, directory):
    """The concern as routing reads it (``feedback_requested`` given), or ParkMessage."""
    try:
        concern = ConcernReceivedSchema().load(concern)
    except ValidationError as invalid:
        raise ParkMessage(f"invalid concern: {invalid.messages}") from None
    if concern["district"] not in directory["districts"]:
        raise ParkMessage(f"unknown district {concern['district']!r}")
    return concern


def apply_department_feedback(conn, envelope, person=None):
    """Apply feedback that came by AMQP or HTTP (or from a web department's page, by
    ``person``, a ``step.Person``); ``(ticket, None)``, or ``(None, reason)`` when it
    cannot apply: then it is parked on ``zd.feedback.rejected``, counted, announced and
    kept for the office's list (``rejected_feedback``)."""
    try:
        department, feedback = feedback_of(envelope)
        with conn.transaction(), Step.on(conn, current_directory(conn), person=person,
                                         party=f"department:{department}") as step:
            return workflow.apply_feedback(step, department, feedback), None
    except FeedbackRejected as reason:
        metrics.FEEDBACK_REJECTED.labels(reason.kind).inc()
        park(conn, envelope, str(reason), parked_queue=topology.FEEDBACK_REJECTED)
        _tell_the_office(conn, envelope, str(reason))
        return None, str(reason)


def _tell_the_office(conn, envelope, reason):
    """Announce the rejected feedback (``feedback.rejected``) so the office hears of it, and
    keep it for the office's list."""
    body = _body(envelope)
    named = body.get("dispatch_id")  # unreadable feedback may still name its dispatch
    dispatch_id = storable(named) if isinstance(named, str) and not envelope.undecodable else None
    record = store.dispatch(conn, dispatch_id) if dispatch_id else None
    ticket = store.find_ticket(conn, record["ticket_id"]) if record else None
    department = storable(envelope.routing_key.removeprefix("dept."))
    rejected_feedback.record(conn, department, {} if envelope.undecodable else body,
                             dispatch_id, ticket, reason)
    emit_events(conn, events.feedback_rejected(department, dispatch_id, ticket,
                                               storable(reason), envelope.inbox_id))


def feedback_over_http(department, body):
    """The envelope of feedback posted over HTTP, as if it had come by AMQP."""
    return Envelope(message_id=f"http-{uuid.uuid4()}", type="department.feedback", body=body,
                    queue=topology.ROUTING_FEEDBACK.name, routing_key=f"dept.{department}",
                    from_outside=True)


def feedback_of(envelope):
    """``(department, feedback)``: the department is the one its routing key names."""
    if envelope.unreadable:
        raise FeedbackRejected(envelope.unreadable)
    errors = FeedbackSchema().validate(_body(envelope)) or control_character_errors(_body(envelope))
    if errors:
        raise FeedbackRejected(f"invalid feedback: {errors}")
    return envelope.routing_key.removeprefix("dept."), FeedbackSchema().load(envelope.body)
