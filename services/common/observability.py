"""``/health``, ``/health/ready``, ``/metrics`` and ``/openapi.json``, the same on every
service (docs/reference.md#common-to-every-service).

A service class inherits ``Observable`` and has a ``db`` (``Database``) dependency.

``/health`` is the detailed health, for people and alerts: 200 only when the database and
the broker are reachable, and the process's own consumers and loops (outbox relay,
notify's courier) are making progress; otherwise 503 with the reason of each failing
check. A relay the broker blocks (a resource alarm) is shown as ``blocked`` but keeps the
answer 200: the service still takes work into its outbox.

``/health/ready`` is readiness: whether this process can serve its HTTP work now
(``READY_NEEDS``: the database, never the broker, since every HTTP write goes into the
outbox). A Kubernetes readiness probe asks it, so a broker outage leaves every pod in its
Service, taking work.

Both answer from what the process already holds (``services.common.held_state``), never
from a connection of their own: the broker is the queue consumer's connection (connected,
or down since when and why), the database the evidence its transactions and loops leave
(a loop runs a round a second). ``Liveness``'s own green thread reads the directory
version every ``DIRECTORY_LOOK_SECONDS``, and as soon as the process has left no evidence
for ``QUIET_SECONDS`` (a relay the broker blocks reads nothing): through the pool, given
up after ``LOOK_TIMEOUT_SECONDS`` (a database gone silent: evidence of it down, the
connection closed; a pool that lends none in time, busy or unable to connect: one
connection of its own, as bounded, to tell which). Only when no evidence is fresher than
``FRESH_SECONDS`` (that thread is stuck) do ``/health`` and ``/health/ready`` look
themselves, as bounded. ``/metrics`` (the liveness probe's) never touches the database:
it works out the same report from the evidence alone, so ``zd_up`` is as fresh as the
last scrape, and says the database down once the newest evidence is older than
``STALE_SECONDS``.

A service that counts deadlines in working hours (``working_hours.COUNTED_BY``) also
says when they run into a year whose official holidays and make-up workdays nobody
gives (``CalendarWatch``, looking in its own green thread every
``CALENDAR_LOOK_SECONDS``): a warning in its log at start, ``zd_calendar_year_unknown``
and a ``calendar`` note in ``/health``, which stays 200: deadlines still run, on
weekdays and the directory's own holidays.
"""
import logging
import time
from datetime import date

import eventlet
import psycopg
from kombu import Connection
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from psycopg_pool import PoolTimeout
from werkzeug.wrappers import Response

from services.common import api_docs, metrics, working_hours
from services.common.config import amqp_ssl
from services.common.db import DatabaseSilent, Transactions
from services.common.errors import Problem, Unavailable
from services.common.held_state import database_evidence
from services.common.http import api, json_response
from services.common.local_directory import current_directory, directory_version

BROKER_TIMEOUT = 2
CALENDAR_LOOK_SECONDS = 10  # the calendar watch's thread looks this often (/health: its note)
#: the seconds a look at the database (directory version, calendar) has to be answered;
#: past them the database counts as down and the connection is closed, not pooled again
LOOK_TIMEOUT_SECONDS = 2
#: a process that left no evidence of its database for this long looks (its own thread)
QUIET_SECONDS = 3
WATCH_SECONDS = 1  # how often that thread wakes
#: evidence older than this says nothing to /health and /health/ready: they look (bounded)
FRESH_SECONDS = 10
#: /metrics, which never looks, says the database down once its newest evidence is older
#: than this (the watching thread leaves some every few seconds, even on a silent database)
STALE_SECONDS = 3 * FRESH_SECONDS
DIRECTORY_LOOK_SECONDS = 5  # the directory version /health shows is read this often
#: a process holding no broker connection (no queue consumer) checks with a fresh one at
#: most this often; each of the four services holds one
BROKER_LOOK_SECONDS = 15
log = logging.getLogger(__name__)

#: What each service's HTTP work needs, now: ``/health/ready`` answers 200 while these are
#: reachable. None needs the broker: every HTTP write puts its messages in the service's
#: outbox in the same transaction, and the relay publishes them once the broker is back.
READY_NEEDS = {
    # POST concerns (API, Open311, reporter page) store the concern and its outbox row: 202
    # while RabbitMQ is down, as the contract promises
    "intake": ("database",),
    # the workbench and the actions API read and change routing's own tables; dispatches
    # and ticket events wait in the outbox
    "routing": ("database",),
    # the notifications list and retry read and change notify's tables (the courier sends
    # without the broker)
    "notify": ("database",),
    # the reports read reporting's own read model: served while the broker is down, perhaps
    # behind (its consumer's state is /health's)
    "reporting": ("database",),
}


