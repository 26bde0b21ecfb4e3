"""Webhooks signed per the Standard Webhooks specification (``standardwebhooks``).

A department with webhook delivery gets each dispatch as ``POST <webhook.url>`` with
the body ``{"type": "ticket.dispatched", "timestamp", "data": <the dispatch message>}``
and the headers ``webhook-id`` (the dispatch id, the same on every attempt),
``webhook-timestamp`` and ``webhook-signature`` (its ``webhook.secret``, re-signed on
each attempt because the timestamp is new).
"""
import json
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook

from services.notify.channels import Refused
from services.notify.channels.http import keeping_connections, post

EVENT_TYPE = "ticket.dispatched"


def signed_request(outgoing, now=None):
    """``(body, headers)`` of the webhook: the body is what is signed and sent, byte for byte."""
    now = now or datetime.now(timezone.utc)
    body = json.dumps({"type": EVENT_TYPE, "timestamp": now.isoformat(), "data": outgoing.params},
                      ensure_ascii=False, separators=(",", ":"))
    try:
        signature = Webhook(outgoing.secret).sign(outgoing.key, now, body)
    except Exception:  # no secret, or not base64: the directory must be corrected
        raise Refused("the webhook secret is missing or malformed") from None
    return body, {"webhook-id": outgoing.key, "webhook-timestamp": str(int(now.timestamp())),
                  "webhook-signature": signature,
                  "content-type": "application/json; charset=utf-8"}


class WebhookChannel:
    name = "webhook"

    def __init__(self, timeout, senders=10):
        self.timeout = timeout
        self.session = keeping_connections(senders)

    def send(self, outgoing):
        body, headers = signed_request(outgoing)
        post(self.session, outgoing.address, self.timeout, data=body.encode(), headers=headers)

    def close(self):
        """Close the kept connections (the service stops)."""
        self.session.close()

    def close_idle(self):
        """Kept connections a server closed are found and replaced as they are taken."""
