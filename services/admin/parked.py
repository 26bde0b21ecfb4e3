"""Reading and replaying parked messages: the operator's half of "nothing is lost".

A message a service could not process waits in ``<queue>.parked`` (or, for department
feedback, ``zd.feedback.rejected``) with the reason in ``x-park-reason`` or, when
RabbitMQ dead-lettered it after too many failures, in ``x-death``. Once the cause is
fixed (a directory loaded, a bug deployed), ``replay`` sends each message back to the
queue it came from, and only to that queue.
"""
import time
import uuid
from dataclasses import dataclass

from kombu import Connection, Producer, Queue

from services.common import topology

PARKED_SUFFIX = ".parked"


@dataclass
class Parked:
    message_id: str
    type: str
    reason: str
    origin: str  # the queue it came from
    body: object


def origin_queue(parked_queue, headers):
    if parked_queue == topology.FEEDBACK_REJECTED:
        return topology.ROUTING_FEEDBACK.name
    return headers.get("x-original-queue") or parked_queue.removesuffix(PARKED_SUFFIX)


def destination(parked_queue, headers):
    """``(exchange, routing key)`` that reach the origin queue, and only it.

    Feedback goes back through ``zd.feedback`` with its ``dept.<code>`` key, which
    names the department; anything else straight to its queue.
    """
    origin = origin_queue(parked_queue, headers)
    if origin == topology.ROUTING_FEEDBACK.name:
        deaths = headers.get("x-death") or [{}]
        key = headers.get("x-original-routing-key") or (deaths[0].get("routing-keys") or [""])[0]
        return topology.FEEDBACK.name, key
    return "", origin


def describe(parked_queue, message):
    headers = message.headers or {}
    deaths = headers.get("x-death") or [{}]
    reason = headers.get("x-park-reason") or f"dead-lettered: {deaths[0].get('reason', '?')}"
    return Parked(headers.get("x-original-message-id") or message.properties.get("message_id"),
                  message.properties.get("type", ""), reason,
                  origin_queue(parked_queue, headers), message.payload)


def peek(amqp_uri, parked_queue, limit=50):
    """Up to ``limit`` parked messages; they stay parked."""
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        queue = Queue(parked_queue, no_declare=True)(channel)
        seen = []
        while len(seen) < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            seen.append(describe(parked_queue, message))
        channel.close()  # unacknowledged: every one goes back, in order
        return seen


def replay(amqp_uri, parked_queue, limit=None):
    """Send parked messages back to their queue; returns how many were sent.

    A message the service parked itself is already in that service's inbox, so it
    goes back under a new message id; one dead-lettered by RabbitMQ keeps its own.
    """
    sent = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        producer = Producer(channel)
        queue = Queue(parked_queue, no_declare=True)(channel)
        while limit is None or sent < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            exchange, routing_key = destination(parked_queue, message.headers or {})
            producer.publish(message.body, exchange=exchange, routing_key=routing_key,
                             content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2,
                             **_identity(message))
            message.ack()
            sent += 1
    return sent


def _identity(message):
    headers = dict(message.headers or {})
    properties = message.properties
    original = headers.pop("x-original-message-id", None)
    if original:  # parked by the service itself: its inbox has seen the original id
        message_id = f"{original}:replay:{uuid.uuid4().hex[:8]}"
    else:
        message_id = properties.get("message_id")
    headers = {key: value for key, value in headers.items()
               if not key.startswith(("x-death", "x-first-death", "x-last-death", "x-park"))}
    headers["x-replayed-at"] = int(time.time())
    return {"message_id": message_id, "type": properties.get("type"), "headers": headers}
