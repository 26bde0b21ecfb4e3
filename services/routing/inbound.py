"""Checking what reaches routing before it touches a ticket.

A concern event that does not fit is parked (``ParkMessage``); department feedback
that does not fit is refused with ``FeedbackRejected`` and parked on
``zd.feedback.rejected`` with the reason, whether it came by AMQP or over HTTP.
"""
import uuid

from services.common import metrics, topology
from services.common.local_directory import current_directory
from services.common.messaging import Envelope, ParkMessage, park
from services.routing import workflow
from services.routing.schemas import ConcernReceivedSchema, FeedbackSchema, RatingEventSchema
from services.routing.workflow import FeedbackRejected


def _body(envelope):
    return envelope.body if isinstance(envelope.body, dict) else {}


def receive_concern(conn, concern):
    """A new concern becomes a ticket, once checked against this service's directory."""
    directory = current_directory(conn)
    workflow.receive_concern(conn, checked_concern(concern, directory), directory)


def receive_rating(conn, rated):
    """The reporter's rating, applied to the ticket; one that does not fit is parked."""
    errors = RatingEventSchema().validate(rated)
    if errors:
        raise ParkMessage(f"invalid rating: {errors}")
    try:
        workflow.rate(conn, rated, current_directory(conn))
    except workflow.RatingRefused as reason:
        raise ParkMessage(f"rating refused: {reason}") from reason


def checked_concern(concern, directory):
    errors = ConcernReceivedSchema().validate(concern)
    if errors:
        raise ParkMessage(f"invalid concern: {errors}")
    if concern["district"] not in directory["districts"]:
        raise ParkMessage(f"unknown district {concern['district']!r}")
    return concern


def apply_department_feedback(conn, envelope):
    """Apply feedback that came by AMQP or HTTP; ``(ticket, None)``, or ``(None, reason)``
    when it cannot apply: then it is parked on ``zd.feedback.rejected`` and counted."""
    try:
        department, feedback = feedback_of(envelope)
        with conn.transaction():
            return workflow.apply_feedback(conn, department, feedback,
                                           current_directory(conn)), None
    except FeedbackRejected as reason:
        metrics.FEEDBACK_REJECTED.labels(reason.kind).inc()
        park(conn, envelope, str(reason), parked_queue=topology.FEEDBACK_REJECTED)
        return None, str(reason)


def feedback_over_http(department, body):
    """The envelope of feedback posted over HTTP, as if it had come by AMQP."""
    return Envelope(message_id=f"http-{uuid.uuid4()}", type="department.feedback", body=body,
                    queue=topology.ROUTING_FEEDBACK.name, routing_key=f"dept.{department}")


def feedback_of(envelope):
    """``(department, feedback)``: the department is the one its routing key names."""
    errors = FeedbackSchema().validate(_body(envelope))
    if errors:
        raise FeedbackRejected(f"invalid feedback: {errors}")
    return envelope.routing_key.removeprefix("dept."), FeedbackSchema().load(envelope.body)
