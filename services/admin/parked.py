"""Reading and replaying parked messages: the operator's half of "nothing is lost".

A message a service could not process waits in ``<queue>.parked`` (or, for department
feedback, ``zd.feedback.rejected``) with the reason in ``x-park-reason`` or, when
RabbitMQ dead-lettered it after too many failures, in ``x-death``. Once the cause is
fixed (a directory loaded, a bug deployed), ``replay`` sends each message back to the
queue it came from, and only to that queue.

A copy a service parked itself withholds the reporter's details and names its original
(``x-original-message-id``, ``x-original-body-sha256``). Replay sends the original
again: the copy itself when nothing was withheld, else the body its producer still
keeps in its outbox; when neither is there, the message stays parked and is counted.
"""
import json
import time
import uuid
from dataclasses import dataclass

from kombu import Connection, Producer, Queue

from services.common import topology
from services.common.config import amqp_ssl
from services.common.messaging import body_digest

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
    with Connection(amqp_uri, ssl=amqp_ssl(amqp_uri)) as connection:
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


@dataclass
class Replayed:
    sent: int
    kept: int  # stayed parked: their original is no longer stored


def replay(amqp_uri, parked_queue, limit=None, stored_original=lambda message_id: None):
    """Send parked messages back to their queue.

    A message the service parked itself is already in that service's inbox, so it
    goes back under a new message id; one dead-lettered by RabbitMQ keeps its own.
    ``stored_original(message_id)`` finds a message's body in its producer's outbox.
    """
    sent = kept = 0
    with Connection(amqp_uri, ssl=amqp_ssl(amqp_uri),
                    transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        producer = Producer(channel)
        queue = Queue(parked_queue, no_declare=True)(channel)
        while limit is None or sent < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            body = original_body(message, stored_original)
            if body is None:
                kept += 1  # unacknowledged: back in its parking queue when the channel closes
                continue
            exchange, routing_key = destination(parked_queue, message.headers or {})
            producer.publish(body, exchange=exchange, routing_key=routing_key,
                             content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2,
                             **_identity(message))
            message.ack()
            sent += 1
        channel.close()
    return Replayed(sent, kept)


def original_body(message, stored_original):
    """The body to send again, as bytes or text; None when the original is gone."""
    headers = message.headers or {}
    digest = headers.get("x-original-body-sha256")
    if not digest:  # dead-lettered by RabbitMQ: the original itself
        return message.body
    try:
        if body_digest(message.payload) == digest:  # nothing was withheld
            return message.body
    except ValueError:
        pass
    original = stored_original(headers.get("x-original-message-id"))
    if original is not None and body_digest(original) == digest:
        return json.dumps(original, ensure_ascii=False)
    return None


def _identity(message):
    headers = dict(message.headers or {})
    properties = message.properties
    original = headers.pop("x-original-message-id", None)
    if original:  # parked by the service itself: its inbox has seen the original id
        message_id = f"{original}:replay:{uuid.uuid4().hex[:8]}"
    else:
        message_id = properties.get("message_id")
    headers = {key: value for key, value in headers.items()
               if not key.startswith(("x-death", "x-first-death", "x-last-death", "x-park",
                                      "x-original-body"))}
    headers["x-replayed-at"] = int(time.time())
    return {"message_id": message_id, "type": properties.get("type"), "headers": headers}
