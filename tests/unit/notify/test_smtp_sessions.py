"""The email channel's kept SMTP sessions, with a fake client: closed when idle too long or
after enough messages; a kept session lost before ``MAIL`` was accepted sends the message
on a fresh one, lost after it is a Retry and not sent again."""
import smtplib

import eventlet
import pytest

from services.notify.channels import Outgoing, Retry
from services.notify.channels.email import EmailChannel
from services.notify.channels.smtp_sessions import SmtpSessions
from services.notify.messages import render


def outgoing(n):
    params = {"ticket_id": "ZD20260101-C0FFEE00"}
    return Outgoing(f"key-{n}", "chen@example.org", "ticket.resolved.reporter", "en", params,
                    message=render("ticket.resolved.reporter", "en", params))


class FakeClient:
    """An SMTP client; ``FakeClient.lost`` says when the next message's connection breaks:
    ``"before MAIL"`` or ``"after MAIL"``."""
    opened, sent, lost = [], [], None

    def __init__(self, host, port, timeout):
        self.closed = False
        FakeClient.opened.append(self)

    def ehlo(self):
        return 250, b"ok"

    def has_extn(self, name):
        return False

    def mail(self, sender, options=()):
        if FakeClient.lost == "before MAIL":
            FakeClient.lost = None
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return 250, b"ok"

    def send_message(self, message):
        self.mail(message["From"])
        if FakeClient.lost == "after MAIL":
            FakeClient.lost = None
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        FakeClient.sent.append((self, message["Message-ID"]))

    def quit(self):
        self.closed = True

    close = quit


@pytest.fixture
def channel():
    FakeClient.opened, FakeClient.sent, FakeClient.lost = [], [], None
    made = EmailChannel("smtp://mail.example", "noreply@zd.example", 5)
    made.client = FakeClient
    return made


def test_messages_share_one_session(channel):
    for n in range(3):
        channel.send(outgoing(n))
    assert len(FakeClient.opened) == 1 and len(FakeClient.sent) == 3


def test_a_kept_session_lost_before_mail_was_accepted_sends_on_a_fresh_one(channel):
    channel.send(outgoing(1))
    FakeClient.lost = "before MAIL"
    channel.send(outgoing(2))
    assert [key for _, key in FakeClient.sent] == ["<key-1@zero-distance>", "<key-2@zero-distance>"]
    assert len(FakeClient.opened) == 2 and FakeClient.opened[0].closed


def test_a_kept_session_lost_after_mail_was_accepted_is_a_retry_and_not_resent(channel):
    channel.send(outgoing(1))
    FakeClient.lost = "after MAIL"
    with pytest.raises(Retry):
        channel.send(outgoing(2))
    assert len(FakeClient.sent) == 1 and len(FakeClient.opened) == 1 and FakeClient.opened[0].closed
    channel.send(outgoing(2))  # the next attempt, on a fresh session
    assert len(FakeClient.opened) == 2


class Session:
    closed = False
    quit_said = False
    rset_answer = (250, b"ok")

    def quit(self):
        self.quit_said = self.closed = True

    def close(self):
        self.closed = True

    def rset(self):
        if isinstance(self.rset_answer, BaseException):
            raise self.rset_answer
        return self.rset_answer


def test_a_session_idle_too_long_is_closed_and_not_taken():
    now = [0.0]
    sessions = SmtpSessions(idle_seconds=30, clock=lambda: now[0])
    kept = Session()
    sessions.keep(kept)
    now[0] = 31
    assert sessions.take() is None and kept.closed


def test_a_session_that_carried_enough_messages_is_closed_without_awaiting_the_server():
    sessions = SmtpSessions(messages=2)
    kept = Session()
    sessions.keep(kept)
    assert sessions.take() is kept and not kept.closed
    sessions.keep(kept)  # still within the message's send: no QUIT whose answer may be slow
    assert kept.closed and not kept.quit_said and sessions.take() is None


@pytest.mark.parametrize("answer", [(421, b"closing"), (500, b"what?"),
                                    smtplib.SMTPServerDisconnected("gone"),
                                    eventlet.Timeout()])
def test_a_session_whose_reset_fails_is_closed_not_kept(answer):
    sessions = SmtpSessions()
    refused = Session()
    refused.rset_answer = answer
    sessions.reset_and_keep(refused)
    assert refused.closed and sessions.take() is None


def test_a_session_reset_after_a_refusal_is_kept():
    sessions = SmtpSessions()
    refused = Session()
    sessions.reset_and_keep(refused)
    assert sessions.take() is refused and not refused.closed


def test_closing_the_channel_closes_every_kept_session():
    sessions = SmtpSessions()
    kept = [Session(), Session()]
    for session in kept:
        sessions.keep(session)
    sessions.close_all()
    assert all(session.closed for session in kept) and sessions.take() is None
