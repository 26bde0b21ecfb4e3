"""The courier: sends what the notifications outbox holds, on every configured channel.

A nameko dependency that runs one loop in a managed green thread of the notify
service. Woken by ``NOTIFY`` (or every ``POLL_SECONDS``), it claims due notifications
per channel and destination (each webhook department; the SMTP server; each gateway),
only as many as that destination has free senders (``ZD_NOTIFY_CONCURRENCY``), so a
slow or dead receiver holds up nothing but itself. Every call ends by its deadline
(``ZD_NOTIFY_TIMEOUT_SECONDS``, for the call as a whole, however slowly the other side
answers), and a claim is a lease longer than that; a notification whose sender died
is claimed again after its lease and sent with the same idempotency key, which the
gateways (``Idempotency-Key``), webhook receivers (``webhook-id``) and mail readers
(``Message-ID``) use to accept it once. Each attempt is settled in its own
transaction: sent, retried later (``retries``), or parked as failed.

Its log names the notification, its template, channel and ticket, and why an attempt
failed in the channel's own words; never an address, a phone number or a URL, never a
param (a sign-in code among them), and never the text of an error nobody planned for
(only its kind and the line raising it). A sign-in code is claimed before whatever else
waits on its channel (``store.claim_due``); messages to staff carry the workbench's
address (``ZD_WORKBENCH_URL``) in their params as ``workbench_url``, and a reporter's the
link to their concern's own page (``ZD_REPORTER_LINK`` with the page token their contact
holds as the message is sent) as ``link``, none once the contact is anonymised.
"""
import logging
import time
from collections import Counter

import eventlet
from eventlet.greenpool import GreenPool

from services.common import metrics
from services.common.db import make_pool
from services.common.local_directory import current_directory
from services.common.loops import STOP_SECONDS, ListeningLoop
from services.common.tracebacks import raised_where
from services.notify import channels as channel_kinds
from services.notify import domain, messages, retries, store

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
BACKLOG_SECONDS = 5
LEASE_MARGIN_SECONDS = 10
#: destinations one channel sends to at once: the webhook departments (the SMTP server
#: and a gateway are one destination each); each has ZD_NOTIFY_CONCURRENCY senders
BUSY_DESTINATIONS = 16
DEFAULT_WORKBENCH_URL = "http://127.0.0.1:8002/workbench/"
DEFAULT_REPORTER_LINK = "http://127.0.0.1:8001/c/{token}"


class Courier(ListeningLoop):
    poll_seconds = POLL_SECONDS
    notify_channel = store.NOTIFY_CHANNEL
    workbench_url = DEFAULT_WORKBENCH_URL  # ZD_WORKBENCH_URL
    reporter_link = DEFAULT_REPORTER_LINK  # ZD_REPORTER_LINK

    def setup(self):
        config = self.container.config
        # urllib3 logs each request line at DEBUG, query included: a gateway's token
        logging.getLogger("urllib3.connectionpool").setLevel(logging.INFO)
        self.channels = channel_kinds.configured(config)
        for name in sorted(set(channel_kinds.CHANNELS) - set(self.channels)):
            log.warning("the %s channel is not configured: its notifications are skipped", name)
        self.concurrency = int(config.get("ZD_NOTIFY_CONCURRENCY", 4))
        timeout = float(config.get("ZD_NOTIFY_TIMEOUT_SECONDS", 10))
        self.deadline_seconds = timeout
        self.lease_seconds = 2 * timeout + LEASE_MARGIN_SECONDS  # outlasts any call
        self.max_attempts = int(config.get("ZD_NOTIFY_MAX_ATTEMPTS", 10))
        self.retry_seconds = float(config.get("ZD_NOTIFY_RETRY_SECONDS", 2))
        self.ticket_link = config.get("ZD_TICKET_LINK")
        self.workbench_url = config.get("ZD_WORKBENCH_URL") or DEFAULT_WORKBENCH_URL
        self.reporter_link = config.get("ZD_REPORTER_LINK") or DEFAULT_REPORTER_LINK
        # claims and settlements are short: a few connections serve every sender
        self.pool = make_pool(config["ZD_DATABASE_URL"], "notify", size=2 + len(self.channels))
        self.senders = {name: GreenPool(self.concurrency * BUSY_DESTINATIONS)
                        for name in self.channels}
        self.busy = Counter()  # (channel, destination): sends under way
        self.next_backlog_check = 0.0

    @property
    def channel_names(self):
        return frozenset(self.channels)

    def run_round(self):
        self._claim_and_send()
        self._observe_backlog()
        for channel in self.channels.values():
            channel.close_idle()

    def closing(self):
        """Let deliveries under way finish (up to STOP_SECONDS) before the pool closes, then
        close the channels' kept connections."""
        with eventlet.Timeout(STOP_SECONDS, False):
            for senders in self.senders.values():
                senders.waitall()
        for channel in self.channels.values():
            channel.close()

    def _claim_and_send(self):
        for name, channel in self.channels.items():
            senders = self.senders[name]
            # a gateway's or the SMTP server's notifications all go to one destination,
            # named after its channel: when it is busy there is nothing to claim
            if not senders.free() or self.busy[(name, name)] >= self.concurrency:
                continue
            busy = {destination: count for (of, destination), count in self.busy.items()
                    if of == name}
            with self.pool.connection() as conn:
                claimed = store.claim_due(conn, name, senders.free(), self.lease_seconds,
                                          self.concurrency, busy)
                directory = current_directory(conn) if claimed and name == "webhook" else None
            for row in claimed:
                self.busy[(name, row["destination"])] += 1
                senders.spawn_n(self._deliver, channel, row, directory)

    def _deliver(self, channel, row, directory):
        started = time.monotonic()
        try:
            self._send_in_time(channel, self._outgoing(row, directory))
        except channel_kinds.DeliveryFailed as failure:
            self._failed(row, failure, time.monotonic() - started)
        except Exception as exc:  # a defect: park it with the reason rather than retry forever
            log.error("delivery of notification %s failed unexpectedly: %s", row["id"],
                      raised_where(exc))
            self._failed(row, channel_kinds.Refused(f"unexpected error: {type(exc).__name__}"),
                         time.monotonic() - started)
        else:
            self._settle(row, "sent", seconds=time.monotonic() - started)
        finally:
            self._free_sender(row)
            self.wake()  # a sender is free: claim the next one now

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

    def _free_sender(self, row):
        key = (row["channel"], row["destination"])
        self.busy[key] -= 1
        if self.busy[key] <= 0:
            del self.busy[key]

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

    def _settle(self, row, outcome, detail=None, seconds=None, retry_in=None):
        for delay in (0.5, 1, 2, 4, 8, None):  # the database may be briefly away
            try:
                with self.pool.connection() as conn:
                    settled = store.settle(conn, row["id"], row["attempts"], outcome, detail,
                                           seconds, retry_in)
                break
            except Exception as exc:
                if delay is None or not self.running:
                    log.error("could not record notification %s (%s); its lease will expire and"
                              " it will be sent again under the same key", row["id"],
                              raised_where(exc))
                    return
                eventlet.sleep(delay)
        if settled:
            self._count(row, outcome)

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
        with self.pool.connection() as conn:
            backlog = store.backlog(conn)
        metrics.NOTIFICATIONS_PENDING.set(backlog["pending"])
        metrics.NOTIFICATIONS_OLDEST_PENDING.set(backlog["oldest_seconds"])
