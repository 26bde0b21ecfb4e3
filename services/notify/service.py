"""The notify service (HTTP port 8003 for /health and /metrics only, for now).

Consumes ``zd.notify.events`` (``directory.published``, ``credential.*``,
``concern.received``, ``ticket.*``) and records, once per event, recipient and channel, each notification
contract §8 calls for, in its ``notifications`` table (status ``recorded``). Emits
nothing but parked messages. Sending over SMTP, SMS and WeChat gateways and webhooks
comes later.
"""
from services.common.db import Database
from services.common.messaging import consume_messages, handle_once
from services.common.observability import Observable
from services.common.outbox import OutboxRelay
from services.common.topology import SERVICE_QUEUES
from services.notify import openapi
from services.notify.handlers import apply_event


class NotifyService(Observable):
    name = "notify"
    openapi_document = openapi.SPEC
    db = Database("notify")
    outbox = OutboxRelay("notify")

    @consume_messages(SERVICE_QUEUES["notify"])
    def on_event(self, envelope):
        handle_once(self.db, envelope, apply_event)
