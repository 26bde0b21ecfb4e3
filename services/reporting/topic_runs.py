"""The ``TopicRuns`` dependency: hot topics computed while the service keeps answering.

Grouping a window's tickets (``topics.hot_topics``) is seconds of CPU for tens of
thousands of long texts. On the eventlet hub it would stop all else the process does
(the consumer, ``/health``, every other report) until it ends, so it runs in an OS
thread (``eventlet.tpool``): the interpreter lock still passes to the hub every few
milliseconds (``sys.getswitchinterval``), enough for it to answer. Cooperative yields
inside the grouping would keep it pure only with a callback in every loop, and would
still give the hub nothing while one step runs.

One run at a time (two would only share the CPU); a question asked while the same is
under way waits for its answer, and an answer is kept ``KEPT_SECONDS`` for dashboards
refreshing together. At most ``WAITING`` questions are in hand at once, beyond which
the answer is 503 with ``Retry-After``: waiting reports must never hold all of the
service's workers, which ``/health`` and the consumer need too.
"""
import sys
import time

from eventlet import tpool
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

from services.common.errors import Unavailable

KEPT_SECONDS = 15  # a dashboard's figures may be this old; no refresh pays for the same run twice
WAITING = 4  # of the service's 16 workers, the consumer takes 4: most stay free
RETRY_SECONDS = 5
#: how long the hub may wait for the interpreter while a run holds it (Python's default: 5 ms);
#: each answer of /health waits for it a few times
SWITCH_SECONDS = 0.001


class TopicRuns(DependencyProvider):
    def setup(self):
        sys.setswitchinterval(SWITCH_SECONDS)
        self.turn = Semaphore(1)
        self.kept = {}  # question → (when it was answered, the answer)
        self.in_hand = 0

    def get_dependency(self, worker_ctx):
        return self

    def answer(self, question, read, group, clock=time.monotonic):
        """The answer to ``question`` (hashable): ``group(read())``, ``read`` on the
        hub (the database's waits are green), ``group`` in an OS thread; or a kept
        answer less than ``KEPT_SECONDS`` old. Unavailable when ``WAITING`` are in hand."""
        kept = self._kept(question, clock)
        if kept is not None:
            return kept
        if self.in_hand >= WAITING:
            raise Unavailable("Hot topics are being computed for other questions; ask again shortly.",
                              retry_after=RETRY_SECONDS)
        self.in_hand += 1
        try:
            with self.turn:
                kept = self._kept(question, clock)  # answered while this one waited its turn
                if kept is not None:
                    return kept
                answer = tpool.execute(group, read())
                self.kept = {asked: (when, was) for asked, (when, was) in self.kept.items()
                             if clock() - when < KEPT_SECONDS}
                self.kept[question] = (clock(), answer)
                return answer
        finally:
            self.in_hand -= 1

    def _kept(self, question, clock):
        when, answer = self.kept.get(question, (None, None))
        return answer if when is not None and clock() - when < KEPT_SECONDS else None
