"""The intake API's OpenAPI document (docs/reference.md#intake-api), served at ``/openapi.json``."""
from services.common.openapi import Operation, build_spec, path_parameter, query_parameter
from services.common.ticket_schemas import STATUSES
from services.intake.open311 import openapi as open311_openapi
from services.intake.schemas import (
    AcceptedSchema,
    ConcernListSchema,
    ConcernSchema,
    ConcernViewSchema,
    RatingAcceptedSchema,
    RatingSchema,
)

SPEC = build_spec("Zero Distance intake", "District front-ends post concerns and follow them.", [
    Operation("/api/v1/concerns", "POST", "Post a concern",
              {202: ("Stored durably; routing follows", AcceptedSchema),
               200: ("The same external_id and body again: the same ticket", AcceptedSchema)},
              body=ConcernSchema, errors=(400, 401, 403, 409, 413, 415, 429, 503),
              description="Idempotent on `external_id` per key: the same body again answers"
                          " 200 with the same ticket, a different body 409."),
    Operation("/api/v1/concerns", "GET", "The key's district's concerns, by last change",
              {200: ("A page of concerns", ConcernListSchema)},
              parameters=[
                  query_parameter("external_id", "The front-end's own id"),
                  query_parameter("status", "Only concerns in this status", enum=STATUSES),
                  query_parameter("since", "Only concerns changed at or after (RFC 3339)",
                                  format="date-time"),
                  query_parameter("cursor", "next_cursor of the page before"),
                  {**query_parameter("limit", "Concerns per page (1-200, default 50)"),
                   "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
              errors=(400, 401, 403, 429, 503),
              description="Cursor-paged in the order of each concern's last change: poll"
                          " with `since` to follow what changed. No reporter details."),
    Operation("/api/v1/concerns/{ticket_id}", "GET", "A concern's status and timeline",
              {200: ("The concern", ConcernViewSchema)},
              parameters=[path_parameter("ticket_id", "The ticket id from the 202 answer")],
              errors=(401, 403, 404, 429, 503)),
    Operation("/api/v1/concerns/{ticket_id}/rating", "POST", "The reporter rates the resolution",
              {202: ("Recorded; satisfied closes the ticket, unsatisfied reopens it",
                     RatingAcceptedSchema)},
              body=RatingSchema, parameters=[path_parameter("ticket_id", "The ticket id")],
              errors=(400, 401, 403, 404, 409, 413, 415, 429, 503),
              description="Only for a resolved ticket, once per resolution; 409 otherwise."),
])

SPEC["paths"].update(open311_openapi.paths())
SPEC["components"]["schemas"].update(open311_openapi.SCHEMAS)