def check_broker(amqp_uri):
    with Connection(amqp_uri, connect_timeout=BROKER_TIMEOUT, ssl=amqp_ssl(amqp_uri)) as connection:
        # every broker of a ``;`` list once: kombu moves to the next at once after a failure
        connection.ensure_connection(max_retries=amqp_uri.count(";") + 1, timeout=BROKER_TIMEOUT)


class Liveness(DependencyProvider):
    """What the container's own connections, consumers and loops say of themselves, for
    ``/health`` and ``/health/ready``. Nothing here opens a connection: the database is
    asked through the pool, and only when no evidence of it is fresh; the broker only by a
    process that holds no connection to it (``broker``)."""

    def setup(self):
        self.directory_version = None
        self.directory_looked_at = None
        self.broker_looked_at = None
        self.broker_seen = ("down", "not checked yet")

    def start(self):
        self.container.spawn_managed_thread(self._watch_database)

    def _watch_database(self):
        """Every ``WATCH_SECONDS``: read the directory version when due, or at once when
        the process left no evidence of its database for ``QUIET_SECONDS`` (bounded)."""
        database = _database_of(self.container)
        if database is None:
            return
        evidence = database_evidence(self.container)
        while True:
            eventlet.sleep(WATCH_SECONDS)
            age, looked_at = evidence.age(), self.directory_looked_at
            if (age is None or age > QUIET_SECONDS or looked_at is None
                    or time.monotonic() - looked_at >= DIRECTORY_LOOK_SECONDS):
                try:
                    self._look(Transactions(database.pool, evidence=evidence), evidence)
                except Exception as exc:  # told to the evidence; the thread carries on
                    log.debug("database look failed: %s", type(exc).__name__)

    def get_dependency(self, worker_ctx):
        return self

    def report(self):
        """``{name: (state, reason)}``: ``consumer`` and each loop (``outbox``, ``courier``)."""
        from services.common.loops import ListeningLoop
        stall_seconds = float(self.container.config.get("ZD_STALL_SECONDS", 60))
        found = {}
        for consumer in self._consumers():
            found["consumer"] = consumer.liveness(stall_seconds)
        for dependency in self.container.dependencies:
            if isinstance(dependency, ListeningLoop):
                found[dependency.attr_name] = dependency.liveness(stall_seconds)
        return found

    def _consumers(self):
        from services.common.messaging import BoundedQueueConsumer
        return [extension for extension in self.container.subextensions
                if isinstance(extension, BoundedQueueConsumer)]

    def broker(self):
        """``(state, reason)`` of the broker: its queue consumer's connection; a process
        without one checks with a fresh connection, at most every ``BROKER_LOOK_SECONDS``."""
        links = [consumer.broker_link.state() for consumer in self._consumers()]
        if links:
            return next((link for link in links if link[0] != "ok"), ("ok", None))
        now = time.monotonic()
        if self.broker_looked_at is None or now - self.broker_looked_at >= BROKER_LOOK_SECONDS:
            self.broker_looked_at = now
            try:
                check_broker(self.container.config["AMQP_URI"])
                self.broker_seen = ("ok", None)
            except Exception as exc:  # a reason to report, not to crash
                self.broker_seen = ("down", _reason("broker", exc))
        return self.broker_seen

    def database(self, db, look=True):
        """``(state, reason)`` of the database: the evidence the process's transactions,
        loops and watching thread left; asked through the pool, bounded by
        ``LOOK_TIMEOUT_SECONDS``, only when none is fresher than ``FRESH_SECONDS``
        (``look=False``: never asked; down once the newest is older than ``STALE_SECONDS``)."""
        evidence = database_evidence(self.container)
        state, reason = evidence.state(FRESH_SECONDS if look else STALE_SECONDS)
        if state is None and not look:
            age = evidence.age()
            return "down", ("not reached yet" if age is None
                            else f"no evidence of the database for {age:.0f}s")
        if state is None:
            try:
                self._look(db, evidence)
                return "ok", None
            except Exception as exc:  # a reason to report, not to crash
                # what the look told the evidence: a silent database, or one that answers
                # a connection of the process's own while its pool is busy
                state, reason = evidence.state(FRESH_SECONDS)
                return (state, reason) if state is not None else ("down", _reason("database", exc))
        return state, reason

    def _look(self, db, evidence):
        """Read the directory version through the pool (bounded), telling ``evidence``. A
        pool that lends no connection in time is not evidence (it may only be busy): then
        a connection of its own, bounded as well, tells whether the database answers."""
        try:
            self._read_directory_version(db)
        except Unavailable as exc:
            if isinstance(exc.__cause__, PoolTimeout):
                _connect_once(db.pool, evidence)
            raise

    def directory(self):
        """The directory version in the service's database, as last read (every
        ``DIRECTORY_LOOK_SECONDS``); None when none is loaded or it could not be read."""
        return self.directory_version

    def _read_directory_version(self, db):
        # tells the process's evidence either way; a silent database: DatabaseSilent
        with db.transaction(within=LOOK_TIMEOUT_SECONDS) as conn:
            self.directory_version = directory_version(conn)
        self.directory_looked_at = time.monotonic()


