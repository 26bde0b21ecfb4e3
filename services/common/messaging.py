"""Consuming messages without losing them, and without applying one twice.

``consume_messages(queue)`` is a nameko entrypoint that hands the method a ``Batch``
of ``Envelope``s (message id, type, body): the messages that arrived while the
queue's workers were busy, at most ``ZD_CONSUMER_WORKERS`` batches at once. The
method returns, for each envelope, whether it was handled; a handled message is
acknowledged then, and only then; any other is returned to its quorum queue, and
after ``topology.DELIVERY_LIMIT`` deliveries RabbitMQ dead-letters it to
``zd.parked``, so a poison message never blocks the queue behind it. Under load a
batch holds many messages and costs one transaction; alone, a message is a batch of
one and waits for nothing.

A message that no store can keep (a NUL or a lone surrogate in its id, type or body) or
whose body cannot be decoded is ``unreadable``: nothing of it is written as it came (the
inbox, a parked copy, a log line and a metric see it escaped), and it never breaks the
batch it came in. Our own services never send one: it is parked. A consumer of messages
from outside (``from_outside``: department feedback) gets it, and every message it could
not decode, like any other, and says itself what becomes of it.

``handle_batch`` applies a batch in one transaction with the inbox rows of its
messages; when one of them cannot be applied there (it raises, or must be parked),
the transaction is rolled back and each message is handled alone by ``handle_once``.
``handle_once`` is the inbox: it records the message id in the same transaction
as the effect, so a redelivered message changes nothing the second time. A message
without an id (a department system need not set one) is known by the hash of its
routing key and body.

Each message is applied in a span of its own (``tracing.consuming``) that continues the
trace its headers carry, however many came in its batch; what it emits continues it too.

An outage is not a poison message: while the database is unreachable, ``handle_once``
holds the message (unacknowledged, so the broker keeps it) and tries again, for as long
as the outage lasts, instead of returning it to its queue, where each return counts
towards the delivery limit and parks it after ten. Only a stop gives it back (one
delivery), and only a handler's own failure returns it at once. That failure is logged
by its kind and the frames of its traceback, never its text, which may quote a contact
(``services.common.tracebacks``).

Every line logged while a message is handled names its message id and its ticket
(``Envelope.logging_context``, ``services.common.log_context``); a batch applied at once
names them per message, as each is applied.

When the broker node a consumer is connected to goes away, kombu connects it to the next
broker of a ``;``-separated ``AMQP_URI`` (at once; it waits only after a round of them
all), and the messages it had not acknowledged are delivered again, there or to another
consumer; the inbox makes the second delivery change nothing. The consumer's connection
is the process's held link to the broker: its ``broker_link`` says whether it is
connected, or since when it is not (``/health``'s ``broker``, without a connection of its own).
A broker gone silent (a network partition that drops packets, no reset) is found by the
connection's heartbeats (nameko's ``HEARTBEAT``, ``ZD_AMQP_HEARTBEAT_SECONDS``), two
intervals without a byte from it; that connection is then dropped, not closed, since a
close waits for an answer a silent broker never sends. Its socket's ``TCP_USER_TIMEOUT``
is one heartbeat interval (py-amqp's default, 1 s, would drop the connection, and have up
to a prefetch of messages per queue delivered again, on any network blip over a second):
data the broker has not acknowledged for that long fails the connection too.
"""
import base64
import hashlib
import json
import logging
import re
import socket
import time
from collections import deque
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import groupby

import eventlet
from amqp.exceptions import ConnectionError as AmqpConnectionError
from amqp.exceptions import ConsumerCancelled
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer
from nameko.utils import sanitize_url

from services.common import metrics, topology, tracing
from services.common.db import (
    CONTENTION,
    CONTENTION_ATTEMPTS,
    UNAVAILABLE,
    pause_after_contention,
)
from services.common.errors import Contention, ParkMessage, Unavailable
from services.common.events import SECRET_FIELDS
from services.common.held_state import BrokerLink
from services.common.log_context import log_context, ticket_id_of
from services.common.outbox import emit
from services.common.text import escaped
from services.common.tracebacks import traceback_without_text

log = logging.getLogger(__name__)
UNAVAILABLE_OR_CONTENTION = UNAVAILABLE + CONTENTION

