"""The courier: sends what the notifications outbox holds, on every configured channel.

A nameko dependency that runs one loop in a managed green thread of the notify
service. Woken by ``NOTIFY`` (or every ``POLL_SECONDS``, for retries coming due), it
claims due notifications per channel in batches, one round trip for many, and queues
them per destination (each webhook department; the SMTP server; each gateway): its
``Lane``. Each destination has as many senders at once as its adaptive limit allows
(``concurrency``: ``ZD_NOTIFY_CONCURRENCY`` to start with, up to
``ZD_NOTIFY_MAX_CONCURRENCY``), and at most twice that many notifications claimed, so a
slow or dead receiver holds up nothing but itself; a sender that sees room in its lane
claims the next batch itself, without waiting for the loop. The channels keep their
connections (SMTP sessions, HTTP keep-alive) between messages.

Every call ends by its deadline (``ZD_NOTIFY_TIMEOUT_SECONDS``, for the call as a whole,
however slowly the other side answers), and a claim is a lease longer than that: a
claimed notification whose lease would not outlast its call, were it started now, is
given back unsent (``released``); one whose sender died is claimed again after its lease
and sent with the same idempotency key, which the gateways (``Idempotency-Key``),
webhook receivers (``webhook-id``) and mail readers (``Message-ID``) use to accept it
once. Each attempt is settled, sent, retried later (``retries``) or parked as failed, by
one settling green thread that writes every outcome waiting in one statement
(``store.settle_many``), each attempt still recorded on its own.

Its log names the notification, its template, channel and ticket, and why an attempt
failed in the channel's own words; never an address, a phone number or a URL, never a
param (a sign-in code among them), and never the text of an error nobody planned for
(only its kind and the line raising it); nor does its span of each attempt, which joins the
trace of the event that caused the notification (``tracing.delivering``). Each line about a
delivery also carries its notification's id, its ticket id and the id of the event that
caused it as fields (``log_context``). A sign-in code is claimed and sent before whatever
else waits on its channel (``store.claim_due``, ``Lane.add``); messages to staff carry the
workbench's address (``ZD_WORKBENCH_URL``) in their params as ``workbench_url``, and a
reporter's the link to their concern's own page (``ZD_REPORTER_LINK`` with the page token
their contact holds as the message is sent) as ``link``, none once the contact is
anonymised.
"""
import logging
import time
from collections import deque

import eventlet
from eventlet.greenpool import GreenPool
from eventlet.queue import LightQueue

from services.common import metrics, tracing
from services.common.db import make_pool
from services.common.local_directory import current_directory
from services.common.log_context import log_context
from services.common.loops import STOP_SECONDS, ListeningLoop
from services.common.tracebacks import raised_where
from services.notify import channels as channel_kinds
from services.notify import domain, messages, retries, store
from services.notify.concurrency import AdaptiveLimit

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
BACKLOG_SECONDS = 5
LEASE_MARGIN_SECONDS = 10
#: destinations one channel sends to at once: the webhook departments (the SMTP server
#: and a gateway are one destination each)
BUSY_DESTINATIONS = 16
#: notifications claimed for a destination: this many times its senders, so a sender
#: finds the next one waiting; a waiting one is sent within one call's deadline
CLAIMED_PER_SENDER = 2
#: the most attempts written in one statement
SETTLE_BATCH = 500
#: what tells the settling thread that the courier stops (after what came before it)
STOP = object()
DEFAULT_WORKBENCH_URL = "http://127.0.0.1:8002/workbench/"
DEFAULT_REPORTER_LINK = "http://127.0.0.1:8001/c/{token}"


def logging_context(row):
    """Every line logged about a notification names it, its ticket and the event
    (message) that caused it."""
    return log_context(ticket_id=row.get("ticket_id"), message_id=row.get("event_id"),
                       notification_id=row.get("id"))


def _one_statement_each(conn):
    """A claim and a settlement are one statement each, atomic on its own: without a
    transaction around it, no BEGIN and COMMIT round trips."""
    conn.autocommit = True


class Lane:
    """One destination of a channel: its notifications claimed and waiting, its senders
    under way and how many it may have (``concurrency``)."""

    def __init__(self, concurrency):
        self.concurrency = concurrency
        self.waiting = deque()  # (row, directory) in the order claimed
        self.senders = 0

    def add(self, row, directory):
        """A claimed notification to send; a sign-in code goes before whatever waits, as it
        was claimed before it (``store.claim_due``)."""
        if row["template"] == domain.SIGN_IN_CODE_TEMPLATE:
            self.waiting.appendleft((row, directory))
        else:
            self.waiting.append((row, directory))

    @property
    def room(self):
        """How many more notifications it may hold claimed."""
        return CLAIMED_PER_SENDER * self.concurrency.limit - len(self.waiting) - self.senders


