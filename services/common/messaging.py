"""Consuming messages without losing them, and without applying one twice.

``consume_messages(queue)`` is a nameko entrypoint that hands the method an
``Envelope`` (message id, type, body) and acknowledges only when the method
returns. When the method raises, the message is returned to its quorum queue;
after ``topology.DELIVERY_LIMIT`` deliveries RabbitMQ dead-letters it to
``zd.parked``, so a poison message never blocks the queue behind it.

``handle_once`` is the inbox: it records the message id in the same transaction
as the effect, so a redelivered message changes nothing the second time. A message
without an id (a department system need not set one) is known by the hash of its
routing key and body.

An outage is not a poison message: while the database is unreachable, ``handle_once``
holds the message (unacknowledged, so the broker keeps it) and tries again, for as long
as the outage lasts, instead of returning it to its queue, where each return counts
towards the delivery limit and parks it after ten. Only a stop gives it back (one
delivery), and only a handler's own failure returns it at once.
"""
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from functools import partial

import eventlet
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer

from services.common import metrics, topology
from services.common.db import CONTENTION_ATTEMPTS, pause_after_contention
from services.common.errors import Contention, Unavailable
from services.common.outbox import emit

log = logging.getLogger(__name__)

#: pauses between attempts while the database is unreachable; the last repeats until it is back
RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15)
#: how often a worker waiting out an outage looks whether its consumer is stopping
STOP_CHECK_SECONDS = 0.2
#: a message still waiting for the database is logged again every this many attempts
LOG_EVERY = 20
DEFAULT_PREFETCH = 4


@dataclass(frozen=True)
class Envelope:
    message_id: str
    type: str
    body: dict = field(repr=False)  # may hold a contact: never in a log line
    queue: str = ""
    routing_key: str = ""
    headers: dict = field(default=None, repr=False)
    from_outside: bool = False  # sent by a department system, not by one of the services

    @property
    def inbox_id(self):
        """What makes a redelivery a redelivery. Our own events are known by their stable
        message id; a message from outside by its queue, sender (routing key), message id
        and body, so that a reused id never hides a different message (contract §7)."""
        if self.message_id and not self.from_outside:
            return self.message_id
        content = json.dumps([self.routing_key, self.body], sort_keys=True, default=str)
        digest = hashlib.sha256(content.encode()).hexdigest()
        if self.from_outside:
            return f"{self.queue}:{self.routing_key}:{self.message_id}:sha256:{digest}"
        return f"sha256:{digest}"


class BoundedQueueConsumer(QueueConsumer):
    """nameko's queue consumer with its own prefetch (``ZD_CONSUMER_PREFETCH`` per queue).

    nameko prefetches ``max_workers`` messages, so consumers waiting out a database
    outage could take every worker and leave none to answer HTTP (``/health`` included).
    """

    last_iteration = None

    @property
    def prefetch_count(self):
        return int(self.container.config.get("ZD_CONSUMER_PREFETCH", DEFAULT_PREFETCH))

    def start(self):
        self.last_iteration = time.monotonic()
        super().start()

    def on_iteration(self):
        """Called by kombu at least every second while the consumer consumes."""
        self.last_iteration = time.monotonic()
        super().on_iteration()

    def liveness(self, stall_seconds):
        """``("ok", None)``, or ``("down", why)`` when it has not consumed for
        ``stall_seconds`` (its connection is lost, or its queues cannot be consumed)."""
        idle = time.monotonic() - (self.last_iteration or 0.0)
        if idle > stall_seconds:
            return "down", f"not consuming for {idle:.0f}s"
        return "ok", None

    def on_decode_error(self, message, exc):
        """A body that is not JSON (another content type, bad UTF-8) can never apply: it is
        rejected, so its queue dead-letters it to its parking queue, and counted; its body
        is never logged (kombu's default logs it, then drops the message)."""
        queue = self._queue_of(message.delivery_info.get("consumer_tag"))
        log.warning("parking an undecodable message from %s (%s, content type %r)", queue,
                    type(exc).__name__, message.content_type)
        metrics.MESSAGES_PARKED.labels(f"{queue}.parked", "undecodable").inc()
        message.reject(requeue=False)

    def _queue_of(self, consumer_tag):
        for consumer in self._consumers.values():
            for name, tag in getattr(consumer, "_active_tags", {}).items():
                if tag == consumer_tag:
                    return name
        return "unknown"


class MessageConsumer(Consumer):
    queue_consumer = BoundedQueueConsumer()

    def __init__(self, queue, from_outside=False, **kwargs):
        super().__init__(queue, requeue_on_error=True, **kwargs)
        self.from_outside = from_outside
        self.stopping = False

    def stop(self):
        # prefetched messages still arrive while the consumer is being cancelled; once
        # the container stops, no worker may start (its dependencies are going away)
        self.stopping = True
        super().stop()

    def handle_message(self, body, message):
        if self.stopping:
            self.queue_consumer.requeue_message(message)
            return
        properties = message.properties
        envelope = Envelope(
            message_id=properties.get("message_id") or "",
            type=properties.get("type") or "",
            body=body,
            queue=self.queue.name,
            routing_key=message.delivery_info.get("routing_key", ""),
            headers=dict(message.headers or {}), from_outside=self.from_outside)
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(self, (envelope,), {}, context_data={},
                                        handle_result=handle_result)
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)