#: pauses between attempts while the database is unreachable; the last repeats until it is back
RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15)
#: how often a worker waiting out an outage looks whether its consumer is stopping
STOP_CHECK_SECONDS = 0.2
#: a message still waiting for the database is logged again every this many attempts
LOG_EVERY = 20
DEFAULT_PREFETCH = 64
DEFAULT_WORKERS = 4
#: PostgreSQL's text and jsonb refuse NUL, and UTF-8 cannot carry a lone surrogate (a JSON
#: ``\ud800`` escape, or an AMQP property's bytes, decode to one)
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
JSON = "application/json"


def storable(value):
    """``value`` (a text or a JSON value) with every text that holds a character no store
    can keep escaped (``\\u0000``); any other text is kept as it is."""
    if isinstance(value, str):
        return escaped(value) if UNSTORABLE.search(value) else value
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def unstorable_character(value, path=""):
    """``(what, where)`` for the first character of ``value`` (a text or a JSON value) that
    no store can keep, e.g. ``("a lone surrogate (U+D800)", "note")``; None when none."""
    if isinstance(value, str):
        found = UNSTORABLE.search(value)
        if found is None:
            return None
        code = ord(found.group())
        return f"NUL (U+{code:04X})" if code == 0 else f"a lone surrogate (U+{code:04X})", path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list) else ()
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and (in_key := unstorable_character(key, where)):
            return in_key[0], storable(where)
        if in_item := unstorable_character(item, where):
            return in_item[0], storable(in_item[1])
    return None


@dataclass(frozen=True)
class Envelope:
    message_id: str
    type: str
    body: dict = field(repr=False)  # may hold a contact: never in a log line
    queue: str = ""
    routing_key: str = ""
    headers: dict = field(default=None, repr=False)
    from_outside: bool = False  # sent by a department system, not by one of the services
    #: why the body could not be decoded ("" when it was); ``body`` then describes the raw one
    undecodable: str = ""

    @cached_property
    def unreadable(self):
        """Why the message can never be read, or "": its body could not be decoded, or its
        id, type or body holds a character no store can keep."""
        if self.undecodable:
            return f"undecodable message: {self.undecodable}"
        for name, value in (("message_id", self.message_id), ("type", self.type)):
            if found := unstorable_character(value):
                return f"unreadable message: its {name} holds {found[0]}"
        if found := unstorable_character(self.body):
            return f"unreadable message: its body holds {found[0]} in {found[1] or 'itself'}"
        return ""

    @property
    def shown_id(self):
        """The message id as it may be stored, logged and shown."""
        return storable(self.message_id)

    @property
    def shown_type(self):
        return storable(self.type)

    @property
    def type_label(self):
        """The type as a metric label: a sender outside chooses its own types, and each
        label value would be a time series kept as long as the process lives."""
        return "(from outside)" if self.from_outside else self.shown_type

    @property
    def ticket_id(self):
        """The ticket the message is about ("" when it names none, or cannot be read)."""
        return ticket_id_of(self.body)

    def logging_context(self):
        """Every line logged while this message is handled names it and its ticket."""
        return log_context(message_id=self.shown_id, ticket_id=storable(self.ticket_id))

    @property
    def inbox_id(self):
        """What makes a redelivery a redelivery. Our own events are known by their stable
        message id; a message from outside by its queue, sender (routing key), message id
        and body, so that a reused id never hides a different message
        (docs/reference.md#the-feedback-message)."""
        if self.message_id and not self.from_outside and not self.unreadable:
            return self.message_id
        content = [self.routing_key, self.body]
        if self.unreadable:  # what was escaped in the id still tells messages apart
            content += [self.message_id, self.type, self.undecodable]
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()
                                ).hexdigest()
        if self.from_outside:
            return f"{self.queue}:{storable(self.routing_key)}:{self.shown_id}:sha256:{digest}"
        return f"sha256:{digest}"


class Undecodable:
    """The body kombu could not decode; the consumer describes the raw message instead."""


UNDECODABLE = Undecodable()


def undecodable_reason(message):
    """Why the raw body of ``message`` (a kombu message) is not a JSON document, or ""."""
    content_type = message.content_type or "(none)"
    if content_type != JSON:
        return f"its content type {storable(content_type)!r} is not {JSON}"
    raw = message.body if isinstance(message.body, bytes) else str(message.body).encode(
        "utf-8", "surrogatepass")
    encoding = message.content_encoding or "utf-8"
    try:
        text = raw.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return f"its body is not {storable(encoding).upper()} text"
    try:
        json.loads(text)
    except ValueError:
        return "its body is not JSON"
    return ""


