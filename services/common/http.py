"""The HTTP edge shared by every service: JSON in, JSON or problem+json out.

``api(method, url)`` is nameko's ``http`` entrypoint with one table that maps errors
to answers: a ``Problem`` keeps its status, an unreachable database is 503, a
marshmallow ``ValidationError`` is 400 with the field messages, anything else is
500 without internals; a path no entrypoint serves is a problem+json 404, a method
it does not take 405. Every 429 and 503 says when to come back (``Retry-After``, whole
seconds, in the header and the body). No error text names a host, port, file or
query. Every answer is counted and timed in the metrics. A line logged while a request
whose path names a ticket (``<ticket_id>``, Open311's ``<request_id>``, in a ticket id's
shape) is handled names it (``log_context``), its access line too: the web server binds
it for the whole request, which ends with that line.

Before any entrypoint runs, a path holding NUL is a 400 naming ``path``, and a query
parameter holding a control character or a character that is not text (``text``) a
400 naming it, as ``read_json`` refuses them in a body (an entrypoint that answers in
another format, Open311's, checks its query itself: ``answers_query_errors``). None of
them can be stored: PostgreSQL refuses NUL.

A client's error (4xx) is logged as one INFO line without traceback, not as the
service's failure; a 5xx keeps its ERROR and traceback. The access log shows each
request line with the values of secret parameters redacted (``log_redaction``).
"""
import json
import logging
import math
import time

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed as MethodNotAllowedHTTP
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Request, Response

from services.common import config, metrics
from services.common.db import CONTENTION_ATTEMPTS, UNAVAILABLE, pause_after_contention
from services.common.errors import (
    BadRequest,
    Contention,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Problem,
    Unavailable,
    UnsupportedMediaType,
)
from services.common.log_context import bind, log_context, ticket_id_in_path
from services.common.log_redaction import RedactedLog
from services.common.text import control_character_errors, escaped
from services.common.tracebacks import traceback_without_text

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
UNAVAILABLE_RETRY_SECONDS = 5  # a 503 asks to come back after this, unless it says otherwise
PROBLEM_TYPE = "application/problem+json"


def json_response(status, body, headers=None):
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    headers=headers, content_type="application/json; charset=utf-8")


def problem_response(problem):
    body = {"type": "about:blank", "title": problem.title, "status": problem.status,
            "detail": problem.detail}
    if problem.errors:
        body["errors"] = problem.errors
    body.update(problem.extra)
    headers = {}
    if problem.status in (429, 503) or "retry_after" in problem.extra:
        seconds = max(1, math.ceil(problem.extra.get("retry_after", UNAVAILABLE_RETRY_SECONDS)))
        body["retry_after"] = seconds
        headers["Retry-After"] = str(seconds)
    return Response(json.dumps(body, ensure_ascii=False), status=problem.status,
                    content_type=PROBLEM_TYPE, headers=headers)


def client_problem(exc):
    """The 4xx Problem ``exc`` is answered with, or None when it is answered 5xx."""
    if isinstance(exc, ValidationError) or (isinstance(exc, Problem) and exc.status < 500):
        return as_problem(exc)
    return None


def as_problem(exc):
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, Contention):
        return Unavailable("The database is busy; nothing was stored.")
    if isinstance(exc, ValidationError):
        return BadRequest("Some fields are invalid.", errors=_field_errors(exc.messages))
    if isinstance(exc, UNAVAILABLE):
        return Unavailable("The database is unreachable; nothing was stored.")
    log.error("unexpected error:\n%s", traceback_without_text(exc))
    return Problem("An unexpected error occurred; it has been logged.")


def _field_errors(messages):
    return messages if isinstance(messages, dict) else {"_schema": messages}


def read_json(request):
    """The request's JSON object, or the Problem that says why there is none."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    errors = control_character_errors(body)
    if errors:
        raise BadRequest("Some fields hold control characters.", errors=errors)
    return body


def unreadable_path(request):
    """The BadRequest for a path holding NUL, which no text PostgreSQL stores can hold;
    None for any other path (another control character names nothing: 404 as usual)."""
    if "\x00" in request.path:
        return BadRequest("The path holds NUL.", errors={"path": ["NUL is not allowed in the path."]})
    return None


def query_errors(args):
    """Field errors for each query parameter whose name or value holds a control character
    other than tab and newline (NUL included) or a character that is not text (``text``);
    None when there is none."""
    errors = {escaped(name): found for name, values in args.lists()
              if (found := control_character_errors(name) or _first(control_character_errors(values)))}
    return errors or None


def _first(errors):
    """The messages of the first of a parameter's values that has any."""
    return next(iter(errors.values())) if errors else None


def unreadable_query(request):
    errors = query_errors(request.args)
    return BadRequest("The query holds control characters.", errors=errors) if errors else None


class ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, but a path no entrypoint serves (404) or a method it does not
    take (405, with ``Allow``) is answered with problem+json like every other error."""

    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        unreadable = unreadable_path(request)
        if unreadable is not None:
            return problem_response(unreadable)(environ, start_response)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except MethodNotAllowedHTTP as exc:
            allowed = ", ".join(sorted(exc.valid_methods or ()))
            response = problem_response(MethodNotAllowed(
                f"{request.method} is not allowed here; use {allowed}.", allowed=exc.valid_methods))
            response.headers["Allow"] = allowed
            return response(environ, start_response)
        except HTTPException as exc:
            problem = NotFound(f"No such path: {request.path}") if exc.code == 404 else Problem(
                exc.description)
            problem.status = exc.code or 500
            return problem_response(problem)(environ, start_response)
        unreadable = None if getattr(provider, "answers_query_errors", False) \
            else unreadable_query(request)
        if unreadable is not None:
            return problem_response(unreadable)(environ, start_response)
        request.path_values = values
        # until the request's end (RedactingHttpProtocol), its access line included
        bind(ticket_id=ticket_id_in_path(values))
        return provider.handle_request(request)(environ, start_response)


class RedactingHttpProtocol(HttpOnlyProtocol):
    """What the standard library's HTTP handler writes to stderr on its own (a request
    line it refuses as malformed, with its answer) goes to the server's redacted log.

    Each request is one ``log_context`` of the connection's green thread, from its first
    byte until after its access line: what ``ProblemWsgiApp`` binds (the path's ticket)
    names that line and ends with the request, never reaching the connection's next."""

    def handle_one_response(self):
        with log_context():
            return super().handle_one_response()

    def log_message(self, format, *args):
        self.server.log.info("%s - - [%s] %s" % (self.address_string(),
                                                  self.log_date_time_string(), format % args))


def behind_proxies(app, hops):
    """``app`` seeing, behind ``hops`` trusted reverse proxies, the client's own address
    (``X-Forwarded-For``, that many hops back) and scheme (``X-Forwarded-Proto``); with
    none, the connection's and no forwarded header believed (anyone may send one)."""
    return ProxyFix(app, x_for=hops, x_proto=hops) if hops else app


class ProblemWebServer(WebServer):
    """nameko's web server answering problem+json, whose access log shows no secret, and
    whose requests know their client's address behind ``ZD_TRUSTED_PROXIES`` proxies."""

    def get_wsgi_app(self):
        return behind_proxies(ProblemWsgiApp(self),
                              config.trusted_proxies(self.container.config.get("ZD_TRUSTED_PROXIES")))

    def get_wsgi_server(self, sock, wsgi_app, protocol=RedactingHttpProtocol, debug=False):
        server = super().get_wsgi_server(sock, wsgi_app, protocol=protocol, debug=debug)
        server.log = RedactedLog(logging.getLogger("nameko.web.server"))
        return server


class ClientErrorsAsInfo(logging.Filter):
    """nameko's container logs every exception an entrypoint raises at ERROR with its
    traceback and text. A client's error (4xx) is not the service's: it becomes one INFO
    line (dropped when INFO is not logged). Anything answered 5xx stays an ERROR, told by
    its kind and frames: its text may quote what the request carried (a contact)."""

    def filter(self, record):
        failure = record.exc_info[1] if record.exc_info else None
        if failure is None:
            return True
        worker = record.args[0] if isinstance(record.args, tuple) and record.args else None
        problem = client_problem(failure)
        if problem is None:
            record.msg, record.args = "%s failed:\n%s", (
                _entrypoint_of(worker), traceback_without_text(failure))
        elif logging.getLogger(record.name).isEnabledFor(logging.INFO):
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
            # the title, not the detail: a detail may quote the request (a path, an id)
            record.msg, record.args = "%s answered %s %s", (
                _entrypoint_of(worker), problem.status, problem.title)
        else:
            return False
        record.exc_info = record.exc_text = None
        return True


def _entrypoint_of(worker_ctx):
    try:
        return f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}"
    except AttributeError:
        return "an entrypoint"


def _log_client_errors_as_info():
    containers = logging.getLogger("nameko.containers")
    if not any(isinstance(existing, ClientErrorsAsInfo) for existing in containers.filters):
        containers.addFilter(ClientErrorsAsInfo())


class ApiHandler(HttpRequestHandler):
    """nameko's http entrypoint with the shared error table and metrics.

    ``answers_query_errors=True``: the entrypoint refuses a query holding control
    characters itself (with ``query_errors``), in the format it answers errors in."""
    server = ProblemWebServer()

    def __init__(self, method, url, answers_query_errors=False, **kwargs):
        super().__init__(method, url, **kwargs)
        self.answers_query_errors = answers_query_errors

    def setup(self):
        super().setup()
        _log_client_errors_as_info()

    def handle_request(self, request):
        started = time.monotonic()
        # this green thread's lines (an unexpected error's); the worker binds its own
        with log_context(ticket_id=ticket_id_in_path(getattr(request, "path_values", {}))):
            for attempt in range(1, CONTENTION_ATTEMPTS + 1):  # see response_from_exception
                response = super().handle_request(request)
                if not getattr(response, "contended", False) or attempt == CONTENTION_ATTEMPTS:
                    break
                pause_after_contention(attempt)
        metrics.observe_request(self.container.service_name, request.method, self.url,
                                response.status_code, time.monotonic() - started)
        return response

    def response_from_exception(self, exc):
        response = problem_response(as_problem(exc))
        # the database broke the transaction off to resolve a deadlock: nothing was stored,
        # and handle_request runs the same request again
        response.contended = isinstance(exc, Contention)
        return response


api = ApiHandler.decorator
