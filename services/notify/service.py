"""The notify service (HTTP, port 8003): who hears what, and the operators' view of it.

Consumes ``zd.notify.events`` (``directory.published``, ``credential.*``,
``concern.received``, ``ticket.*``) and records, once per event, recipient and
channel, each notification contract §8 calls for, in its ``notifications`` table
(status ``recorded``). Emits
nothing but parked messages. Sending over SMTP, SMS and WeChat gateways and webhooks
comes later. ``GET /api/v1/notifications`` (admin key) shows what was recorded,
never an address.
"""
from services.common.credentials import ApiKeys
from services.common.db import Database
from services.common.http import api, json_response
from services.common.messaging import consume_messages, handle_once
from services.common.observability import Observable
from services.common.outbox import OutboxRelay
from services.common.topology import SERVICE_QUEUES
from services.notify import openapi, store
from services.notify.handlers import apply_event
from services.notify.schemas import NotificationListSchema, NotificationQuerySchema


class NotifyService(Observable):
    name = "notify"
    openapi_document = openapi.SPEC
    db = Database("notify")
    outbox = OutboxRelay("notify")
    keys = ApiKeys()

    @api("GET", "/api/v1/notifications")
    def list_notifications(self, request):
        query = NotificationQuerySchema().load(request.args.to_dict())
        with self.db.transaction() as conn:
            self.keys.caller(conn, request, "admin")
            rows = store.notifications(conn, query.get("ticket_id"), query.get("status"),
                                       query["limit"])
        return json_response(200, NotificationListSchema().dump({"notifications": rows}))

    @consume_messages(SERVICE_QUEUES["notify"])
    def on_event(self, envelope):
        handle_once(self.db, envelope, apply_event)
