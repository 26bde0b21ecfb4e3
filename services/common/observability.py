"""``/health``, ``/metrics`` and ``/openapi.json``, the same on every service
(docs/reference.md#common-to-every-service).

A service class inherits ``Observable`` and has a ``db`` (``Database``) dependency.
Health is 200 only when both the database and the broker answer, and the process's
own consumers and loops (outbox relay, notify's courier) are making progress: a fresh
connection alone would not see a consumer that lost its queues or a relay stuck on a
message. Otherwise 503 with the reason of each failing check. A relay the broker
blocks (a resource alarm) is shown as ``blocked`` but keeps the answer 200: the
service still takes work into its outbox.

A service that counts deadlines in working hours (``working_hours.COUNTED_BY``) also
says when they run into a year whose official holidays and make-up workdays nobody
gives (``CalendarWatch``): a warning in its log at start, ``zd_calendar_year_unknown``
and a ``calendar`` note in ``/health``, which stays 200: deadlines still run, on
weekdays and the directory's own holidays.
"""
import logging
import time
from datetime import date

from kombu import Connection
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.common import api_docs, metrics, working_hours
from services.common.config import amqp_ssl
from services.common.db import Transactions
from services.common.errors import Problem, Unavailable
from services.common.http import api, json_response
from services.common.local_directory import current_directory, directory_version

BROKER_TIMEOUT = 2
CALENDAR_LOOK_SECONDS = 60  # /metrics looks at the calendar again at most this often
log = logging.getLogger(__name__)


def check_database(db):
    with db.transaction() as conn:
        return directory_version(conn)


def check_broker(amqp_uri):
    with Connection(amqp_uri, connect_timeout=BROKER_TIMEOUT, ssl=amqp_ssl(amqp_uri)) as connection:
        # every broker of a ``;`` list once: kombu moves to the next at once after a failure
        connection.ensure_connection(max_retries=amqp_uri.count(";") + 1, timeout=BROKER_TIMEOUT)


class Liveness(DependencyProvider):
    """What the container's consumers and loops say of themselves, for ``/health``."""

    def get_dependency(self, worker_ctx):
        return self

    def report(self):
        """``{name: (state, reason)}``: ``consumer`` and each loop (``outbox``, ``courier``)."""
        from services.common.loops import ListeningLoop
        from services.common.messaging import BoundedQueueConsumer
        stall_seconds = float(self.container.config.get("ZD_STALL_SECONDS", 60))
        found = {}
        for extension in self.container.subextensions:
            if isinstance(extension, BoundedQueueConsumer):
                found["consumer"] = extension.liveness(stall_seconds)
        for dependency in self.container.dependencies:
            if isinstance(dependency, ListeningLoop):
                found[dependency.attr_name] = dependency.liveness(stall_seconds)
        return found


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
            self.container.spawn_managed_thread(self._look_at_start)

    def get_dependency(self, worker_ctx):
        return self

    def _look_at_start(self):
        try:
            database = next(dependency for dependency in self.container.dependencies
                            if dependency.attr_name == "db")
            self.look(Transactions(database.pool))
        except Exception as exc:  # the database may not be there yet: /health looks again
            log.info("calendar not checked at start: %s", type(exc).__name__)

    def look(self, db, every=None):
        """The note for ``/health`` (None: every year needed is known), with the gauge
        and the log brought up to date; ``every``: seconds within which a second look
        is skipped. Raises what the database raises."""
        if not self.watching or (every and self.looked_at and time.monotonic() - self.looked_at < every):
            return None
        try:
            with db.transaction() as conn:
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


def health_report(service, db, amqp_uri, liveness=None, calendar=None):
    checks, problems, directory = {}, {}, None
    for name, check in (("database", lambda: check_database(db)),
                        ("broker", lambda: check_broker(amqp_uri))):
        try:
            result = check()
            directory = result if name == "database" else directory
            checks[name] = "ok"
        except Exception as exc:  # every failure is a reason to report, not to crash
            checks[name] = "down"
            problems[name] = _reason(name, exc)
        metrics.UP.labels(service, name).set(1 if checks[name] == "ok" else 0)
    notes = {}
    for name, (state, reason) in sorted((liveness.report() if liveness else {}).items()):
        checks[name] = state
        if state == "blocked":
            notes[name] = reason
        elif state != "ok":
            problems[name] = reason
            log.warning("health check: %s %s: %s", name, state, reason)
        metrics.UP.labels(service, name).set(1 if state in ("ok", "blocked") else 0)
    if calendar is not None and checks["database"] == "ok":
        try:
            note = calendar.look(db)
        except Exception as exc:  # a note, never a reason to fail the check
            note = None
            log.warning("calendar not checked: %s", type(exc).__name__)
        if note:
            notes["calendar"] = note
    body = {"status": "ok" if not problems else "unavailable", "service": service,
            "checks": checks, "directory_version": directory}
    if problems:
        body["reasons"] = problems
    if notes:
        body["notes"] = notes
    return (200 if not problems else 503), body


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
        status, body = health_report(self.name, self.db, self.config["AMQP_URI"], self.liveness,
                                     self.calendar_watch)
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
        try:  # the calendar's gauge is current even where nobody asks /health
            self.calendar_watch.look(self.db, every=CALENDAR_LOOK_SECONDS)
        except Exception as exc:  # the metrics answer all the same
            log.warning("calendar not checked: %s", type(exc).__name__)
        payload, content_type = metrics.exposition()
        return Response(payload, content_type=content_type)
