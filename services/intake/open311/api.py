"""The Open311 GeoReport v2 entrypoints of the intake service, each in JSON or XML.

``Open311Api`` is mixed into ``IntakeService`` (it uses its ``db`` and ``keys``). A
problem is answered the specification's way, ``[{code, description}]`` in the
format asked (a bad key is ``403``), not as problem+json; a database outage stays a
problem+json ``503`` with ``Retry-After``. ``api_key`` (a front-end key, as a form or
query field, or a bearer key) is needed to post, and decides the district of the
request. Reading requests needs no key, as the specification says: without one, the
requests of every district (or of ``jurisdiction_id``'s) are read, each showing only
what its district's ``open311_public`` policy names, and the reads are limited per
client address; with a front-end key, its district's requests are read whole. The GET
entrypoints read their query themselves (``answers_query_errors``): a control character
in it is refused in the specification's format.
"""
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from marshmallow import ValidationError
from werkzeug.wrappers import Response

from services.common import metrics
from services.common.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge, Problem, Unauthorized
from services.common.http import MAX_BODY_BYTES, api, as_problem, query_errors
from services.common.local_directory import current_directory, directory_version
from services.common.log_context import bind
from services.intake import domain, store
from services.intake.open311 import catalogue, formats, requests
from services.intake.use_cases import acceptance

PREFIX = "/open311/v2"
FORMAT = "<any(json, xml):fmt>"
WINDOW = timedelta(days=90)  # the specification's longest date range and default window
MAX_REQUESTS = 1000


def answered(root):
    """The method's document (or ``(status, document)``) rendered in ``fmt`` under ``root``;
    a problem rendered as the specification's errors."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, request, fmt, **path):
            try:
                result = method(self, request, **path)
            except (Problem, ValidationError) as exc:
                problem = as_problem(exc)
                if problem.status not in (400, 401, 403, 404, 413):
                    raise
                return _errors(problem, fmt)
            status, document = result if isinstance(result, tuple) else (200, result)
            body, content_type = formats.render(document, root, fmt)
            return Response(body, status=status, content_type=content_type)
        return wrapper
    return decorate


def _errors(problem, fmt):
    status = 403 if isinstance(problem, Unauthorized) else problem.status
    description = problem.detail
    if problem.errors:
        description += " " + "; ".join(f"{field}: {' '.join(map(str, messages))}"
                                       for field, messages in sorted(problem.errors.items()))
    body, content_type = formats.render(formats.errors_document(status, description), "errors", fmt)
    return Response(body, status=status, content_type=content_type)


class Open311Api:
    @api("GET", f"{PREFIX}/discovery.{FORMAT}", answers_query_errors=True)
    @answered("discovery")
    def open311_discovery(self, request):
        with self.db.transaction() as conn:
            version = directory_version(conn)
        return catalogue.discovery(request.host_url.rstrip("/"), version or "")

    @api("GET", f"{PREFIX}/services.{FORMAT}", answers_query_errors=True)
    @answered("services")
    def open311_services(self, request):
        with self.db.transaction() as conn:
            return catalogue.services(current_directory(conn))

    @api("GET", f"{PREFIX}/services/<string:code>.{FORMAT}", answers_query_errors=True)
    @answered("service_definition")
    def open311_service_definition(self, request, code):
        with self.db.transaction() as conn:
            return catalogue.service_definition(current_directory(conn), code,
                                                request.args.get("jurisdiction_id") or None)

    @api("POST", f"{PREFIX}/requests.{FORMAT}")
    @answered("service_requests")
    def open311_post_request(self, request):
        if request.content_length and request.content_length > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.")
        form = request.form.to_dict()
        with self.db.transaction() as conn:
            caller = self._open311_caller(conn, request, form.get("api_key"))
        form.pop("api_key", None)
        with self.db.transaction() as conn:
            directory = current_directory(conn)
            concern = requests.concern_from_form(form, directory, caller.party.scope)
            domain.check_concern(concern, directory, caller.party.scope)
            _, answer = acceptance.accept(conn, caller, concern, domain.fingerprint(form))
            bind(ticket_id=answer["ticket_id"])  # the request id it answers: the ticket's
        metrics.CONCERNS_RECEIVED.labels(concern["district"], concern["channel"]).inc()
        notice = None if concern["community"] else "No community named: the liaison office assigns it."
        return 201, [{"service_request_id": answer["ticket_id"], "service_notice": notice,
                      "account_id": None}]

    @api("GET", f"{PREFIX}/requests.{FORMAT}", answers_query_errors=True)
    @answered("service_requests")
    def open311_requests(self, request):
        args = _readable(request.args)
        ids = [part.strip() for part in args.get("service_request_id", "").split(",") if part.strip()]
        closed = requests.closed_wanted(args["status"]) if args.get("status") else None
        start, end = _window(args.get("start_date"), args.get("end_date"), bool(ids))
        with self.db.transaction() as conn:
            directory = current_directory(conn)
            reader = self._open311_reader(conn, request, args.get("api_key"), directory)
            rows = store.open311_requests(conn, reader.district, ids or None,
                                          args.get("service_code") or None, start, end,
                                          requests.CLOSED, closed, MAX_REQUESTS)
        return [reader.shown(row, directory) for row in rows]

    @api("GET", f"{PREFIX}/requests/<string:request_id>.{FORMAT}", answers_query_errors=True)
    @answered("service_requests")
    def open311_request(self, request, request_id):
        with self.db.transaction() as conn:
            directory = current_directory(conn)
            reader = self._open311_reader(conn, request, request.args.get("api_key"), directory)
            rows = store.open311_requests(conn, reader.district, [request_id], limit=1)
        if not rows:
            raise NotFound(f"No service request {request_id} in your jurisdiction.")
        return [reader.shown(rows[0], directory)]

    @api("GET", f"{PREFIX}/tokens/<string:token>.{FORMAT}", answers_query_errors=True)
    @answered("service_requests")
    def open311_token(self, request, token):
        """Requests are created at once (``type: realtime``): a token is the request's id."""
        with self.db.transaction() as conn:
            reader = self._open311_reader(conn, request, request.args.get("api_key"),
                                          current_directory(conn))
            rows = store.open311_requests(conn, reader.district, [token], limit=1)
        if not rows:
            raise NotFound(f"No token {token} in your jurisdiction.")
        return [{"service_request_id": rows[0]["ticket_id"], "token": token}]

    def _open311_caller(self, conn, request, api_key):
        if not api_key and not request.headers.get("Authorization"):
            raise Unauthorized("api_key is required: a front-end key of the district.")
        return self.keys.caller(conn, request, "frontend", key=api_key or None)

    def _open311_reader(self, conn, request, api_key, directory):
        """Who reads: a front-end (its key given) reads its district's requests whole;
        anyone else, those of ``jurisdiction_id`` or of every district, as published."""
        jurisdiction = request.args.get("jurisdiction_id") or None
        if api_key or request.headers.get("Authorization"):
            caller = self._open311_caller(conn, request, api_key)
            if jurisdiction not in (None, caller.party.scope):
                raise Forbidden(f"This api_key reads jurisdiction '{caller.party.scope}' only.")
            return Reader(caller.party.scope, published=None)
        if jurisdiction is not None and jurisdiction not in directory["districts"]:
            raise NotFound(f"No jurisdiction {jurisdiction}.")
        self.keys.limiter.check(conn, f"address:{request.remote_addr or ''}")
        return Reader(jurisdiction, published={
            code: district["policy"]["open311_public"] for code, district in directory["districts"].items()})


