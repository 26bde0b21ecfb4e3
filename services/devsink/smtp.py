"""The SMTP server: accepts any mail, with or without AUTH, and stores it once per Message-ID.

aiosmtpd runs it on an asyncio loop in its own thread. AUTH is offered without TLS and
any credentials pass, so ``smtp://user:pass@host:port`` works as well as plain
``smtp://host:port``. A plan for ``"smtp"`` answers DATA with its reply codes instead.
"""
import asyncio
import logging

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from services.devsink.mail import read_email
from services.devsink.plans import SMTP


def _not_about_login_data(record):
    """aiosmtpd warns on every AUTH that a field it sets itself is deprecated; that is noise here."""
    return "login_data is deprecated" not in record.getMessage()


def any_credentials(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=True)


def planned_text(status):
    """The SMTP reply a plan asks for, e.g. ``451 4.3.0 try again later``."""
    if 400 <= status < 500:
        return f"{status} 4.3.0 try again later"
    return f"{status} 5.0.0 rejected by the development sink's plan"


class MailDrop:
    """The aiosmtpd handler: every DATA ends here."""

    def __init__(self, store):
        self.store = store

    async def handle_DATA(self, server, session, envelope):
        reply = self.store.next_reply(SMTP)
        if reply and reply.delay:
            await asyncio.sleep(reply.delay)
        email = read_email(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        key = email["message_id"]
        if reply and not reply.accepts:
            self.store.log_request("email", SMTP, reply.status, key)
            return planned_text(reply.status)
        stored = self.store.accept(email, key)
        self.store.log_request("email", SMTP, 250, key)
        return "250 2.0.0 accepted" if stored else "250 2.0.0 already accepted"


def smtp_server(store, bind, port):
    """An aiosmtpd ``Controller`` for ``store`` (call ``start()`` and ``stop()``)."""
    logging.getLogger("mail.log").addFilter(_not_about_login_data)
    return Controller(
        MailDrop(store), hostname=bind, port=port, server_hostname="devsink",
        authenticator=any_credentials, auth_require_tls=False, enable_SMTPUTF8=True)
