"""Email over SMTP (``ZD_SMTP_URL``), from ``ZD_SMTP_FROM``, multipart text and HTML.

The URL: ``smtp://`` (STARTTLS) or ``smtps://`` (TLS from the first byte), an optional
``user:password@``, and optional query parameters:

- ``cafile=/path/ca.crt``: trust this CA (a private one) for this server only, instead
  of the system's CAs; nothing else in the process is affected;
- ``insecure=true``: no TLS at all, a login in clear included: for a development sink
  on loopback only.

TLS always verifies the server's certificate and its name (``ssl.create_default_context``).
``smtp://`` takes STARTTLS whenever the server offers it; with a user and password it
requires it: a server that does not offer it (or an attacker who strips it from the
server's answer) never sees the password. ``smtp://host:port`` without credentials, as
``make run`` gives for the development sink, goes on in clear when no STARTTLS is offered.

Sessions are kept and reused (``SmtpSessions``): one per sender at once, each opened with
its EHLO, STARTTLS and login once and then carrying many messages, closed after
``SESSION_IDLE_SECONDS`` unused (servers drop idle sessions: Postfix after 300 s) or
``SESSION_MESSAGES`` messages. A kept session the server dropped while it was idle fails
before its ``MAIL`` command is accepted (a lost connection, or ``421``: the server closes
it): nothing was delivered, so the message goes at once on a fresh session. A failed
transaction is reset (``RSET``) before the session carries another; a session whose state
is unknown (a lost connection, a timeout, the courier's deadline) is closed, never reused.

The ``Message-ID`` is made from the notification's idempotency key, the same on every
attempt, so a receiver can tell a repeated message (a failure after ``MAIL`` was accepted
may have delivered it). SMTP ``4xx`` answers, timeouts, lost connections and TLS failures
are retried; ``5xx`` answers and refused recipients fail at once. No failure's text
carries an address, a host or the password.
"""
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from services.notify.channels import Refused, Retry
from services.notify.channels.email_policy import POLICY
from services.notify.channels.smtp_sessions import KEPT_SESSIONS, SmtpSessions, tracking

SCHEMES = {"smtp": (smtplib.SMTP, 25), "smtps": (smtplib.SMTP_SSL, 465)}
PARAMETERS = ("cafile", "insecure")
NAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
def compose(outgoing, sender):
    message = EmailMessage(policy=POLICY)
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

    def __init__(self, url, sender, timeout, senders=KEPT_SESSIONS):
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ValueError("ZD_SMTP_URL must start with smtp:// or smtps://")
        self.client, default_port = SCHEMES[parts.scheme]
        self.implicit_tls = parts.scheme == "smtps"
        self.host, self.port = parts.hostname, parts.port or default_port
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.sender, self.timeout = sender, timeout
        cafile, self.insecure = _parameters(parts.query)
        if self.insecure and self.implicit_tls:
            raise ValueError("ZD_SMTP_URL: insecure=true means no TLS, smtps:// means TLS:"
                             " choose one")
        self.tls = None if self.insecure else ssl.create_default_context(cafile=cafile)
        self.sessions = SmtpSessions(kept=senders)  # one per sender at once

    def send(self, outgoing):
        message = compose(outgoing, self.sender)
        try:
            self._send_on_a_session(message)
        except ssl.SSLCertVerificationError as exc:
            raise Retry(_untrusted(exc)) from None
        except smtplib.SMTPRecipientsRefused:
            raise Refused("recipient refused") from None
        except smtplib.SMTPNotSupportedError:  # no AUTH, or no SMTPUTF8 for a non-ASCII address
            raise Refused("the SMTP server lacks an extension this message needs") from None
        except smtplib.SMTPResponseException as exc:
            failure = Retry if 400 <= exc.smtp_code < 500 else Refused
            raise failure(f"SMTP {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise Retry(f"SMTP unreachable: {type(exc).__name__}") from None

    def close(self):
        """Close every kept session (the service stops)."""
        self.sessions.close_all()

    def close_idle(self):
        """Close the kept sessions idle for too long."""
        self.sessions.close_idle()

    def _send_on_a_session(self, message):
        kept = self.sessions.take()
        if kept is not None:
            try:
                return self._transaction(kept, message)
            except (smtplib.SMTPServerDisconnected, OSError, smtplib.SMTPSenderRefused) as exc:
                dropped = not isinstance(exc, smtplib.SMTPSenderRefused) or exc.smtp_code == 421
                if kept.mail_accepted or not dropped:  # it began, or the server refused it
                    raise
                # dropped while it was idle (closed, or 421 on MAIL): nothing was delivered
        self._transaction(self._open(), message)

    def _transaction(self, session, message):
        session.mail_accepted = False
        try:
            session.send_message(message)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            self.sessions.reset_and_keep(session)  # the server refused, the session is sound
            raise
        except BaseException:  # its state is unknown, the deadline included: never reused
            self.sessions.discard(session)
            raise
        self.sessions.keep(session)

    def _open(self):
        session = self._connect()
        try:
            self._secure(session)
            if self.user:
                session.login(self.user, self.password or "")
        except BaseException:
            self.sessions.discard(session)
            raise
        return session

    def _connect(self):
        client = tracking(self.client)
        if self.implicit_tls:
            return client(self.host, self.port, timeout=self.timeout, context=self.tls)
        return client(self.host, self.port, timeout=self.timeout)

    def _secure(self, server):
        """STARTTLS on ``smtp://`` when offered; required before a login (unless insecure)."""
        if self.implicit_tls or self.insecure:
            return
        server.ehlo()
        if server.has_extn("starttls"):
            server.starttls(context=self.tls)
            server.ehlo()
        elif self.user:
            raise Retry("the SMTP server offers no STARTTLS: the password is not sent in clear"
                        " (insecure=true in ZD_SMTP_URL allows it, for a development sink)")


def _parameters(query):
    """``(cafile, insecure)`` from the URL's query; ValueError naming a wrong parameter,
    never the URL (it holds the password)."""
    given = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(given) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"ZD_SMTP_URL: unknown parameter {unknown[0]!r}"
                         f" (known: {', '.join(PARAMETERS)})")
    if any(len(values) > 1 for values in given.values()):
        raise ValueError("ZD_SMTP_URL: a parameter given twice")
    insecure = given.get("insecure", ["false"])[0]
    if insecure not in ("true", "false"):
        raise ValueError("ZD_SMTP_URL: insecure must be true or false")
    cafile = given.get("cafile", [None])[0]
    if cafile == "":
        raise ValueError("ZD_SMTP_URL: cafile names no file")
    return cafile, insecure == "true"


def _untrusted(exc):
    """Why the server's certificate was refused, without its name or address."""
    if exc.verify_code in NAME_MISMATCH:
        return "TLS: the SMTP server's certificate is for another name"
    return f"TLS: the SMTP server's certificate is not trusted ({exc.verify_message})"
