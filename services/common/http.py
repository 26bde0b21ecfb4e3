"""The HTTP edge shared by every service: JSON in, JSON or problem+json out.

``api(method, url)`` is nameko's ``http`` entrypoint with one table that maps errors
to answers: a ``Problem`` keeps its status, an unreachable database is 503, a
marshmallow ``ValidationError`` is 400 with the field messages, anything else is
500 without internals. Every answer is counted and timed in the metrics.
"""
import json
import logging
import math
import time

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from services.common import metrics
from services.common.db import UNAVAILABLE
from services.common.errors import (
    BadRequest,
    PayloadTooLarge,
    Problem,
    Unavailable,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
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
    if "retry_after" in problem.extra:
        headers["Retry-After"] = str(max(1, math.ceil(problem.extra["retry_after"])))
    return Response(json.dumps(body, ensure_ascii=False), status=problem.status,
                    content_type=PROBLEM_TYPE, headers=headers)


def as_problem(exc):
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, ValidationError):
        return BadRequest("Some fields are invalid.", errors=_field_errors(exc.messages))
    if isinstance(exc, UNAVAILABLE):
        return Unavailable("The database is unreachable; nothing was stored.")
    log.error("unexpected error", exc_info=exc)
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
    return body


class ApiHandler(HttpRequestHandler):
    """nameko's http entrypoint with the shared error table and metrics."""

    def handle_request(self, request):
        started = time.monotonic()
        response = super().handle_request(request)
        metrics.observe_request(self.container.service_name, request.method, self.url,
                                response.status_code, time.monotonic() - started)
        return response

    def response_from_exception(self, exc):
        return problem_response(as_problem(exc))


api = ApiHandler.decorator