def raw_description(message):
    """What a parked copy keeps of a message whose body cannot be decoded: all of it."""
    raw = message.body if isinstance(message.body, bytes) else str(message.body).encode(
        "utf-8", "surrogatepass")
    return {"content_type": storable(message.content_type or ""),
            "content_encoding": storable(message.content_encoding or ""),
            "body_base64": base64.b64encode(raw).decode("ascii")}


class BoundedQueueConsumer(QueueConsumer):
    """nameko's queue consumer with its own prefetch (``ZD_CONSUMER_PREFETCH`` per queue):
    how many messages a process holds at once, and so the largest batch. Workers are
    bounded apart from it (``ZD_CONSUMER_WORKERS`` batches per queue), so consumers
    waiting out a database outage never take every worker and leave none to answer
    HTTP (``/health`` included)."""

    last_iteration = None
    _lost_channel = None  # the channel of the last connection found gone
    #: how long kombu's loop waits for a message before it comes back (kombu's default: 1 s).
    #: Consumers are cancelled, and the loop ends, only when it comes back: a stopping
    #: service waited two of these (cancel, then end) for nothing but the clock
    SAFETY_SECONDS = 0.2
    #: the longest the loop, its consumers cancelled, stays for the messages still in
    #: workers to be acknowledged on its connection
    SETTLE_SECONDS = 10
    unsettled = 0  # messages handed to a consumer, neither acknowledged nor requeued yet
    _stop_asked = None

    @property
    def prefetch_count(self):
        return int(self.container.config.get("ZD_CONSUMER_PREFETCH", DEFAULT_PREFETCH))

    _broker_link = None

    @property
    def broker_link(self):
        """This consumer's connection, as ``/health`` sees it (``held_state.BrokerLink``)."""
        if self._broker_link is None:
            self._broker_link = BrokerLink()
        return self._broker_link

    def start(self):
        self.last_iteration = time.monotonic()
        super().start()

    @property
    def connection(self):
        """nameko's, its socket's ``TCP_USER_TIMEOUT`` one heartbeat interval (at least 1 s)."""
        connection = super().connection
        heartbeat = connection.heartbeat or 0
        connection.transport_options = {
            **(connection.transport_options or {}),
            "socket_settings": {socket.TCP_USER_TIMEOUT: int(max(heartbeat, 1) * 1000)}}
        return connection

    def on_connection_revived(self):
        """Called by kombu each time the connection is made (again)."""
        self.broker_link.connected()
        super().on_connection_revived()

    def consume(self, limit=None, timeout=None, safety_interval=SAFETY_SECONDS, **kwargs):
        yield from super().consume(limit=limit, timeout=timeout, safety_interval=safety_interval,
                                   **kwargs)

    @contextmanager
    def establish_connection(self):
        """kombu's, except when the connection fails while in use (the broker closed it, its
        socket was reset, or its heartbeats were missed): ``broker_link`` is told at once,
        and the connection is dropped without the close kombu would start, whose wait for
        the broker's answer has no end when the broker has gone silent (kombu would try
        again only once TCP gave up, many minutes later). A channel's error is not the
        connection's: the broker still answers a consumer its queue refuses, or one whose queue
        was deleted (``ConsumerCancelled``, which py-amqp counts among connection errors)."""
        with self.create_connection() as connection:
            connection.ensure_connection(self.on_connection_error, self.connect_max_retries)
            try:
                yield connection
            except ConsumerCancelled:
                raise  # kombu closes and reconnects; the broker answered all along
            except (OSError, AmqpConnectionError) as lost:
                if not self.should_stop:
                    self.broker_link.lost(lost)
                connection.collect()  # its socket closed, no word sent to the broker
                raise

    def on_iteration(self):
        """Called by kombu at least every ``SAFETY_SECONDS`` while the consumer consumes.
        Once every consumer is cancelled (the service stops), the loop, and with it the
        connection, ends only when the messages still in workers are settled: closing it
        earlier would lose their acknowledgements, and the broker would deliver them again."""
        self.last_iteration = time.monotonic()
        super().on_iteration()
        if self.should_stop and self.unsettled > 0:
            self._stop_asked = self._stop_asked or self.last_iteration
            if self.last_iteration - self._stop_asked < self.SETTLE_SECONDS:
                self.should_stop = False

    def handle_message(self, provider, body, message):
        self.unsettled += 1
        super().handle_message(provider, body, message)

    def liveness(self, stall_seconds):
        """``("ok", None)``, or ``("down", why)`` when it has not consumed for
        ``stall_seconds`` (its connection is lost, or its queues cannot be consumed)."""
        idle = time.monotonic() - (self.last_iteration or 0.0)
        if idle > stall_seconds:
            return "down", f"not consuming for {idle:.0f}s"
        return "ok", None

    def ack_message(self, message):
        """Acknowledge ``message``, unless its connection is gone. When a broker node stops,
        a worker may finish before this consumer has read the node's close; its
        acknowledgement then meets a reset socket (an ``OSError``, which nameko does not
        catch: the worker would end with an error, and the whole container with it). The
        broker delivers such a message again, on the new connection, and the inbox knows it."""
        self._settle(super().ack_message, message)

    def requeue_message(self, message):
        self._settle(super().requeue_message, message)

    def _settle(self, settle, message):
        try:
            settle(message)
        except OSError as exc:
            if message.channel is not self._lost_channel:  # once per lost connection
                self._lost_channel = message.channel
                log.warning("the broker connection is gone (%s): the messages not yet"
                            " acknowledged will be delivered again", type(exc).__name__)
        finally:
            self.unsettled -= 1

    def on_connection_error(self, exc, interval):
        """Called by kombu each time connecting fails; it then tries the next broker of a
        ``;``-separated ``AMQP_URI`` at once, and waits ``interval`` seconds only after a
        round of them all. nameko's own warning masks the first broker's password only."""
        self.broker_link.lost(exc)
        log.warning("error connecting to broker at %s (%s); retrying in %s seconds",
                    masked_uri(self.amqp_uri), exc, interval)

    def on_decode_error(self, message, exc):
        """A body that is not JSON (another content type, bad UTF-8) can never apply. From
        outside, it goes to its consumer like any other message, which says what becomes
        of it (department feedback: ``zd.feedback.rejected``, with the reason). Else it is
        rejected, so its queue dead-letters it to its parking queue, and counted. Its body
        is never logged (kombu's default logs it, then drops the message)."""
        provider = self._provider_of(message.delivery_info.get("consumer_tag"))
        if getattr(provider, "from_outside", False):
            self.handle_message(provider, UNDECODABLE, message)
            return
        queue = provider.queue.name if provider is not None else "unknown"
        log.warning("parking an undecodable message from %s (%s, content type %r)", queue,
                    type(exc).__name__, message.content_type)
        metrics.MESSAGES_PARKED.labels(f"{queue}.parked", "undecodable").inc()
        message.reject(requeue=False)

    def _provider_of(self, consumer_tag):
        for provider, consumer in self._consumers.items():
            if consumer_tag in getattr(consumer, "_active_tags", {}).values():
                return provider
        return None


