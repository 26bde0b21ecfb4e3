"""The outbox relay: the rows of each service's outbox published to RabbitMQ.

``OutboxRelay`` (a nameko dependency run by each service, for its own schema and the
admin's) listens for the outbox's notification, publishes pending rows with publisher
confirms and ``mandatory`` set, and marks them published. A row the broker cannot
route (its queue does not exist yet) or refuses (a nack) stays pending and is tried
again later with back-off, alone: the rest of its batch goes on. Delivery is at least
once; consumers deduplicate by ``message_id``. The rows themselves, and ``emit`` that
writes them in a use case's transaction, are ``services.common.outbox``'s.

A batch of rows is published at once and its confirms awaited together. The relay
never waits on the broker without a bound: every publish and its confirms have a
timeout, the connection has heartbeats (checked every round), and while the
broker blocks publishers (a memory or disk alarm) the relay publishes nothing and
holds no row. When a batch stops half way, what went out is marked at once. A line logged
while a row is published names its message id and ticket (``log_context``).

Each row is published in a span of its own (``tracing.publishing``), continuing the trace
of what emitted it; the message carries the span's context on to its consumers.
"""
import logging
import socket
import time

from kombu import Connection, Producer

from services.common import metrics, outbox, topology, tracing
from services.common.config import amqp_ssl
from services.common.credentials import forget_full_buckets
from services.common.db import make_pool
from services.common.events import SECRET_FIELDS
from services.common.log_context import log_context, ticket_id_of
from services.common.loops import ListeningLoop

log = logging.getLogger(__name__)

BATCH = 100
CONFIRM_TIMEOUT = 10  # seconds a publish and its confirm may take
HEARTBEAT_SECONDS = 30
POLL_SECONDS = 1.0  # pending rows are looked for at least this often
HOUSEKEEPING_SECONDS = 3600
BACKLOG_SECONDS = 5


class Unroutable(Exception):
    """The broker returned the message: no queue is bound for its routing key."""


class Refused(Exception):
    """The broker would not take the message (a nack: e.g. a full queue that rejects)."""


class BrokerBlocked(Exception):
    """The broker blocks publishers (a resource alarm): nothing can go out now."""


class Unanswered(Exception):
    """The broker did not say whether it took the message: it stays pending."""


class ConfirmTimedOut(Exception):
    """No confirm came in time: the broker blocks publishers or the connection is dead.
    The message may still arrive (at least once); it stays pending."""


