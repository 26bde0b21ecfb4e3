"""The notify service's OpenAPI document, served at ``/openapi.json``."""
from services.common.openapi import Operation, build_spec, path_parameter, query_parameter
from services.notify.schemas import STATUSES, NotificationListSchema, NotificationSchema

SPEC = build_spec("Zero Distance notify", "Records and sends the notifications the interface reference lists"
                  " (docs/reference.md#notification-channels).", [
    Operation("/api/v1/notifications", "GET", "Notifications with every attempt, newest first",
              {200: ("Without addresses or content", NotificationListSchema)},
              parameters=[query_parameter("ticket_id", "Only this ticket's"),
                          query_parameter("status", "Only in this status (failed: parked)",
                                          enum=list(STATUSES)),
                          query_parameter("limit", "1-500, default 100", type="integer",
                                          minimum=1, maximum=500)],
              errors=(400, 401, 403, 429, 503), description="For the admin key."),
    Operation("/api/v1/notifications/{notification_id}/retry", "POST",
              "Send a failed (or skipped) notification again",
              {202: ("Due again at once, under the same idempotency key", NotificationSchema)},
              parameters=[path_parameter("notification_id", "The notification's id",
                                                     type="integer", minimum=1)],
              errors=(401, 403, 404, 409, 429, 503), description="For the admin key."),
])