def masked_uri(amqp_uri):
    """``amqp_uri`` with the password of each of its brokers (``;``-separated) masked."""
    return ";".join(sanitize_url(uri) for uri in amqp_uri.split(";"))


class Batch:
    """Messages for one worker. It takes more until its worker starts (``seal``)."""

    def __init__(self):
        self.envelopes = []
        self.messages = []
        self.sealed = False
        self.started = None  # when its worker started on it (``seal``): its processing time

    def add(self, envelope, message):
        self.envelopes.append(envelope)
        self.messages.append(message)

    def seal(self):
        """The batch's envelopes; it takes no more."""
        self.sealed = True
        self.started = self.started or time.monotonic()
        return list(self.envelopes)


class MessageConsumer(Consumer):
    queue_consumer = BoundedQueueConsumer()

    def __init__(self, queue, from_outside=False, **kwargs):
        super().__init__(queue, requeue_on_error=True, **kwargs)
        self.from_outside = from_outside
        self.stopping = False
        self.in_flight = 0  # batches handed to a worker and not finished
        self.waiting = deque()  # batches waiting for a worker, taking messages meanwhile
        self.taking = None  # the batch new messages join while it has not started

    @property
    def workers(self):
        return int(self.container.config.get("ZD_CONSUMER_WORKERS", DEFAULT_WORKERS))

    def stop(self):
        # prefetched messages still arrive while the consumer is being cancelled; once
        # the container stops, no worker may start (its dependencies are going away)
        self.stopping = True
        while self.waiting:
            self._requeue(self.waiting.popleft().messages)
        super().stop()

    def handle_message(self, body, message):
        if self.stopping:
            self.queue_consumer.requeue_message(message)
            return
        envelope = self._envelope(body, message)
        if self.taking is not None and not self.taking.sealed:
            self.taking.add(envelope, message)
            return
        self.taking = Batch()
        self.taking.add(envelope, message)
        if self.in_flight < self.workers:
            self._start(self.taking)
        else:
            self.waiting.append(self.taking)

    def _envelope(self, body, message):
        properties = message.properties
        undecodable = ""
        if self.from_outside and (body is UNDECODABLE or message.content_type != JSON):
            # kombu hands other content types over raw: they are not JSON either
            undecodable = undecodable_reason(message) or "its body cannot be decoded"
            body = raw_description(message)
        return Envelope(
            message_id=properties.get("message_id") or "",
            type=properties.get("type") or "",
            body=body,
            queue=self.queue.name,
            routing_key=message.delivery_info.get("routing_key", ""),
            headers=dict(message.headers or {}), from_outside=self.from_outside,
            undecodable=undecodable)

    def _start(self, batch):
        self.in_flight += 1
        try:
            self.container.spawn_worker(self, (batch,), {}, context_data={},
                                        handle_result=partial(self.handle_result, batch))
        except ContainerBeingKilled:
            self.in_flight -= 1
            batch.seal()
            self._requeue(batch.messages)

    def handle_result(self, batch, worker_ctx, result=None, exc_info=None):
        """Acknowledge each message the method handled; return the others to the queue."""
        self.in_flight -= 1
        handled = list(result) if exc_info is None and isinstance(result, (list, tuple)) else []
        handled += [False] * (len(batch.messages) - len(handled))  # not said: not handled
        for message, done in zip(batch.messages, handled, strict=True):
            if done:
                self.queue_consumer.ack_message(message)
            else:
                self.queue_consumer.requeue_message(message)
        metrics.observe_processing(self.container.service_name, self.queue.name, batch)
        if self.waiting and not self.stopping:
            eventlet.spawn_n(self._start, self.waiting.popleft())  # outside this worker's slot
        return result, exc_info

    def _requeue(self, messages):
        for message in messages:
            self.queue_consumer.requeue_message(message)


