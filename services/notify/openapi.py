"""The notify service's OpenAPI document, served at ``/openapi.json``."""
from services.common.openapi import Operation, build_spec, query_parameter
from services.notify.schemas import STATUSES, NotificationListSchema

SPEC = build_spec("Zero Distance notify", "Records and sends the notifications of contract §8.", [
    Operation("/api/v1/notifications", "GET", "Notifications recorded, newest first",
              {200: ("Without addresses", NotificationListSchema)},
              parameters=[query_parameter("ticket_id", "Only this ticket's"),
                          query_parameter("status", "Only in this status", enum=list(STATUSES)),
                          query_parameter("limit", "1-500, default 100")],
              errors=(400, 401, 403, 429, 503), description="For the admin key."),
])
