"""Email over SMTP (``ZD_SMTP_URL``: ``smtp://`` or ``smtps://``, optional user and
password in the URL), from ``ZD_SMTP_FROM``, multipart text and HTML.

The ``Message-ID`` is made from the notification's idempotency key, the same on every
attempt, so a receiver can tell a repeated message. SMTP ``4xx`` answers, timeouts and
lost connections are retried; ``5xx`` answers and refused recipients fail at once.
"""
import smtplib
import socket
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from services.notify.channels import Refused, Retry

SCHEMES = {"smtp": (smtplib.SMTP, 25), "smtps": (smtplib.SMTP_SSL, 465)}


def compose(outgoing, sender):
    message = EmailMessage()
    message["From"] = sender
    try:
        message["To"] = Address(addr_spec=outgoing.address)
    except Exception:  # the parser raises half a dozen kinds, some quoting the address
        raise Refused("not an email address") from None
    message["Subject"] = outgoing.message.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = f"<{outgoing.key}@zero-distance>"
    message["Content-Language"] = outgoing.locale
    message.set_content(outgoing.message.text)
    message.add_alternative(outgoing.message.html, subtype="html")
    return message


class EmailChannel:
    name = "email"

    def __init__(self, url, sender, timeout):
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ValueError("ZD_SMTP_URL must start with smtp:// or smtps://")
        self.client, default_port = SCHEMES[parts.scheme]
        self.host, self.port = parts.hostname, parts.port or default_port
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender, self.timeout = sender, timeout

    def send(self, outgoing):
        message = compose(outgoing, self.sender)
        try:
            with self.client(self.host, self.port, timeout=self.timeout) as server:
                if self.user:
                    server.login(self.user, self.password or "")
                server.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise Refused("recipient refused") from None
        except smtplib.SMTPResponseException as exc:
            failure = Retry if 400 <= exc.smtp_code < 500 else Refused
            raise failure(f"SMTP {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise Retry(f"SMTP unreachable: {type(exc).__name__}") from None