consume_messages = MessageConsumer.decorator


class BatchBroken(Exception):
    """A message of the batch cannot be applied with the others: each is handled alone."""


def handle_batch(db, batch, apply, prepare=None, partition=None, pipelined=False, apply_all=None):
    """Apply ``apply(conn, envelope)`` to each message of ``batch`` exactly once, in one
    transaction; returns, for each, whether it was handled (acknowledge it). When one
    raises or must be parked, each is handled alone (``handle_once``): the others are
    applied and acknowledged, and only the failing one goes back to its queue.

    Messages are applied in the order of the tickets they name (a ticket's own messages
    keep the order they came in), so that batches in parallel lock tickets in one order
    and never deadlock; ``prepare(conn, envelopes)``, when given, runs first, to take
    in a fixed order other locks the batch will need. ``partition(envelope)``, when
    given, splits the batch into one transaction per key, in the keys' order: what
    locks one key's rows (a district's representatives) is then held only while that
    key's messages are applied, and batches in parallel take turns key by key.

    ``pipelined``: the batch's transaction runs in psycopg's pipeline mode, so that a
    statement whose result nobody reads (an outbox row, a lock, a timeline entry not
    returned) goes with the next one that is read, and the last ones with the commit.
    A failure then shows at the next statement read: the batch is broken all the same,
    and each message is handled alone, outside the pipeline (``handle_once``).
    ``apply_all(conn, envelopes)``, when given, applies the messages of a transaction
    that were not seen before at once, in that order, instead of ``apply`` one by one
    (a message handled alone is still ``apply``'s): a consumer that writes the effects
    of many messages in one statement makes fewer round trips to the database.
    """
    arrived = batch.seal()
    handled = {}
    together = partial(_apply_all, apply_all) if apply_all is not None else partial(_apply_each, apply)
    for group in _groups(arrived, partition):
        handled.update(_handle_group(db, group, apply, prepare, together, pipelined))
    return [handled[id(envelope)] for envelope in arrived]