class Publisher:
    """Publishes outbox rows on one kombu connection in confirm mode: a batch is
    published, then its confirms are awaited together (one wait for the batch, not a
    round trip per row), with timeouts on both."""

    def __init__(self, amqp_uri, confirm_timeout=CONFIRM_TIMEOUT, heartbeat=HEARTBEAT_SECONDS,
                 declare=topology.declare):
        self.declare = declare  # what it declares on connecting (``topology.declaring``)
        self.connection = Connection(
            amqp_uri, heartbeat=heartbeat, connect_timeout=5, ssl=amqp_ssl(amqp_uri),
            transport_options={"on_blocked": self._on_blocked, "on_unblocked": self._on_unblocked})
        self.confirm_timeout = confirm_timeout
        self.producer = None
        self.blocked = None  # the broker's reason while it blocks publishers
        self.reconnect = False  # after a block or a failure: late confirms must not meet new publishes
        self.next_tag = 1  # the delivery tag the broker gives the next message on the channel
        self.waiting = {}  # delivery tag → message id, published and not yet confirmed
        self.outcomes = {}  # message id → None (confirmed), Unroutable or Refused
        self.returned = {}  # message id → why the broker returned it

    def open(self):
        if self.producer is None:
            self.blocked = None
            self.connection.ensure_connection(max_retries=1)
            self.declare(self.connection)
            channel = self.connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self.producer = Producer(channel, on_return=self._on_return)
            self.next_tag, self.waiting = 1, {}

    def _on_return(self, exception, exchange, routing_key, message):
        message_id = message.properties.get("message_id")
        self.returned[message_id] = f"{exchange} {routing_key}: {exception}"

    def _on_ack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, refused=False)

    def _on_nack(self, delivery_tag, multiple):
        self._settle(delivery_tag, multiple, refused=True)

    def _settle(self, delivery_tag, multiple, refused):
        tags = [tag for tag in self.waiting if tag <= delivery_tag] if multiple else [delivery_tag]
        for tag in tags:
            message_id = self.waiting.pop(tag, None)
            if message_id is None:
                continue
            if refused:
                self.outcomes[message_id] = Refused("the broker refused it (nack)")
            elif message_id in self.returned:
                self.outcomes[message_id] = Unroutable(self.returned.pop(message_id))
            else:
                self.outcomes[message_id] = None

    def _on_blocked(self, reason):
        if not self.blocked:
            log.warning("the broker blocks publishing (%s): the outbox waits", reason)
        self.blocked = reason or "blocked"

    def _on_unblocked(self):
        if self.blocked:
            log.info("the broker takes messages again")
        self.blocked = None
        self.reconnect = True

    def keep_alive(self):
        """Read what the broker sent meanwhile (blocked, unblocked) and send or check
        heartbeats; raises when the broker has gone silent."""
        if self.producer is None:
            return
        self.connection.heartbeat_check()
        try:
            self.connection.drain_events(timeout=0)
        except socket.timeout:
            pass

    def publish_batch(self, rows):
        """Publish ``rows`` in order, then wait for the broker's confirms of them all.

        Returns ``(outcomes, failure)``: ``outcomes`` maps the message id of each row
        the broker answered for to None (it took it), ``Unroutable`` or ``Refused``;
        ``failure`` is what stopped the batch (the broker blocks, a confirm did not
        come in time, the connection failed), or None. A row without an outcome stays
        pending: it may still arrive (at least once).
        """
        if self.reconnect:
            self.close()
        self.outcomes, self.returned = {}, {}
        try:
            self.open()
            self.keep_alive()
            if self.blocked:
                raise BrokerBlocked(self.blocked)
            for row in rows:
                with logging_context(row):
                    self.producer.publish(
                        row["body"], exchange=row["exchange"], routing_key=row["routing_key"],
                        serializer="json", delivery_mode=2, mandatory=True,
                        message_id=row["message_id"], type=row["type"], headers=row["headers"],
                        timestamp=int(time.time()), timeout=self.confirm_timeout)
                self.waiting[self.next_tag] = row["message_id"]
                self.next_tag += 1
            self._await_confirms()
        except Exception as failure:  # the broker blocks, is silent or failed
            # a new connection next time, unless the broker blocked before anything went
            # out: then this one is kept, to hear when the broker takes messages again
            self.reconnect = self.reconnect or bool(self.waiting) or not isinstance(failure, BrokerBlocked)
            return dict(self.outcomes), _as_publish_failure(failure)
        return dict(self.outcomes), None

    def _await_confirms(self):
        deadline = time.monotonic() + self.confirm_timeout
        while self.waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConfirmTimedOut(f"no confirm within {self.confirm_timeout}s")
            try:
                self.connection.drain_events(timeout=remaining)
            except socket.timeout:
                pass

    def close(self):
        """Drop the connection without the closing handshake, which a blocked broker
        would never answer."""
        self.producer = None
        self.reconnect = False
        self.waiting = {}
        self.connection.collect()


def _as_publish_failure(failure):
    if isinstance(failure, (socket.timeout, TimeoutError)):
        return ConfirmTimedOut(f"no confirm within the timeout: {failure}")
    return failure


def relay_pending(pool, publisher, schema, progress=None):
    """Publish pending rows in batches until none is left; returns how many went out.

    A row the broker returns or refuses is postponed alone. When the broker fails,
    blocks or times out, the batch stops: what went out is marked, then the error is
    raised (the relay reconnects).
    """
    total = 0
    while True:
        with pool.connection() as conn:
            rows = outbox.lock_pending(conn, BATCH)
            traced = [tracing.publishing(schema, row) for row in rows]
            outgoing = [{**row, "headers": headers} for row, (_, headers) in zip(rows, traced, strict=True)]
            outcomes, stopped_by = publisher.publish_batch(outgoing) if rows else ({}, None)
            sent = []
            for row, (span, _) in zip(rows, traced, strict=True):
                outcome = outcomes.get(row["message_id"], "pending")
                tracing.published(span, (stopped_by or Unanswered()) if outcome == "pending" else outcome)
                if outcome is None:
                    sent.append(row["id"])
                elif isinstance(outcome, (Unroutable, Refused)):
                    _postpone(conn, row, outcome, schema)
            outbox.mark_published(conn, sent)
            # a parked copy is in its parking queue now: its row keeps nothing worth days;
            # an event holding a secret (a sign-in code) must not be kept at all
            went_out = set(sent)
            gone = [row["id"] for row in rows if row["id"] in went_out
                    and (row["exchange"] == topology.PARKED.name or row["type"] in SECRET_FIELDS)]
            if gone:
                outbox.delete(conn, gone)
        if log.isEnabledFor(logging.DEBUG):
            for row in rows:
                if row["id"] in went_out:
                    with logging_context(row):
                        log.debug("published %s (%s) to %s", row["message_id"], row["type"],
                                  row["exchange"])
        total += len(sent)
        metrics.OUTBOX_PUBLISHED.labels(schema).inc(len(sent))
        if progress is not None and sent:
            progress()
        if stopped_by is not None:
            raise stopped_by
        if len(rows) < BATCH or not sent:
            return total


