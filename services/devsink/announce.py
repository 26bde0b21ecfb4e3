"""One log line per accepted message, with every address masked.

Our logs never carry contact details, the sink's included: a phone keeps its first six and
last four characters (``+86138****8000``), an email its first letter and domain
(``l***@example.org``), an openid its first four characters (``oAbC***``); a webhook is
named by its endpoint. The ticket id is added when the message names one.
"""
import json
import re
import sys

TICKET_ID = re.compile(r"ZD\d{8}-[0-9A-F]{8}")


def mask_phone(phone):
    phone = str(phone)
    return f"{phone[:6]}****{phone[-4:]}" if len(phone) >= 11 else "****"


def mask_email(address):
    local, at, domain = str(address).rpartition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def mask_openid(openid):
    openid = str(openid)
    return f"{openid[:4]}***" if len(openid) > 8 else "***"


def recipient(message):
    """Who the message is for, masked."""
    kind = message["kind"]
    if kind == "email":
        return ", ".join(mask_email(address) for address in message["to"])
    if kind == "sms":
        return mask_phone(message["to"])
    if kind == "wechat":
        return mask_openid(message["to"])
    return message["endpoint"]


def ticket_of(message):
    """The ticket id a message names, or None."""
    kind = message["kind"]
    if kind in ("sms", "wechat"):
        ticket = (message.get("params") or {}).get("ticket_id")
        return str(ticket) if ticket else None
    if kind == "webhook":
        data = _json_object(message["body"]).get("data")
        return str(data["ticket_id"]) if isinstance(data, dict) and data.get("ticket_id") else None
    found = TICKET_ID.search(message.get("subject") or "")
    return found.group() if found else None


def what(message):
    """The template of a gateway message or the type of a webhook event; empty for email."""
    if message["kind"] in ("sms", "wechat"):
        return str(message.get("template"))
    if message["kind"] == "webhook":
        return str(_json_object(message["body"]).get("type") or "")
    return ""


def line(message):
    ticket = ticket_of(message)
    words = [message["kind"], what(message), "to", recipient(message), f"({ticket})" if ticket else ""]
    return "devsink: " + " ".join(word for word in words if word)


def announce(message):
    print(line(message), file=sys.stdout, flush=True)


def _json_object(text):
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