consume_messages = MessageConsumer.decorator


class ParkMessage(Exception):
    """The message can never be applied: park it with this reason, then acknowledge."""


def handle_once(db, envelope, apply):
    """Apply ``apply(conn, envelope)`` exactly once per message id, waiting out database
    outages (until the consumer stops) and doing again transactions the database broke
    off to resolve a deadlock."""
    attempt = 0
    while True:
        try:
            outcome = retry_contention(lambda: _apply_in_transaction(db, envelope, apply))
        except Unavailable:
            if db.stopping():
                raise  # the message goes back to its queue for the next start
            attempt += 1
            _wait_out_outage(db, envelope, attempt)
            continue
        if attempt:
            log.info("database back: %s (%s) handled after %s attempts", envelope.message_id,
                     envelope.type, attempt + 1)
        metrics.MESSAGES_CONSUMED.labels(envelope.queue, envelope.type, outcome).inc()
        return outcome


def _wait_out_outage(db, envelope, attempt):
    pause = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1]
    if attempt == 1 or attempt % LOG_EVERY == 0:
        log.warning("database unavailable while handling %s (%s) from %s; holding it and"
                    " trying again every %ss at most (attempt %s)", envelope.message_id,
                    envelope.type, envelope.queue, RETRY_SECONDS[-1], attempt)
    metrics.OUTAGE_WAITS.labels(envelope.queue).inc()
    waited = 0.0
    while waited < pause and not db.stopping():
        eventlet.sleep(min(STOP_CHECK_SECONDS, pause - waited))
        waited += STOP_CHECK_SECONDS


def retry_contention(work, attempts=CONTENTION_ATTEMPTS):
    """``work()``, done again (after a short random pause) when the database broke it off
    to resolve a deadlock or a serialization conflict."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Contention:
            if attempt == attempts:
                raise
            log.info("transaction broken off by the database (deadlock or conflict); again")
            pause_after_contention(attempt)


def _apply_in_transaction(db, envelope, apply):
    with db.transaction() as conn:
        first = conn.execute(
            "INSERT INTO inbox (message_id, type) VALUES (%s, %s)"
            " ON CONFLICT DO NOTHING RETURNING message_id",
            (envelope.inbox_id, envelope.type)).fetchone()
        if first is None:
            return "duplicate"
        try:
            with conn.transaction():  # a savepoint: a parked message keeps its inbox row
                apply(conn, envelope)
        except ParkMessage as reason:
            park(conn, envelope, str(reason))
            return "parked"
    return "applied"


CONTACT_KEYS = ("phone", "email", "wechat_openid")
#: objects that describe the reporter: their name is withheld as well
REPORTER_OBJECTS = ("reporter", "contact")
WITHHELD = "(withheld)"


def withhold_contacts(body, about_reporter=False):
    """``body`` with every phone, email and openid replaced, and the reporter's name:
    operators read parked messages, and the contract keeps a reporter's details in
    intake and notify (and a dispatch)."""
    if isinstance(body, dict):
        personal = CONTACT_KEYS + (("name",) if about_reporter else ())
        return {key: WITHHELD if key in personal and value
                else withhold_contacts(value, key in REPORTER_OBJECTS)
                for key, value in body.items()}
    if isinstance(body, list):
        return [withhold_contacts(item, about_reporter) for item in body]
    return body


def body_digest(body):
    """The SHA-256 of a body's canonical JSON: a parked copy's reference to its original."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                     default=str).encode()).hexdigest()


def park(conn, envelope, reason, parked_queue=None):
    """Send the message to its queue's parking queue (or ``parked_queue``) with the reason.

    Parked queues are bound to ``zd.parked`` by the name of the queue they serve. The
    copy refers to its original (message id, queue, routing key, the SHA-256 of its body)
    and withholds the reporter's details: parked messages are shown to operators. The
    copy's outbox row is deleted once published (``outbox``), not kept for days.
    """
    target = parked_queue or envelope.queue
    waiting_in = parked_queue or f"{envelope.queue}.parked"
    log.warning("parking %s (%s) from %s in %s: %s", envelope.message_id, envelope.type,
                envelope.queue, waiting_in, reason)
    metrics.MESSAGES_PARKED.labels(waiting_in, reason.split(":")[0][:60]).inc()
    body = envelope.body if isinstance(envelope.body, dict) else {"body": envelope.body}
    emit(conn, topology.PARKED.name, target, envelope.type or "unknown", withhold_contacts(body),
         headers={"x-park-reason": reason, "x-original-message-id": envelope.message_id,
                  "x-original-queue": envelope.queue,
                  "x-original-routing-key": envelope.routing_key,
                  "x-original-body-sha256": body_digest(envelope.body)})