def _groups(envelopes, partition):
    if partition is None:
        return [sorted(envelopes, key=lambda envelope: envelope.ticket_id)]
    ordered = sorted(envelopes, key=lambda envelope: (partition(envelope), envelope.ticket_id))
    return [list(group) for _, group in groupby(ordered, key=partition)]


def _handle_group(db, envelopes, apply, prepare, together, pipelined=False):
    """``{id(envelope): handled}`` for messages applied together (or, failing, alone).
    A batch of one is applied the same way: without a savepoint, which only a message
    that fails needs (``handle_once``)."""
    try:
        with envelopes[0].logging_context() if len(envelopes) == 1 else nullcontext():
            outcomes = _until_done(db, envelopes, lambda: _apply_together(
                db, envelopes, together, prepare, pipelined))
    except BatchBroken:
        return {id(envelope): _handled_alone(db, envelope, apply) for envelope in envelopes}
    for envelope, outcome in zip(envelopes, outcomes, strict=True):
        metrics.MESSAGES_CONSUMED.labels(envelope.queue, envelope.type_label, outcome).inc()
        _log_outcome(envelope, outcome)
    if len(envelopes) > 1:
        metrics.CONSUMED_BATCH_SIZE.labels(envelopes[0].queue).observe(len(envelopes))
    return {id(envelope): True for envelope in envelopes}


def _handled_alone(db, envelope, apply):
    with envelope.logging_context():
        try:
            handle_once(db, envelope, apply)
        except Unavailable:
            raise  # stopping in an outage: the whole batch goes back for the next start
        except Exception as failure:  # its text may quote a contact: its kind and frames only
            log.error("handling %s (%s) from %s failed: it goes back to its queue\n%s",
                      envelope.shown_id, envelope.shown_type, envelope.queue,
                      traceback_without_text(failure))
            return False
    return True


def _apply_together(db, envelopes, together, prepare, pipelined=False):
    with db.transaction() as conn, conn.pipeline() if pipelined else nullcontext():
        if prepare is not None:
            try:
                prepare(conn, envelopes)
            except Exception as failure:
                raise BatchBroken(f"preparing the batch: {failure!r}") from failure
        new = {row["message_id"] for row in conn.execute(
            "INSERT INTO inbox (message_id, type) SELECT * FROM unnest(%s::text[], %s::text[])"
            " ON CONFLICT DO NOTHING RETURNING message_id",
            ([envelope.inbox_id for envelope in envelopes],
             [envelope.shown_type for envelope in envelopes])).fetchall()}
        outcomes, fresh = [], []
        for envelope in envelopes:
            if envelope.inbox_id not in new:  # seen before, or earlier in this batch
                outcomes.append("duplicate")
                continue
            new.discard(envelope.inbox_id)
            fresh.append(envelope)
            outcomes.append("applied")
        together(conn, fresh)
        if pipelined:
            try:
                conn.commit()  # with the statements not read yet: one round trip
            except UNAVAILABLE_OR_CONTENTION:
                raise  # the database's: waited out, or the batch done again (``_until_done``)
            except Exception as failure:  # a statement not read yet failed: each alone
                raise BatchBroken(f"committing the batch: {failure!r}") from failure
    return outcomes


def _apply_each(apply, conn, envelopes):
    for envelope in envelopes:
        try:
            _apply(conn, envelope, apply, len(envelopes))
        except Exception as failure:
            raise BatchBroken(f"{envelope.shown_id}: {failure!r}") from failure


def _apply_all(apply_all, conn, envelopes):
    try:
        for envelope in envelopes:
            if envelope.unreadable and not envelope.from_outside:
                raise ParkMessage(envelope.unreadable)
        if envelopes:
            with tracing.consuming_together(envelopes):
                apply_all(conn, envelopes)
    except Exception as failure:
        raise BatchBroken(f"{len(envelopes)} messages applied at once: {failure!r}") from failure


def handle_once(db, envelope, apply):
    """Apply ``apply(conn, envelope)`` exactly once per message id, waiting out database
    outages (until the consumer stops) and doing again transactions the database broke
    off to resolve a deadlock."""
    with envelope.logging_context():
        outcome = _until_done(db, [envelope], lambda: _apply_in_transaction(db, envelope, apply))
    metrics.MESSAGES_CONSUMED.labels(envelope.queue, envelope.type_label, outcome).inc()
    _log_outcome(envelope, outcome)
    return outcome


