"""Checking what reaches routing by message before it touches a ticket.

A concern event that does not fit is parked (``ParkMessage``); department feedback
that does not fit is refused with ``FeedbackRejected``, which routing parks on
``zd.feedback.rejected`` with the reason.
"""
from services.common.messaging import ParkMessage
from services.routing.schemas import ConcernReceivedSchema, FeedbackSchema
from services.routing.workflow import FeedbackRejected


def _body(envelope):
    return envelope.body if isinstance(envelope.body, dict) else {}


def concern_of(envelope, directory):
    errors = ConcernReceivedSchema().validate(_body(envelope))
    if errors:
        raise ParkMessage(f"invalid concern: {errors}")
    if envelope.body["district"] not in directory["districts"]:
        raise ParkMessage(f"unknown district {envelope.body['district']!r}")
    return envelope.body


def feedback_of(envelope):
    """``(department, feedback)``: the department is the one its routing key names."""
    errors = FeedbackSchema().validate(_body(envelope))
    if errors:
        raise FeedbackRejected(f"invalid feedback: {errors}")
    return envelope.routing_key.removeprefix("dept."), FeedbackSchema().load(envelope.body)
