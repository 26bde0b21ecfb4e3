"""What a service process already knows of its broker and its database, kept by the parts
that use them, so that ``/health`` and ``/health/ready`` answer without opening anything
(``services.common.observability``).

``BrokerLink``: the state of one connection the process holds to the broker (the queue
consumer's): connected since when, or lost since when and why. It is told by the
connection's owner when it connects and when it fails.

``DatabaseEvidence``: when the process's own work last reached its database and when it
last could not: every transaction of a worker (``services.common.db.Transactions``) and
every round of a loop that reached the database (the outbox relays, notify's courier, each
a round a second at least) tells it; so does the look ``Liveness`` takes, through the pool
and bounded, whenever the process has been quiet. Only a failed connection is evidence of
the database down, never a wait for a busy pool (``services.common.db.is_database_down``).
Evidence older than the caller's ``fresh_seconds`` says nothing. One ``DatabaseEvidence`` per service
container (``database_evidence``), shared by the pools of that process.
"""
import time


class BrokerLink:
    """One held broker connection: ``connected()`` when it is (again), ``lost(failure)``
    when it fails or cannot be made."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.connected_since = None
        self.lost_since = None
        self.failure = None  # the kind of the last failure, never its text (it names a host)

    def connected(self):
        if self.connected_since is None:
            self.connected_since = self.clock()
        self.lost_since = self.failure = None

    def lost(self, failure):
        if self.lost_since is None:
            self.lost_since = self.clock()
        self.connected_since = None
        self.failure = type(failure).__name__

    def state(self):
        """``("ok", None)`` or ``("down", why)``."""
        if self.connected_since is not None:
            return "ok", None
        if self.lost_since is None:
            return "down", "not connected to the broker yet"
        return "down", (f"the broker has been unreachable for"
                        f" {self.clock() - self.lost_since:.0f}s ({self.failure})")


class DatabaseEvidence:
    """When the process last reached its database (``reached()``) and when it last could
    not (``missed(failure)``)."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.reached_at = None
        self.missed_at = None
        self.missing_since = None  # the first miss since the database was last reached
        self.failure = None

    def reached(self):
        self.reached_at = self.clock()
        self.missing_since = None

    def missed(self, failure):
        self.missed_at = self.clock()
        if self.missing_since is None:
            self.missing_since = self.missed_at
        self.failure = type(failure).__name__

    def age(self):
        """Seconds since the newest evidence; None when there is none."""
        heard = [moment for moment in (self.reached_at, self.missed_at) if moment is not None]
        return self.clock() - max(heard) if heard else None

    def state(self, fresh_seconds):
        """``("ok", None)``, ``("down", why)``, or ``(None, None)`` when nothing was heard
        of the database for ``fresh_seconds``: the newest evidence decides."""
        age = self.age()
        if age is None or age > fresh_seconds:
            return None, None
        if self.missed_at is not None and (self.reached_at is None or self.missed_at > self.reached_at):
            return "down", (f"the database has been unreachable for"
                            f" {self.clock() - self.missing_since:.0f}s ({self.failure})")
        return "ok", None


def database_evidence(container):
    """The ``DatabaseEvidence`` of a service container (made on first use, kept on it:
    extensions hold their container by a weak proxy, which cannot key a weak mapping)."""
    evidence = getattr(container, "zd_database_evidence", None)
    if evidence is None:
        evidence = container.zd_database_evidence = DatabaseEvidence()
    return evidence
