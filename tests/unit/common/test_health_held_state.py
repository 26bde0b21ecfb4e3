"""Unit tests of readiness and health answered from held state
(``services.common.observability``, ``services.common.held_state``): what each service's
readiness needs, what a held broker connection and the database's evidence say as time
passes, and the report built from them, with a clock the test moves."""
from types import SimpleNamespace

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from services.common import db, metrics, observability, outbox_relay
from services.common.db import DatabaseSilent
from services.common.errors import Unavailable
from services.common.held_state import BrokerLink, DatabaseEvidence
from services.common.observability import READY_NEEDS, health_report, readiness_report
from services.common.outbox_relay import OutboxRelay

SERVICES = ("intake", "routing", "notify", "reporting")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def broker_never_asked():
    raise AssertionError("readiness asked the broker")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_is_ready_with_its_database_whatever_the_broker(service):
    status, body = readiness_report(service, {"database": lambda: ("ok", None),
                                              "broker": broker_never_asked})
    assert (status, body) == (200, {"status": "ready", "service": service,
                                    "checks": {"database": "ok"}})


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_is_not_ready_without_its_database(service):
    status, body = readiness_report(service, {
        "database": lambda: ("down", "the database has been unreachable for 4s (PoolTimeout)"),
        "broker": broker_never_asked})
    assert status == 503
    assert body == {"status": "unavailable", "service": service, "checks": {"database": "down"},
                    "reasons": {"database": "the database has been unreachable for 4s (PoolTimeout)"}}


def test_no_service_needs_the_broker_to_serve_http():
    assert set(READY_NEEDS) == set(SERVICES)
    assert all(needs == ("database",) for needs in READY_NEEDS.values())


def test_a_broker_link_says_since_when_it_is_lost_and_forgets_it_once_connected():
    clock = Clock()
    link = BrokerLink(clock)
    assert link.state() == ("down", "not connected to the broker yet")
    link.connected()
    assert link.state() == ("ok", None)
    link.lost(ConnectionResetError("reset by 10.0.0.7:5672"))
    clock.now += 7
    link.lost(ConnectionRefusedError("refused by 10.0.0.7:5672"))  # each retry: the first loss stays
    clock.now += 5
    assert link.state() == ("down", "the broker has been unreachable for 12s (ConnectionRefusedError)")
    link.connected()
    assert link.state() == ("ok", None)


def test_the_newest_evidence_of_the_database_decides_and_old_evidence_says_nothing():
    clock = Clock()
    evidence = DatabaseEvidence(clock)
    assert evidence.state(fresh_seconds=10) == (None, None)
    evidence.reached()
    assert evidence.state(fresh_seconds=10) == ("ok", None)
    clock.now += 1
    evidence.missed(OSError("server closed the connection"))
    clock.now += 2
    evidence.missed(TimeoutError("pool"))
    clock.now += 1
    assert evidence.state(fresh_seconds=10) == (
        "down", "the database has been unreachable for 3s (TimeoutError)")
    evidence.reached()
    assert evidence.state(fresh_seconds=10) == ("ok", None)
    clock.now += 10.5
    assert evidence.state(fresh_seconds=10) == (None, None)


class Held:
    """What ``health_report`` reads of ``Liveness``, as given."""

    def __init__(self, database=("ok", None), broker=("ok", None), parts=None):
        self._database, self._broker, self.parts = database, broker, parts or {}
        self.directory_reads = 0

    def database(self, db, look=True):
        return self._database

    def broker(self):
        return self._broker

    def report(self):
        return self.parts

    def directory(self):
        self.directory_reads += 1
        return "v7"


def up(dependency):
    return metrics.UP.labels("intake", dependency)._value.get()


def test_health_is_503_with_the_broker_reason_and_zd_up_0_while_the_database_is_well():
    held = Held(broker=("down", "the broker has been unreachable for 9s (ConnectionRefusedError)"),
                parts={"consumer": ("ok", None), "outbox": ("blocked", "the broker blocks")})
    status, body = health_report("intake", db=None, held=held)
    assert status == 503
    assert body == {"status": "unavailable", "service": "intake", "directory_version": "v7",
                    "checks": {"database": "ok", "broker": "down", "consumer": "ok",
                               "outbox": "blocked"},
                    "reasons": {"broker": "the broker has been unreachable for 9s"
                                          " (ConnectionRefusedError)"},
                    "notes": {"outbox": "the broker blocks"}}
    assert (up("database"), up("broker"), up("consumer"), up("outbox")) == (1.0, 0.0, 1.0, 1.0)