def _connect_once(pool, evidence):
    """Open and close one connection with ``pool``'s settings, within
    ``LOOK_TIMEOUT_SECONDS``; ``evidence`` is told whether the database answered."""
    silent = DatabaseSilent("no answer in time")
    try:
        with eventlet.Timeout(LOOK_TIMEOUT_SECONDS, silent):
            settings = {name: value for name, value in pool.kwargs.items() if name != "row_factory"}
            psycopg.connect(pool.conninfo, **{**settings,
                                              "connect_timeout": LOOK_TIMEOUT_SECONDS}).close()
    except psycopg.OperationalError as exc:
        evidence.missed(exc)
    else:
        evidence.reached()


def _database_of(container):
    """The container's ``db`` dependency (``Database``), or None."""
    return next((dependency for dependency in container.dependencies
                 if getattr(dependency, "attr_name", None) == "db"), None)


def today():
    """The day the calendar's years are checked on (tests give another)."""
    return date.today()


class CalendarWatch(DependencyProvider):
    """Whether the service's deadlines run into a year whose official days nobody gives
    (``working_hours.unknown_official_years``, for the current and the coming year):
    logged once at start and again whenever that changes, set in the gauge
    ``zd_calendar_year_unknown{service, district, year}`` (back to 0 once known, so
    that its alert clears), and the note ``look`` gives ``/health``."""

    def setup(self):
        self.service = self.container.service_name
        self.watching = self.service in working_hours.COUNTED_BY
        self.shown = set()  # the (district, year) labels set to 1
        self.logged = {}
        self.looked_at = None

    def start(self):
        if self.watching:
            self.container.spawn_managed_thread(self._keep_looking)

    def get_dependency(self, worker_ctx):
        return self

    def _keep_looking(self):
        """At start, then every ``CALENDAR_LOOK_SECONDS``: neither ``/health`` nor
        ``/metrics`` reads the database for it."""
        database = _database_of(self.container)
        while database is not None:
            try:
                self.look(Transactions(database.pool))
            except Exception as exc:  # the database may not be there yet: looked at again
                log.info("calendar not checked: %s", type(exc).__name__)
            eventlet.sleep(CALENDAR_LOOK_SECONDS)

    def note(self):
        """The note of the last look for ``/health`` (None: every year needed is known)."""
        return unknown_years_note(self.logged) if self.watching else None

    def look(self, db):
        """The note for ``/health`` (None: every year needed is known), with the gauge
        and the log brought up to date. Raises what the database raises."""
        if not self.watching:
            return None
        try:
            with db.transaction(within=LOOK_TIMEOUT_SECONDS) as conn:
                directory = current_directory(conn)
        except Unavailable:
            return None  # no directory yet: no district counts deadlines
        unknown = working_hours.unknown_official_years(directory, today())
        self.looked_at = time.monotonic()
        labels = {(district, str(year)) for district, years in unknown.items() for year in years}
        for district, year in self.shown | labels:
            metrics.CALENDAR_YEAR_UNKNOWN.labels(self.service, district, year).set(
                1 if (district, year) in labels else 0)
        self.shown = labels
        note = unknown_years_note(unknown)
        if unknown != self.logged:
            self.logged = unknown  # before logging, which may let another look run
            if unknown:
                log.warning("%s", note)
            else:
                log.info("the official calendar of every year deadlines need is known again")
        return note


