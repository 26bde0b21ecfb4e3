"""The routing API's OpenAPI document (docs/reference.md#routing-api), served at ``/openapi.json``."""
from services.common.openapi import Operation, build_spec, path_parameter, query_parameter
from services.common.ticket_schemas import STATUSES
from services.routing.schemas import (
                                      ActionSchema,
                                      BulkActionSchema,
                                      BulkOutcomesSchema,
                                      CategoryModelSchema,
                                      CategoryModelsSchema,
                                      CategoryReportSchema,
                                      FeedbackAppliedSchema,
                                      FeedbackSchema,
                                      InternalNoteBodySchema,
                                      InternalNoteSchema,
                                      RetiredModelsSchema,
                                      TicketListSchema,
                                      TicketViewSchema,
                                      TrainModelSchema,
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
                              query_parameter("category", "A category code"),
                              query_parameter("community", "A community code"),
                              query_parameter("undecided", "true: with the office and no category",
                                              enum=["true", "false"]),
                              query_parameter("duplicates", "true: open and linked as a likely"
                                              " duplicate of an open ticket",
                                              enum=["true", "false"]),
                              query_parameter("sort", "newest (default): newest first; due: the"
                                              " lead department's due time first, then the"
                                              " longest waiting in its status",
                                              enum=["newest", "due"]),
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
        Operation("/api/v1/category-models", "GET", "The category models routing trained",
                  {200: ("Newest first; `in_use` marks the one routing chooses with",
                         CategoryModelsSchema)}, errors=(401, 403, 429, 503),
                  description="For the admin key (`python -m services.admin category-model list`)."),
        Operation("/api/v1/category-models", "POST", "Train a category model on routing's history",
                  {201: ("The model, in use at once", CategoryModelSchema)},
                  body=TrainModelSchema, errors=(400, 401, 403, 409, 413, 415, 429, 500, 503),
                  description="For the admin key (`python -m services.admin category-model train`)."
                              " The tickets whose category the liaison office confirmed or"
                              " corrected are the labels; the model reads the directory's"
                              " keywords found as well as the text. Training runs in a process"
                              " of its own and answers when done (seconds for thousands of"
                              " tickets); every routing instance chooses with the new model from"
                              " its next concern on (the others within 5 s). 409 when there are"
                              " fewer than 100 labelled texts (the keywords alone keep deciding),"
                              " or while another training runs; 500 when the training failed or"
                              " took more than 30 minutes."),
        Operation("/api/v1/category-models/retire", "POST", "Stop using learned models",
                  {200: ("How many were retired", RetiredModelsSchema)},
                  errors=(401, 403, 429, 503),
                  description="For the admin key (`python -m services.admin category-model off`):"
                              " the keywords alone decide again, until the next training."),
        Operation("/api/v1/tickets/{ticket_id}", "GET", "A ticket with its full timeline",
                  {200: ("The ticket", TicketViewSchema)}, parameters=[TICKET_ID],
                  errors=(401, 403, 404, 429, 503),
                  description="A representative sees their own tickets, an office its district's."),
        Operation("/api/v1/tickets/{ticket_id}/actions", "POST", "Act on a ticket",
                  {200: ("The ticket after the action", TicketViewSchema),
                   202: ("follow_up: the office's follow-up call is recorded and sent to intake;"
                         " its rating applies when intake's `concern.rated` comes back",
                         TicketViewSchema)}, body=ActionSchema,
                  parameters=[TICKET_ID], errors=(400, 401, 403, 404, 409, 413, 415, 429, 503),
                  description="409 when the state does not allow the action: `allowed_statuses`"
                              " and `allowed_actions` list what it allows; 409 too when `version`"
                              " is given and the ticket has changed since (`current_version`,"
                              " `ticket_status`). `follow_up` (the district office's key only)"
                              " records the rating the office took from the reporter by phone,"
                              " once per resolution, while the ticket is resolved (or merged and"
                              " resolved with its original, not rated yet): 409 otherwise, and for"
                              " a second call of the same resolution."),
        Operation("/api/v1/tickets/actions", "POST", "Take one action on many tickets",
                  {200: ("What became of each ticket", BulkOutcomesSchema)}, body=BulkActionSchema,
                  errors=(400, 401, 413, 415, 429, 503),
                  description="The action of `POST /api/v1/tickets/{ticket_id}/actions` on each of"
                              " `ticket_ids` (1-100), each on its own: one refused (its `problem`"
                              " is the answer it alone would have had) leaves the others done."
                              " Any action but `follow_up`, which is one reporter's answer."),
        Operation("/api/v1/tickets/{ticket_id}/notes", "POST", "Add an internal note",
                  {201: ("The note", InternalNoteSchema)}, body=InternalNoteBodySchema,
                  parameters=[TICKET_ID], errors=(400, 401, 403, 404, 413, 415, 429, 503),
                  description="For the ticket's representative and the district's office: shown"
                              " in `GET /api/v1/tickets/{ticket_id}` only, never in an event, to"
                              " the reporter or to a front-end."),
        Operation("/api/v1/departments/{department}/feedback", "POST",
                  "A department reports progress or the result of a dispatch",
                  {200: ("Applied", FeedbackAppliedSchema)}, body=FeedbackSchema,
                  parameters=[path_parameter("department", "The department's code")],
                  errors=(400, 401, 403, 409, 413, 415, 429, 503)),
    ])
