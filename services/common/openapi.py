"""OpenAPI 3 documents of the services' HTTP APIs, built with apispec from the same
marshmallow schemas that validate the requests.

Each service lists its operations (``Operation``) in its ``openapi.py``;
``build_spec`` adds what every API shares: bearer keys, the problem+json error body,
``/health`` and ``/metrics``. Every service serves its document at ``/openapi.json``.
"""
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

PROBLEM = "application/problem+json"
ERROR_ANSWERS = {
    400: "Bad JSON or fields; `errors` maps each field to its messages",
    401: "No key, or an unknown or revoked one",
    403: "The key may not do this (another district, another role)",
    404: "Not found among what the key may see",
    409: "Conflicts with the current state",
    413: "Body over 64 KiB",
    415: "Body is not application/json",
    429: "Over the key's rate; `retry_after` says when to try again",
    500: "The work failed; the service's log says why, and nothing was stored",
    503: "Database or broker unreachable; nothing was stored",
}


#: RFC 9457 problem document; members beyond these (e.g. routing's ``allowed_actions``)
#: are named by the operation that answers them
PROBLEM_SCHEMA = {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
    "type": {"type": "string", "example": "about:blank"},
    "title": {"type": "string"},
    "status": {"type": "integer"},
    "detail": {"type": "string"},
    "errors": {"$ref": "#/components/schemas/FieldErrors"},
    "retry_after": {"type": "integer", "minimum": 1,
                    "description": "On 429 and 503: seconds to wait, as the Retry-After header"}}}
#: field → its messages; a nested object or list field maps to the same shape again,
#: keyed by its fields or item indexes (``{"attachments": {"0": {"url": [...]}}}``)
FIELD_ERRORS_SCHEMA = {"type": "object", "description": "field → messages", "additionalProperties": {
    "oneOf": [{"type": "array", "items": {"type": "string"}},
              {"$ref": "#/components/schemas/FieldErrors"}]}}


class HealthSchema(Schema):
    status = fields.String(metadata={"enum": ["ok", "unavailable"]})
    service = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "database, broker: ok or down; consumer: ok or down; outbox (and"
                       " notify's courier): ok, stalled, or blocked (by a broker alarm)"})
    directory_version = fields.String(allow_none=True)
    reasons = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "why each failing check fails"})
    notes = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "states that do not fail the check, e.g. blocked"})


class ReadinessSchema(Schema):
    status = fields.String(metadata={"enum": ["ready", "unavailable"]})
    service = fields.String()
    checks = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "what the service's HTTP work needs (the database): ok or down"})
    reasons = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "why each failing check fails"})


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    answers: dict  # status → (description, schema or None[, other media: "csv", ...])
    body: object = None
    parameters: list = field(default_factory=list)
    errors: tuple = (400, 401, 403, 429, 503)
    secured: bool = True
    description: str = ""


def build_spec(title, description, operations):
    spec = APISpec(title=title, version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], info={"description": description})
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", PROBLEM_SCHEMA)
    spec.components.schema("FieldErrors", FIELD_ERRORS_SCHEMA)
    for operation in operations + _observability():
        spec.path(path=operation.path, operations={operation.method.lower(): _operation(operation)})
    return spec.to_dict()


def _operation(operation):
    answers = {str(status): _answer(*answer) for status, answer in operation.answers.items()}
    for status in operation.errors:
        answers.setdefault(str(status), {"description": ERROR_ANSWERS[status], "content": {
            PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}})
    body = {"summary": operation.summary, "responses": answers}
    if operation.description:
        body["description"] = operation.description
    if operation.parameters:
        body["parameters"] = operation.parameters
    if operation.body is not None:
        body["requestBody"] = {"required": True,
                               "content": {"application/json": {"schema": operation.body}}}
    if operation.secured:
        body["security"] = [{"apiKey": []}]
    return body


#: answers that are not JSON: their media type
TEXT_MEDIA = {"text": "text/plain", "html": "text/html", "javascript": "application/javascript",
              "csv": "text/csv", "css": "text/css"}


def _answer(description, schema, *other_media):
    if schema is None:
        return {"description": description}
    media = [schema, *other_media]
    return {"description": description, "content": {
        TEXT_MEDIA.get(kind, "application/json"):
            {"schema": {"type": "string"} if kind in TEXT_MEDIA else kind} for kind in media}}


def path_parameter(name, description, **schema):
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", **schema}}


def query_parameter(name, description, **schema):
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", **schema}}


def _observability():
    return [
        Operation("/health", "GET", "Reachability of the database and the broker, and"
                  " progress of the process's consumers and loops",
                  {200: ("All well", HealthSchema), 503: ("Something is down", HealthSchema)},
                  errors=(), secured=False),
        Operation("/health/ready", "GET", "Readiness: whether this process can serve its HTTP"
                  " work now (its database; never the broker: writes wait in the outbox)",
                  {200: ("Ready", ReadinessSchema),
                   503: ("Not ready: a dependency of its HTTP work is down", ReadinessSchema)},
                  errors=(), secured=False),
        Operation("/metrics", "GET", "Prometheus metrics", {200: ("Text exposition", "text")},
                  errors=(), secured=False),
        Operation("/docs", "GET", "This API's reference page (works offline)",
                  {200: ("An HTML page rendering /openapi.json", "html")}, errors=(),
                  secured=False),
        Operation("/docs/redoc.standalone.js", "GET", "The page's renderer (Redoc, vendored)",
                  {200: ("JavaScript", "javascript")}, errors=(), secured=False),
    ]
