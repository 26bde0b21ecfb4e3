"""The routing API's OpenAPI document (docs/reference.md#routing-api), served at ``/openapi.json``."""
from services.common.openapi import Operation, build_spec, path_parameter, query_parameter
from services.common.ticket_schemas import STATUSES
from services.routing.schemas import (
                                      ActionSchema,
                                      CategoryReportSchema,
                                      FeedbackAppliedSchema,
                                      FeedbackSchema,
                                      TicketListSchema,
                                      TicketViewSchema,
)

TICKET_ID = path_parameter("ticket_id", "The ticket id")

SPEC = build_spec(
    "Zero Distance routing",
    "Representatives and liaison offices act on tickets; departments report back over HTTP"
    " (or over RabbitMQ: exchange zd.feedback, routing key dept.<code>, the same JSON).", [
        Operation("/api/v1/tickets", "GET", "Tickets, newest first",
                  {200: ("A page of tickets", TicketListSchema)},
                  parameters=[query_parameter("status", "A status of the lifecycle", enum=STATUSES),
                              query_parameter("district", "A district code"),
                              query_parameter("representative", "A representative id"),
                              query_parameter("department", "Dispatched to this department"),
                              query_parameter("overdue", "true: the lead department's due time"
                                              " has passed", enum=["true", "false"]),
                              query_parameter("limit", "1-500, default 100", type="integer",
                                              minimum=1, maximum=500),
                              query_parameter("offset", "default 0", type="integer", minimum=0)],
                  errors=(400, 401, 403, 429, 503),
                  description="A representative lists their own tickets, an office its"
                              " district's, the admin any."),
        Operation("/api/v1/category-report", "GET", "How often the liaison office changed the"
                  " category the keywords chose, per category, and the keywords to add",
                  {200: ("The changes of the last `days` days", CategoryReportSchema)},
                  parameters=[query_parameter("days", "The window: the last N days (1-3660,"
                                              " default 90)", type="integer", minimum=1,
                                              maximum=3660)],
                  errors=(400, 401, 403, 429, 503),
                  description="For the admin key (`python -m services.admin category-report`)."
                              " Counts the categories the keywords chose for concerns received"
                              " without one, the office's changes of them when it dispatched, and"
                              " the words the tickets moved to a category share that are not yet"
                              " among its keywords."),
        Operation("/api/v1/tickets/{ticket_id}", "GET", "A ticket with its full timeline",
                  {200: ("The ticket", TicketViewSchema)}, parameters=[TICKET_ID],
                  errors=(401, 403, 404, 429, 503),
                  description="A representative sees their own tickets, an office its district's."),
        Operation("/api/v1/tickets/{ticket_id}/actions", "POST", "Act on a ticket",
                  {200: ("The ticket after the action", TicketViewSchema)}, body=ActionSchema,
                  parameters=[TICKET_ID], errors=(400, 401, 403, 404, 409, 413, 415, 429, 503),
                  description="409 when the state does not allow the action: `allowed_statuses`"
                              " and `allowed_actions` list what it allows."),
        Operation("/api/v1/departments/{department}/feedback", "POST",
                  "A department reports progress or the result of a dispatch",
                  {200: ("Applied", FeedbackAppliedSchema)}, body=FeedbackSchema,
                  parameters=[path_parameter("department", "The department's code")],
                  errors=(400, 401, 403, 409, 413, 415, 429, 503)),
    ])