def _log_outcome(envelope, outcome):
    """A DEBUG line per message handled: what an operator follows a ticket by."""
    if log.isEnabledFor(logging.DEBUG):
        with envelope.logging_context():
            log.debug("%s (%s) from %s: %s", envelope.shown_id, envelope.shown_type,
                      envelope.queue, outcome)


def _apply(conn, envelope, apply, batch_size=1):
    if envelope.unreadable and not envelope.from_outside:
        raise ParkMessage(envelope.unreadable)  # a consumer from outside decides itself
    # what it logs names it, and what it emits continues its trace
    with envelope.logging_context(), tracing.consuming(envelope, batch_size):
        apply(conn, envelope)


def _until_done(db, envelopes, work):
    """``work()``, done again after a deadlock, and again and again while the database
    is unreachable (until the consumer stops: then Unavailable is raised)."""
    attempt = 0
    while True:
        try:
            outcome = retry_contention(work)
        except Unavailable:
            if db.stopping():
                raise  # the messages go back to their queue for the next start
            attempt += 1
            _wait_out_outage(db, envelopes, attempt)
            continue
        if attempt:
            log.info("database back: %s handled after %s attempts", _described(envelopes),
                     attempt + 1)
        return outcome


def _described(envelopes):
    first = envelopes[0]
    more = f" and {len(envelopes) - 1} more" if len(envelopes) > 1 else ""
    return f"{first.shown_id} ({first.shown_type}){more}"


def _wait_out_outage(db, envelopes, attempt):
    pause = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS)) - 1]
    if attempt == 1 or attempt % LOG_EVERY == 0:
        log.warning("database unavailable while handling %s from %s; holding it and"
                    " trying again every %ss at most (attempt %s)", _described(envelopes),
                    envelopes[0].queue, RETRY_SECONDS[-1], attempt)
    metrics.OUTAGE_WAITS.labels(envelopes[0].queue).inc()
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
            (envelope.inbox_id, envelope.shown_type)).fetchone()
        if first is None:
            return "duplicate"
        try:
            with conn.transaction():  # a savepoint: a parked message keeps its inbox row
                _apply(conn, envelope, apply)
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
    operators read parked messages, and a reporter's details are kept only in intake and
    notify (and a dispatch)."""
    if isinstance(body, dict):
        personal = CONTACT_KEYS + (("name",) if about_reporter else ())
        return {key: WITHHELD if key in personal and value
                else withhold_contacts(value, key in REPORTER_OBJECTS)
                for key, value in body.items()}
    if isinstance(body, list):
        return [withhold_contacts(item, about_reporter) for item in body]
    return body


def body_digest(body):
    """The SHA-256 of a body's canonical JSON: a parked copy's reference to its original
    (a lone surrogate in it is encoded as it came)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                     default=str).encode("utf-8", "surrogatepass")).hexdigest()


def park(conn, envelope, reason, parked_queue=None):
    """Send the message to its queue's parking queue (or ``parked_queue``) with the reason.

    Parked queues are bound to ``zd.parked`` by the name of the queue they serve. The
    copy refers to its original (message id, queue, routing key, the SHA-256 of its body)
    and withholds the reporter's details and an event's secrets (``SECRET_FIELDS``):
    parked messages are shown to operators. The copy's outbox row is deleted once
    published (``outbox``), not kept for days. What no store can keep (NUL, a lone
    surrogate) is escaped in the copy.
    """
    target = parked_queue or envelope.queue
    waiting_in = parked_queue or f"{envelope.queue}.parked"
    reason = storable(reason)
    log.warning("parking %s (%s) from %s in %s: %s", envelope.shown_id, envelope.shown_type,
                envelope.queue, waiting_in, reason)
    metrics.MESSAGES_PARKED.labels(waiting_in, reason.split(":")[0][:60]).inc()
    body = envelope.body if isinstance(envelope.body, dict) else {"body": envelope.body}
    secrets = SECRET_FIELDS.get(envelope.shown_type, ())
    body = {key: WITHHELD if key in secrets else value for key, value in body.items()}
    emit(conn, topology.PARKED.name, target, envelope.shown_type or "unknown",
         storable(withhold_contacts(body)),
         headers={"x-park-reason": reason, "x-original-message-id": envelope.shown_id,
                  "x-original-queue": envelope.queue,
                  "x-original-routing-key": storable(envelope.routing_key),
                  "x-original-body-sha256": body_digest(envelope.body)})
