"""The notify service (HTTP, port 8003): tells the reporter, representative, office and
department what happened, a person of the directory their sign-in code, and shows
operators what was sent.

Consumes ``zd.notify.events`` (``directory.published``, ``credential.*``,
``concern.received``, ``reporter.contact``, ``ticket.*``, ``department.dispatched``,
``feedback.rejected``, ``staff.sign_in_code``, ``personal_data.expired``: the reporter
anonymised, ``retention``) and records, once per event, recipient and channel, each
notification (docs/reference.md#notification-channels) in its notifications outbox; the ``Courier``
sends them by email, SMS, WeChat and webhook. Emits nothing but parked messages.
``GET /api/v1/notifications`` (admin key) shows each with its attempts, never an
address; ``POST /api/v1/notifications/{id}/retry`` sends a failed one again.
"""
from services.common.http import api, json_response
from services.common.messaging import consume_messages, handle_batch
from services.common.service import ZeroDistanceService
from services.common.topology import SERVICE_QUEUES
from services.notify import openapi, store
from services.notify.courier import Courier
from services.notify.schemas import NotificationListSchema, NotificationQuerySchema, NotificationSchema
from services.notify.use_cases import resending, retention
from services.notify.use_cases.notifications import apply_event


class NotifyService(ZeroDistanceService):
    name = "notify"
    openapi_document = openapi.SPEC
    courier = Courier()

    @api("GET", "/api/v1/notifications")
    def list_notifications(self, request):
        query = NotificationQuerySchema().load(request.args.to_dict())
        with self.db.transaction() as conn:
            self.keys.caller(conn, request, "admin")
            rows = store.notifications(conn, query.get("ticket_id"), query.get("status"),
                                       query["limit"])
        return json_response(200, NotificationListSchema().dump({"notifications": rows}))

    @api("POST", "/api/v1/notifications/<int:notification_id>/retry")
    def retry_notification(self, request, notification_id):
        with self.db.transaction() as conn:
            self.keys.caller(conn, request, "admin")
            resending.send_again(conn, notification_id)
        with self.db.transaction() as conn:
            (row,) = [row for row in store.notifications(conn, limit=1, notification_id=notification_id)]
        return json_response(202, NotificationSchema().dump(row))

    @consume_messages(SERVICE_QUEUES["notify"])
    def on_event(self, batch):
        return handle_batch(self.db, batch, retention.applying(
            lambda conn, envelope: apply_event(conn, envelope, self.courier.channel_names)),
            pipelined=True)