def test_health_does_not_read_the_directory_while_the_database_is_down():
    held = Held(database=("down", "the database has been unreachable for 2s (OperationalError)"))
    status, body = health_report("intake", db=None, held=held)
    assert status == 503 and body["directory_version"] is None and held.directory_reads == 0
    assert body["checks"]["database"] == "down" and up("database") == 0.0


class Consumer:
    def __init__(self, link):
        self.broker_link = link


def liveness_with(consumers=(), evidence=None, amqp_uri="amqp://127.0.0.1:1/"):
    liveness = observability.Liveness()
    liveness.container = SimpleNamespace(subextensions=list(consumers), dependencies=[],
                                         config={"AMQP_URI": amqp_uri},
                                         zd_database_evidence=evidence or DatabaseEvidence())
    liveness.setup()
    return liveness


def test_the_broker_is_the_consumers_connection(monkeypatch):
    monkeypatch.setattr(observability.Liveness, "_consumers", lambda self: self.container.subextensions)
    monkeypatch.setattr(observability, "check_broker", broker_never_asked)
    link = BrokerLink()
    liveness = liveness_with([Consumer(link)])
    assert liveness.broker() == ("down", "not connected to the broker yet")
    link.connected()
    assert liveness.broker() == ("ok", None)


def test_without_a_held_connection_the_broker_is_checked_at_most_every_few_seconds(monkeypatch):
    checks = []
    monkeypatch.setattr(observability, "check_broker", checks.append)
    liveness = liveness_with()
    assert [liveness.broker() for _ in range(5)] == [("ok", None)] * 5
    assert checks == ["amqp://127.0.0.1:1/"]


class Transactions:
    """A stand-in for ``db.Transactions`` that counts its transactions."""

    def __init__(self, evidence):
        self.evidence, self.count = evidence, 0

    def transaction(self, within=None):
        self.count += 1
        self.evidence.reached()
        return self

    def __enter__(self):
        return SimpleNamespace(execute=lambda *args: SimpleNamespace(fetchone=lambda: {"version": "v3"}))

    def __exit__(self, *exc_info):
        return False


def test_the_database_is_asked_only_when_no_fresh_evidence_is_held():
    evidence = DatabaseEvidence()
    db = Transactions(evidence)
    liveness = liveness_with(evidence=evidence)
    assert liveness.database(db) == ("ok", None) and db.count == 1  # no evidence yet: asked
    assert [liveness.database(db) for _ in range(10)] == [("ok", None)] * 10
    assert db.count == 1
    assert liveness.directory() == "v3" and db.count == 1  # read with that first look


def test_metrics_never_ask_the_database_and_say_it_down_once_the_evidence_is_stale():
    clock = Clock()
    evidence = DatabaseEvidence(clock)
    db = Transactions(evidence)
    liveness = liveness_with(evidence=evidence)
    assert liveness.database(db, look=False) == ("down", "not reached yet")
    evidence.reached()
    clock.now += observability.STALE_SECONDS - 1
    assert liveness.database(db, look=False) == ("ok", None)
    clock.now += 2
    assert liveness.database(db, look=False) == (
        "down", f"no evidence of the database for {observability.STALE_SECONDS + 1}s")
    assert db.count == 0
    assert observability.STALE_SECONDS == 30