@dataclass(frozen=True)
class Reader:
    """Whose requests a read may see (``district``, None: every district's) and, for a
    reader without a key, what each district publishes (``published``)."""
    district: str | None
    published: dict | None

    def shown(self, row, directory):
        request = requests.service_request(row, directory)
        if self.published is None:
            return request
        return requests.public_service_request(request, self.published[row["district"]])


def _readable(args):
    """The query, or BadRequest naming each parameter that holds a control character."""
    errors = query_errors(args)
    if errors:
        raise BadRequest("The query holds control characters.", errors=errors)
    return args


def _window(start_text, end_text, by_id):
    """``(start, end)`` received times: the named range (at most 90 days), else the last
    90 days; no bounds when requests are named by id."""
    start, end = _when(start_text, "start_date"), _when(end_text, "end_date")
    if by_id and start is None and end is None:
        return None, None
    end = end or ((start + WINDOW) if start else datetime.now(timezone.utc))
    start = start or end - WINDOW
    if end < start or end - start > WINDOW:
        raise BadRequest("The date range is at most 90 days.",
                         errors={"end_date": ["At most 90 days after start_date, and not before it."]})
    return start, end


#: the times a window may name: a window of 90 days either side stays in the calendar
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(9000, 1, 1, tzinfo=timezone.utc)
#: PostgreSQL takes offsets up to 15:59
LARGEST_OFFSET = timedelta(hours=15, minutes=59)


def _when(text, field):
    """The time ``field`` names, in UTC, or BadRequest naming ``field``."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None or abs(at.utcoffset()) > LARGEST_OFFSET:
        raise BadRequest(f"{field} is not a time.",
                         errors={field: ["An ISO 8601 time with its offset,"
                                         " e.g. 2026-11-05T08:15:30+08:00."]})
    try:
        at = at.astimezone(timezone.utc)
    except OverflowError:
        at = None
    if at is None or not EARLIEST <= at < LATEST:
        raise BadRequest(f"{field} is out of range.", errors={field: ["Between 1970 and 9000."]})
    return at
