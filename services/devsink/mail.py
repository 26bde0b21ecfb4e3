"""An email received over SMTP, read into the shape the sink stores.

The subject is decoded from RFC 2047, the text/plain and text/html parts from their
transfer and character encodings; the whole message is kept as ``raw``.
"""
import email
from email import policy


def read_email(mail_from, rcpt_tos, content):
    """The stored shape of the message ``content`` (bytes) sent from ``mail_from`` to ``rcpt_tos``."""
    message = email.message_from_bytes(content, policy=policy.default)
    return {
        "kind": "email",
        "to": list(rcpt_tos),
        "from": mail_from,
        "subject": str(message.get("Subject", "")),
        "text": _part(message, "plain"),
        "html": _part(message, "html"),
        "message_id": message_id(message),
        "raw": content.decode("utf-8", errors="replace"),
    }


def message_id(message):
    value = message.get("Message-ID")
    return str(value).strip() if value else None


def _part(message, subtype):
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    return part.get_content()