class NoDatabase:
    """A ``db`` whose every use fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the database was used ({name})")


def test_the_metrics_endpoint_makes_no_database_call(monkeypatch):
    monkeypatch.setattr(observability.Liveness, "_consumers", lambda self: [])
    monkeypatch.setattr(observability, "check_broker", lambda uri: None)
    monkeypatch.setattr(observability, "_database_of", lambda container: NoDatabase())
    evidence = DatabaseEvidence()
    evidence.reached()
    calendar = observability.CalendarWatch()
    calendar.container = SimpleNamespace(service_name="routing")
    calendar.setup()
    assert calendar.watching  # routing counts deadlines: its calendar is watched
    service = SimpleNamespace(name="routing", db=NoDatabase(), calendar_watch=calendar,
                              liveness=liveness_with(evidence=evidence))
    answer = observability.Observable.metrics(service, request=None)
    assert answer.status_code == 200
    assert metrics.UP.labels("routing", "database")._value.get() == 1.0


class Pool:
    """A pool whose ``connection()`` raises ``failure``."""

    def __init__(self, failure):
        self.failure = failure

    def connection(self, timeout=None):
        raise self.failure


@pytest.mark.parametrize("failure, evidence_of_down", [
    (PoolTimeout("couldn't get a connection after 3.00 sec"), False),
    (psycopg.OperationalError("server closed the connection unexpectedly"), True),
    (DatabaseSilent("no answer in time"), True)])
def test_only_a_failed_connection_is_evidence_of_the_database_down(failure, evidence_of_down):
    """A busy pool (every connection lent) is saturation, shown by zd_db_pool_*: readiness
    must not pull the busiest pods for it."""
    clock = Clock()
    evidence = DatabaseEvidence(clock)
    evidence.reached()
    clock.now += 1
    with pytest.raises(Unavailable):
        with db.Transactions(Pool(failure), evidence=evidence).transaction():
            pass
    if evidence_of_down:
        assert evidence.state(fresh_seconds=10) == (
            "down", f"the database has been unreachable for 0s ({type(failure).__name__})")
    else:
        assert evidence.state(fresh_seconds=10) == ("ok", None) and evidence.missed_at is None


class Listener:
    """The relay's LISTEN connection: it executes and waits for notifications."""

    def __init__(self):
        self.autocommit = False

    def execute(self, sql):
        pass

    def notifies(self, timeout, stop_after):
        return iter(())

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class BlockedPublisher:
    """The relay's publisher while the broker blocks publishing."""
    blocked = "low on disk"

    def keep_alive(self):
        pass


def test_a_relay_round_the_broker_blocks_leaves_no_evidence_of_the_database(monkeypatch):
    clock = Clock()
    evidence = DatabaseEvidence(clock)
    relay = OutboxRelay("intake")
    relay.publisher, relay.evidence, relay.running = BlockedPublisher(), evidence, True
    relay.next_housekeeping = relay.next_backlog_check = float("inf")
    relay.poll_seconds = 0
    listener = Listener()
    relay.pool = SimpleNamespace(connection=lambda: listener)
    rounds = []

    def relay_pending(*args):
        raise AssertionError("the outbox was read while the broker blocks")

    def wait(conn):
        rounds.append(clock.now)
        clock.now += 5
        relay.running = len(rounds) < 3

    monkeypatch.setattr(outbox_relay, "relay_pending", relay_pending)
    monkeypatch.setattr(relay, "_wait_for_notification", wait)
    relay._listen()
    assert rounds == [1000.0, 1005.0, 1010.0]
    assert evidence.reached_at == 1000.0  # the LISTEN only: no round read the outbox
    assert evidence.state(fresh_seconds=10) == (None, None)


class BusyPool:
    """A ``db`` whose pool lends no connection in time."""
    pool = "the pool"

    def transaction(self, within=None):
        try:
            raise PoolTimeout("couldn't get a connection after 2.00 sec")
        except PoolTimeout as exc:
            raise Unavailable("The database is unreachable.") from exc


def test_a_pool_that_lends_nothing_is_told_from_a_database_down_by_one_connection(monkeypatch):
    """Nothing reached the database for a while and the pool lends nothing: one connection
    of the process's own tells a busy pool (the database answers) from a database down."""
    evidence = DatabaseEvidence()
    liveness = liveness_with(evidence=evidence)
    asked = []
    monkeypatch.setattr(observability, "_connect_once",
                        lambda pool, told: (asked.append(pool), told.reached()))
    assert liveness.database(BusyPool()) == ("ok", None) and asked == ["the pool"]
    monkeypatch.setattr(observability, "_connect_once",
                        lambda pool, told: told.missed(psycopg.OperationalError("refused")))
    evidence.reached_at = None  # nothing fresh again
    evidence.missed_at = None
    assert liveness.database(BusyPool()) == (
        "down", "the database has been unreachable for 0s (OperationalError)")