def relay_round(pool, publisher, schema, progress=None):
    """One round of the relay; returns how many messages went out.

    While the broker blocks publishing, the round publishes nothing and keeps the
    blocked connection, on which the broker will say when it takes messages again.
    Any other failure is raised: the relay drops the connection and reconnects.
    """
    try:
        publisher.keep_alive()
        if publisher.blocked:
            return 0
        return relay_pending(pool, publisher, schema, progress)
    except (ConfirmTimedOut, BrokerBlocked):
        if not publisher.blocked:
            raise
        return 0
    finally:
        metrics.OUTBOX_BROKER_BLOCKED.labels(schema).set(1 if publisher.blocked else 0)


def logging_context(row):
    """Every line logged while an outbox row is published names its message and ticket."""
    return log_context(message_id=row["message_id"], ticket_id=ticket_id_of(row["body"]))


def _postpone(conn, row, reason, schema):
    with logging_context(row):
        log.error("outbox message %s not taken by the broker, kept for retry: %s",
                  row["message_id"], reason)
    metrics.OUTBOX_UNROUTABLE.labels(schema).inc()
    outbox.postpone(conn, row["id"], str(reason))


def observe_backlog(pool, schema):
    """Set the pending-messages gauges: what an on-call engineer alerts on."""
    with pool.connection() as conn:
        row = outbox.backlog(conn)
    metrics.OUTBOX_PENDING.labels(schema).set(row["pending"])
    metrics.OUTBOX_OLDEST_PENDING.labels(schema).set(float(row["oldest"]))


def forget_old_messages(pool, keep_days):
    """Delete published outbox rows and inbox records older than ``keep_days``
    (``outbox.forget_old``)."""
    with pool.connection() as conn:
        outbox.forget_old(conn, keep_days)


def forget_idle_buckets(pool):
    """Delete the rate buckets idle for an hour (``credentials.forget_full_buckets``)."""
    with pool.connection() as conn:
        forget_full_buckets(conn)


class OutboxRelay(ListeningLoop):
    """Runs the relay loop in a managed green thread of the service container."""
    poll_seconds = POLL_SECONDS

    def __init__(self, schema, keeps_rate_buckets=False):
        self.schema = schema
        self.keeps_rate_buckets = keeps_rate_buckets  # the schema's API keys are limited in it

    @property
    def notify_channel(self):
        return outbox.CHANNEL.format(self.schema)

    def setup(self):
        config = self.container.config
        self.pool = make_pool(config["ZD_DATABASE_URL"], self.schema, size=2)
        metrics.watch_pool(self.container.service_name, self.attr_name, self.pool)
        self.keep_days = int(config.get("ZD_RETENTION_DAYS", 30))
        self.next_housekeeping = self.next_backlog_check = 0.0
        self.publisher = Publisher(config["AMQP_URI"],
                                   declare=topology.declaring(config.get("ZD_DECLARE_TOPOLOGY")))

    def run_round(self):
        """False while the broker blocks publishing: the round did not read the outbox."""
        relay_round(self.pool, self.publisher, self.schema, progress=self.beat)
        self._keep_house()
        return not self.publisher.blocked

    def liveness(self, stall_seconds):
        """Blocked by the broker's resource alarm is its own state: the relay is well
        and waits, and the service still takes work into its outbox."""
        state, reason = super().liveness(stall_seconds)
        if state == "ok" and self.publisher.blocked:
            return "blocked", "the broker blocks publishing (a resource alarm); the outbox waits"
        return state, reason

    def on_failure(self):
        self.publisher.close()

    def closing(self):
        self.publisher.close()

    def _keep_house(self):
        now = time.monotonic()
        if now >= self.next_backlog_check:
            observe_backlog(self.pool, self.schema)
            self.next_backlog_check = now + BACKLOG_SECONDS
        if now >= self.next_housekeeping:
            forget_old_messages(self.pool, self.keep_days)
            if self.keeps_rate_buckets:
                forget_idle_buckets(self.pool)
            self.next_housekeeping = now + HOUSEKEEPING_SECONDS
