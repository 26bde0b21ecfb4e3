"""``/health``, ``/metrics`` and ``/openapi.json``, the same on every service (contract §2).

A service class inherits ``Observable`` and has a ``db`` (``Database``) dependency.
Health is 200 only when both the database and the broker answer, and the process's
own consumers and loops (outbox relay, notify's courier) are making progress: a fresh
connection alone would not see a consumer that lost its queues or a relay stuck on a
message. Otherwise 503 with the reason of each failing check. A relay the broker
blocks (a resource alarm) is shown as ``blocked`` but keeps the answer 200: the
service still takes work into its outbox.
"""
import logging

from kombu import Connection
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Response

from services.common import api_docs, metrics
from services.common.config import amqp_ssl
from services.common.errors import Problem
from services.common.http import api, json_response
from services.common.local_directory import directory_version

BROKER_TIMEOUT = 2
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


def health_report(service, db, amqp_uri, liveness=None):
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
    """Mixed into every service class, which sets ``openapi_document``."""
    config = Config()
    liveness = Liveness()
    openapi_document = {}

    @api("GET", "/health")
    def health(self, request):
        status, body = health_report(self.name, self.db, self.config["AMQP_URI"], self.liveness)
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
        payload, content_type = metrics.exposition()
        return Response(payload, content_type=content_type)