class Courier(ListeningLoop):
    poll_seconds = POLL_SECONDS
    notify_channel = store.NOTIFY_CHANNEL
    workbench_url = DEFAULT_WORKBENCH_URL  # ZD_WORKBENCH_URL
    reporter_link = DEFAULT_REPORTER_LINK  # ZD_REPORTER_LINK
    settler = None

    def setup(self):
        config = self.container.config
        # urllib3 logs each request line at DEBUG, query included: a gateway's token
        logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)
        self.concurrency = int(config.get("ZD_NOTIFY_CONCURRENCY", 4))
        self.most_concurrency = max(self.concurrency,
                                    int(config.get("ZD_NOTIFY_MAX_CONCURRENCY", 32)))
        self.channels = channel_kinds.configured(config, self.most_concurrency)
        for name in sorted(set(channel_kinds.CHANNELS) - set(self.channels)):
            log.warning("the %s channel is not configured: its notifications are skipped", name)
        timeout = float(config.get("ZD_NOTIFY_TIMEOUT_SECONDS", 10))
        self.deadline_seconds = timeout
        self.lease_seconds = 2 * timeout + LEASE_MARGIN_SECONDS  # outlasts any call
        self.max_attempts = int(config.get("ZD_NOTIFY_MAX_ATTEMPTS", 10))
        self.retry_seconds = float(config.get("ZD_NOTIFY_RETRY_SECONDS", 2))
        self.ticket_link = config.get("ZD_TICKET_LINK")
        self.workbench_url = config.get("ZD_WORKBENCH_URL") or DEFAULT_WORKBENCH_URL
        self.reporter_link = config.get("ZD_REPORTER_LINK") or DEFAULT_REPORTER_LINK
        # claims and settlements are short: a few connections serve every sender
        self.pool = make_pool(config["ZD_DATABASE_URL"], "notify", size=3 + len(self.channels),
                              configure=_one_statement_each)
        metrics.watch_pool(self.container.service_name, self.attr_name, self.pool)
        self.senders = {name: GreenPool(self.most_concurrency * BUSY_DESTINATIONS)
                        for name in self.channels}
        self.lanes = {}  # (channel, destination): Lane
        self.claiming, self.claim_again = set(), set()  # channels
        self.settlements = LightQueue()
        self.next_backlog_check = 0.0

    @property
    def channel_names(self):
        return frozenset(self.channels)

    def start(self):
        super().start()
        self.settler = self.container.spawn_managed_thread(self._settle_until_stopped)

    def run_round(self):
        for name in self.channels:
            self._claim(name)
        for (name, _), lane in list(self.lanes.items()):  # claimed for while the channel's
            self._start_senders(name, lane)  # senders were all busy elsewhere: none started
        self._observe_backlog()
        for channel in self.channels.values():
            channel.close_idle()

    def closing(self):
        """Let deliveries under way finish (up to STOP_SECONDS), give back what waits
        unsent, write every outcome, then close the channels' kept connections."""
        with eventlet.Timeout(STOP_SECONDS, False):
            for senders in self.senders.values():
                senders.waitall()
        for lane in self.lanes.values():
            while lane.waiting:
                self._settle(lane.waiting.popleft()[0], "released")
        self.settlements.put(STOP)
        if self.settler is not None:
            with eventlet.Timeout(STOP_SECONDS, False):
                self.settler.wait()
        for channel in self.channels.values():
            channel.close()

    def _lane(self, name, destination):
        key = (name, destination)
        if key not in self.lanes:
            self.lanes[key] = Lane(AdaptiveLimit(self.concurrency, self.most_concurrency))
        return self.lanes[key]

    def _claim(self, name):
        """Claim what the channel's lanes have room for, and start their senders; one
        claim of a channel at a time (a request meanwhile makes it claim again)."""
        if name in self.claiming:
            self.claim_again.add(name)
            return
        self.claiming.add(name)
        try:
            while self._claim_batch(name) and name in self.claim_again:
                self.claim_again.discard(name)
        finally:
            self.claiming.discard(name)
            self.claim_again.discard(name)

    def _claim_batch(self, name):
        # a gateway's or the SMTP server's notifications all go to one destination, named
        # after its channel; a webhook department not seen yet has room for a full lane
        room = {destination: lane.room for (of, destination), lane in self.lanes.items()
                if of == name}
        fresh = CLAIMED_PER_SENDER * self.concurrency
        limit = (room.get(name, fresh) if name != "webhook"
                 else CLAIMED_PER_SENDER * self.most_concurrency * BUSY_DESTINATIONS)
        if limit <= 0:
            return []
        with self.pool.connection() as conn:
            claimed = store.claim_due(conn, name, limit, self.lease_seconds, fresh, room=room)
            directory = current_directory(conn) if claimed and name == "webhook" else None
        now = time.monotonic()
        for row in claimed:
            row["claimed_at"] = now
            lane = self._lane(name, row["destination"])
            lane.add(row, directory)
            self._start_senders(name, lane)
        return claimed

    def _start_senders(self, name, lane):
        senders = self.senders[name]
        while lane.waiting and lane.senders < lane.concurrency.limit and senders.free():
            lane.senders += 1
            senders.spawn_n(self._send_from, name, lane)

    def _send_from(self, name, lane):
        """One sender of a lane: sends what waits there while the lane allows it."""
        channel = self.channels[name]
        try:
            while self.running and lane.waiting and lane.senders <= lane.concurrency.limit:
                row, directory = lane.waiting.popleft()
                self._deliver(channel, row, directory, lane)
                if lane.room >= max(1, lane.concurrency.limit // 2):
                    self._claim_more(name)
                self._start_senders(name, lane)
        finally:
            lane.senders -= 1

    def _claim_more(self, name):
        try:
            self._claim(name)
        except Exception as exc:  # the loop's next round claims again
            log.warning("claiming more %s notifications failed: %s", name, raised_where(exc))

    def _deliver(self, channel, row, directory, lane):
        with logging_context(row):
            self._deliver_now(channel, row, directory, lane)

    def _deliver_now(self, channel, row, directory, lane):
        concurrency = lane.concurrency
        if time.monotonic() - row["claimed_at"] + self.deadline_seconds \
                + LEASE_MARGIN_SECONDS / 2 > self.lease_seconds:
            return self._settle(row, "released")  # its lease would not outlast the call
        started, generation = time.monotonic(), concurrency.generation
        span = tracing.delivering("notify", row)  # joins the trace of the event behind it
        try:
            self._send_in_time(channel, self._outgoing(row, directory))
        except channel_kinds.DeliveryFailed as failure:
            if isinstance(failure, channel_kinds.Retry):
                concurrency.overloaded(generation)
            else:
                concurrency.refused()
            tracing.delivered(span, self._failed(row, failure, time.monotonic() - started), failure)
        except Exception as exc:  # a defect: park it with the reason rather than retry forever
            log.error("delivery of notification %s failed unexpectedly: %s", row["id"],
                      raised_where(exc))
            tracing.delivered(span, self._failed(
                row, channel_kinds.Refused(f"unexpected error: {type(exc).__name__}"),
                time.monotonic() - started), exc)
        else:
            seconds = time.monotonic() - started
            concurrency.delivered(seconds)
            self._settle(row, "sent", seconds=seconds)
            tracing.delivered(span, "sent")

    def _send_in_time(self, channel, outgoing):
        """Send, or Retry once the deadline passed. The libraries' timeouts are per read:
        an answer dripping a byte at a time meets none of them, and would outlive the lease."""
        deadline = eventlet.Timeout(self.deadline_seconds)
        try:
            channel.send(outgoing)
        except eventlet.Timeout as expired:
            if expired is not deadline:
                raise
            raise channel_kinds.Retry(f"unfinished after {self.deadline_seconds:g}s") from None
        finally:
            deadline.cancel()

    def _outgoing(self, row, directory):
        if row["channel"] == "webhook":
            code = row["recipient"].partition(":")[2]
            secret = ((directory["departments"].get(code) or {}).get("webhook") or {}).get("secret")
            return channel_kinds.Outgoing(row["idempotency_key"], row["address"], row["template"],
                                          row["locale"], row["params"], secret=secret)
        link = (self.ticket_link.format(ticket_id=row["ticket_id"])  # staff only, when it names one
                if self.ticket_link and row["ticket_id"] and not row["recipient"].startswith("reporter")
                else None)
        if row["recipient"] == domain.REPORTER:  # their own page, while their contact has its token
            page = domain.reporter_page_link(self.reporter_link, row.get("page_token"))
            params = {**row["params"], **({"link": page} if page else {})}
        else:
            params = {**row["params"], "workbench_url": self.workbench_url}  # where staff sign in
        try:
            rendered = messages.render(row["template"], row["locale"], params, link)
        except messages.UnknownTemplate:
            raise channel_kinds.Refused(f"no template {row['template']}") from None
        return channel_kinds.Outgoing(row["idempotency_key"], row["address"], row["template"],
                                      row["locale"], params, message=rendered)

    def _failed(self, row, failure, seconds):
        """Settle a failed attempt: retried later or parked; returns which."""
        channel = row["channel"]
        metrics.NOTIFICATIONS_FAILED.labels(channel).inc()
        outcome, retry_in = retries.next_step(
            row["attempts"], isinstance(failure, channel_kinds.Retry), failure.retry_after,
            base=self.retry_seconds, max_attempts=self.max_attempts)
        log.warning("notification %s (%s by %s, ticket %s) attempt %s failed: %s; %s",
                    row["id"], row["template"], channel, row["ticket_id"], row["attempts"],
                    failure.detail, f"again in {retry_in:.1f}s" if retry_in is not None
                    else "parked as failed")
        self._settle(row, outcome, detail=failure.detail, seconds=seconds, retry_in=retry_in)
        return outcome

    def _settle(self, row, outcome, detail=None, seconds=None, retry_in=None):
        """The attempt's outcome, for the settling thread to write with others."""
        self.settlements.put({"row": row, "id": row["id"], "attempt": row["attempts"],
                              "outcome": outcome, "detail": detail, "seconds": seconds,
                              "retry_in": retry_in})

    def _settle_until_stopped(self):
        """Write the outcomes waiting, all in one statement, until STOP comes."""
        stopping = False
        while not stopping:
            batch = [self.settlements.get()]
            while len(batch) < SETTLE_BATCH and self.settlements.qsize():
                batch.append(self.settlements.get())
            if any(item is STOP for item in batch):
                stopping = True
                batch = [item for item in batch if item is not STOP]
            try:
                if batch:
                    self._write_settlements(batch)
            except Exception as exc:  # this thread must outlive anything: the leases expire
                log.error("could not settle %s attempts (%s); their leases will expire and they"
                          " will be sent again under the same key", len(batch), raised_where(exc))

    def _write_settlements(self, batch):
        for delay in (0.5, 1, 2, 4, 8, None):  # the database may be briefly away
            try:
                with self.pool.connection() as conn:
                    settled = store.settle_many(conn, batch)
                break
            except Exception as exc:
                if delay is None or not self.running:
                    log.error("could not record notification %s (%s); its lease will expire and"
                              " it will be sent again under the same key",
                              ", ".join(str(settlement["id"]) for settlement in batch),
                              raised_where(exc))
                    return
                eventlet.sleep(delay)
        for settlement in batch:
            if settlement["id"] in settled:
                with logging_context(settlement["row"]):
                    self._count(settlement["row"], settlement["outcome"])

    def _count(self, row, outcome):
        channel = row["channel"]
        if outcome == "sent":
            metrics.NOTIFICATIONS_SENT.labels(channel).inc()
            age = time.time() - row["created_at"].timestamp()
            metrics.NOTIFICATION_DELIVERY_SECONDS.labels(channel).observe(max(0.0, age))
            log.info("sent %s by %s (ticket %s)", row["template"], channel, row["ticket_id"])
        elif outcome == "retry":
            metrics.NOTIFICATIONS_RETRIED.labels(channel).inc()
        elif outcome == "failed":
            metrics.NOTIFICATIONS_PARKED.labels(channel).inc()

    def _observe_backlog(self):
        now = time.monotonic()
        if now < self.next_backlog_check:
            return
        self.next_backlog_check = now + BACKLOG_SECONDS
        for (name, destination), lane in self.lanes.items():
            metrics.NOTIFY_CONCURRENCY.labels(name, destination.partition(":")[2] or destination) \
                .set(lane.concurrency.limit)
        with self.pool.connection() as conn:
            observe_backlog(conn)


def observe_backlog(conn):
    """The backlog gauges: what waits to be sent, and what is due and still not sent; and
    when they were counted, for they keep their last values while the courier cannot count
    (stuck, or the database unreachable)."""
    backlog = store.backlog(conn)
    metrics.NOTIFICATIONS_PENDING.set(backlog["pending"])
    metrics.NOTIFICATIONS_OLDEST_PENDING.set(backlog["oldest_seconds"])
    metrics.NOTIFICATIONS_OVERDUE.set(backlog["overdue"])
    metrics.NOTIFICATIONS_OVERDUE_SECONDS.set(backlog["overdue_seconds"])
    metrics.NOTIFICATIONS_BACKLOG_OBSERVED.set_to_current_time()
