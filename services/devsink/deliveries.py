"""HTTP deliveries read into the shape the sink stores: gateway messages and webhook calls.

The SMS and WeChat gateways take ``{"to", "template", "locale", "params"}``; a webhook
is kept as received, its body as text (signatures are computed over it) and its headers
under lower-cased names.
"""
import json

GATEWAYS = {"/sms": "sms", "/wechat": "wechat"}
WEBHOOKS = "/webhooks/"


class BadDelivery(ValueError):
    """A delivery the gateway refuses with 400."""


def read_gateway_message(kind, body, idempotency_key):
    try:
        payload = json.loads(body)
    except ValueError as error:
        raise BadDelivery(f"the body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadDelivery("the body must be a JSON object {\"to\", \"template\", \"locale\", \"params\"}")
    for field in ("to", "template"):
        if not isinstance(payload.get(field), str) or not payload[field]:
            raise BadDelivery(f"{field} is required and must be a non-empty string")
    params = payload.get("params", {})
    if not isinstance(params, dict):
        raise BadDelivery("params must be a JSON object")
    return {"kind": kind, "to": payload["to"], "template": payload["template"],
            "locale": payload.get("locale"), "params": params, "idempotency_key": idempotency_key}


def read_webhook_call(endpoint, body, headers):
    return {"kind": "webhook", "endpoint": endpoint, "body": body.decode("utf-8", errors="replace"),
            "headers": {name.lower(): value for name, value in headers.items()}}


def webhook_endpoint(path):
    """The endpoint name in ``/webhooks/<name>``, or None for any other path."""
    name = path[len(WEBHOOKS):] if path.startswith(WEBHOOKS) else ""
    return name if name and "/" not in name else None
