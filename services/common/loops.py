"""A nameko dependency that runs one loop in a managed green thread, woken by a
PostgreSQL ``NOTIFY`` channel (or every ``poll_seconds``), and that outlives any outage.

Subclasses open ``self.pool`` in ``setup``, name ``notify_channel`` and do one round of work
in ``run_round``; ``closing`` releases what they hold once the loop has stopped. Used
by the outbox relay (``services.common.outbox_relay``) and notify's courier.

Each finished round (or a subclass's ``beat()`` within a long one) is progress;
``/health`` calls a loop stalled when it has made none for ``ZD_STALL_SECONDS``. A failed
round is logged by the error's kind and frames, never its text (it may quote a row).
Each round that reached the database (``run_round`` returns False for one that did not,
such as a relay's while the broker blocks it), and each LISTEN, tells the process's
``DatabaseEvidence`` the database was reached, and a failure of a connection that it was
not (``services.common.held_state``): a loop runs a round a second at least, so
``/health`` knows of its database without asking.
"""
import logging
import time

import eventlet
from nameko.extensions import DependencyProvider

from services.common.db import UNAVAILABLE, is_database_down
from services.common.held_state import DatabaseEvidence, database_evidence
from services.common.tracebacks import traceback_without_text

log = logging.getLogger(__name__)

WAKE_SECONDS = 0.1
STOP_SECONDS = 10


class ListeningLoop(DependencyProvider):
    poll_seconds = 1.0
    pool = None
    running = False
    thread = None
    woken = False

    @property
    def notify_channel(self):
        raise NotImplementedError

    def run_round(self):
        """One round of work; False when it did not reach the database."""
        raise NotImplementedError

    last_progress = None

    def beat(self):
        """The loop made progress (a round or a batch finished)."""
        self.last_progress = time.monotonic()

    def liveness(self, stall_seconds):
        """``(state, reason)``: ``("ok", None)``, or ``("stalled", why)``."""
        if not self.running:
            return "stalled", "not running"
        idle = time.monotonic() - (self.last_progress or 0.0)
        if idle > stall_seconds:
            return "stalled", f"no round finished for {idle:.0f}s"
        return "ok", None

    def wake(self):
        """Start the next round at once (within ``WAKE_SECONDS``), without a notification."""
        self.woken = True

    def on_failure(self):
        """After a round failed (the database or broker went away): reset what must be."""

    def closing(self):
        """After the loop stopped, before the pool closes."""

    evidence = DatabaseEvidence()  # the container's own, from ``start``

    def start(self):
        self.evidence = database_evidence(self.container)
        self.running = True
        self.beat()  # the first round is due now
        self.pool.open(wait=False)
        self.thread = self.container.spawn_managed_thread(self._run)

    def stop(self):
        """Let the loop finish its round (it checks ``running`` often), then close."""
        self.running = False
        thread, self.thread = self.thread, None
        if thread is not None:
            with eventlet.Timeout(STOP_SECONDS, False):
                thread.wait()
            thread.kill()
        self.closing()
        if self.pool is not None:
            self.pool.close()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self

    def _run(self):
        while self.running:
            try:
                self._listen()
            except Exception as failure:  # the loop must outlive any outage of broker or database
                if isinstance(failure, UNAVAILABLE) and is_database_down(failure):
                    self.evidence.missed(failure)
                if self.running:  # the error's text may quote a row it held: kind and frames only
                    log.error("%s failed; retrying\n%s", type(self).__name__,
                              traceback_without_text(failure))
                    self.on_failure()
                    eventlet.sleep(self.poll_seconds)

    def _listen(self):
        with self.pool.connection() as listener:
            listener.autocommit = True
            listener.execute(f"LISTEN {self.notify_channel}")
            self.evidence.reached()
            while self.running:
                if self.run_round() is not False:
                    self.evidence.reached()
                self.beat()
                self._wait_for_notification(listener)

    def _wait_for_notification(self, listener):
        """Up to ``poll_seconds``, in short steps so that ``stop`` is noticed at once."""
        waited = 0.0
        while self.running and waited < self.poll_seconds and not self.woken:
            if any(True for _ in listener.notifies(timeout=WAKE_SECONDS, stop_after=1)):
                break
            waited += WAKE_SECONDS
        self.woken = False