def unknown_years_note(unknown):
    """What ``/health`` and the log say of ``{district: [years]}`` (None when empty)."""
    if not unknown:
        return None
    by_years = {}
    for district, years in sorted(unknown.items()):
        by_years.setdefault(tuple(years), []).append(district)
    parts = [f"{' and '.join(map(str, years))} for {', '.join(districts)}"
             for years, districts in sorted(by_years.items())]
    return ("China's official holidays and make-up workdays are in neither chinese-calendar"
            " nor the directory: " + "; ".join(parts) + ". Deadlines in those years count"
            " weekdays and the directory's own holidays only. Give each year's official days"
            " in the directory's calendar (holidays, extra_workdays) or upgrade"
            " chinese-calendar: see deploy/README.md.")


def health_report(service, db, held, calendar=None, look=True):
    """``(status, body)`` of ``/health`` from ``held`` (``Liveness``); sets ``zd_up``.
    ``look=False`` (``/metrics``, the liveness probe's): nothing is read from the database,
    whose silent hang must never hold that answer. Otherwise the database is looked at
    only when no evidence of it is fresh, and then bounded (``Liveness.database``)."""
    checks, problems, notes, directory = {}, {}, {}, None
    parts = held.report()
    for name, (state, reason) in [("database", held.database(db, look=look)),
                                  ("broker", held.broker()), *sorted(parts.items())]:
        checks[name] = state
        if state == "blocked":
            notes[name] = reason
        elif state != "ok":
            problems[name] = reason
            if look:  # a scrape's every 15 s would repeat what the parts log themselves
                log.warning("health check: %s %s: %s", name, state, reason)
        metrics.UP.labels(service, name).set(1 if state in ("ok", "blocked") else 0)
    if checks["database"] == "ok" and look:
        directory = held.directory()
        note = calendar.note() if calendar is not None else None
        if note:
            notes["calendar"] = note
    body = {"status": "ok" if not problems else "unavailable", "service": service,
            "checks": checks, "directory_version": directory}
    if problems:
        body["reasons"] = problems
    if notes:
        body["notes"] = notes
    return (200 if not problems else 503), body


def readiness_report(service, states):
    """``(status, body)`` of ``/health/ready``: whether ``service`` can serve its HTTP work
    now. ``states``: ``{dependency: () -> (state, reason)}``; only those the service's HTTP
    work needs (``READY_NEEDS``) are asked."""
    checks, reasons = {}, {}
    for name in READY_NEEDS[service]:
        checks[name], reason = states[name]()
        if checks[name] != "ok":
            reasons[name] = reason
    body = {"status": "ready" if not reasons else "unavailable", "service": service,
            "checks": checks}
    if reasons:
        body["reasons"] = reasons
    return (200 if not reasons else 503), body


def _reason(dependency, exc):
    """Why a check failed, without a host, port or query (those go to the log)."""
    log.warning("health check: %s down: %s", dependency, exc)
    if isinstance(exc, Problem):
        return exc.detail
    return f"the {dependency} is unreachable ({type(exc).__name__})"


class Observable:
    """The operator's endpoints of every service (through ``services.common.service``)."""
    config = Config()
    liveness = Liveness()
    calendar_watch = CalendarWatch()
    openapi_document = {}

    @api("GET", "/health")
    def health(self, request):
        status, body = health_report(self.name, self.db, self.liveness, self.calendar_watch)
        return json_response(status, body)

    @api("GET", "/health/ready")
    def ready(self, request):
        status, body = readiness_report(self.name, {
            "database": lambda: self.liveness.database(self.db), "broker": self.liveness.broker})
        return json_response(status, body)

    @api("GET", "/openapi.json")
    def openapi(self, request):
        return json_response(200, self.openapi_document)

    @api("GET", "/docs")
    def reference_page(self, request):
        return api_docs.page(self.openapi_document.get("info", {}).get("title", self.name))

    @api("GET", api_docs.SCRIPT_PATH)
    def reference_script(self, request):
        return api_docs.script()

    @api("GET", "/metrics")
    def metrics(self, request):
        # zd_up is current even where nobody asks /health; the calendar's gauge is kept by
        # its own thread: nothing here touches the database
        health_report(self.name, self.db, self.liveness, look=False)
        payload, content_type = metrics.exposition()
        return Response(payload, content_type=content_type)
