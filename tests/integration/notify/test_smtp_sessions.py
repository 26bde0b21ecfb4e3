"""The email channel keeps its SMTP sessions, against a real SMTP server
(``tests/support/smtp_tls.py``, which names each mail's connection): many messages go
over one session with one login; a session the server closed between messages is opened
again with no message lost or sent twice; a ``4xx`` on one message leaves the session fit
for the next."""
import time

import pytest

from services.notify.channels import Outgoing, Retry
from services.notify.channels.email import EmailChannel
from services.notify.messages import render
from tests.support.smtp_tls import SmtpServer

SENDER = "Zero Distance <noreply@zd.example>"


def outgoing(n, address="chen@example.org"):
    params = {"ticket_id": "ZD20260101-C0FFEE00", "result": "已疏通"}
    return Outgoing(f"zd-key-{n}", address, "ticket.resolved.reporter", "zh-CN", params,
                    message=render("ticket.resolved.reporter", "zh-CN", params))


def mails(server):
    return [item for item in server.record(detailed=True) if item["kind"] == "mail"]


def test_many_messages_go_over_one_session_with_one_login(tmp_path):
    with SmtpServer.start(tmp_path, "plain") as server:
        channel = EmailChannel(f"smtp://zd:pw@127.0.0.1:{server.port}?insecure=true", SENDER, 5)
        for n in range(20):
            channel.send(outgoing(n))
        channel.close()
        seen = server.record(detailed=True)
    assert [item["message_id"] for item in seen if item["kind"] == "mail"] == [
        f"<zd-key-{n}@zero-distance>" for n in range(20)]
    assert len({item["peer"] for item in seen}) == 1
    assert [item["kind"] for item in seen].count("login") == 1


def test_a_session_the_server_closed_between_messages_is_opened_again_losing_nothing(tmp_path):
    with SmtpServer.start(tmp_path, "plain", close_after_mail=True) as server:
        channel = EmailChannel(f"smtp://127.0.0.1:{server.port}", SENDER, 5)
        for n in range(5):
            channel.send(outgoing(n))
            time.sleep(0.2)  # the server closes the session 50 ms after its answer
        delivered = mails(server)
    assert [item["message_id"] for item in delivered] == [
        f"<zd-key-{n}@zero-distance>" for n in range(5)]
    assert len({item["peer"] for item in delivered}) == 5


def test_a_4xx_on_one_message_leaves_the_session_fit_for_the_next(tmp_path):
    with SmtpServer.start(tmp_path, "plain") as server:
        channel = EmailChannel(f"smtp://127.0.0.1:{server.port}", SENDER, 5)
        channel.send(outgoing(1))
        with pytest.raises(Retry, match="SMTP 451"):
            channel.send(outgoing(2, address="busy@example.org"))
        channel.send(outgoing(3))
        delivered = mails(server)
    assert [item["message_id"] for item in delivered] == ["<zd-key-1@zero-distance>",
                                                          "<zd-key-3@zero-distance>"]
    assert delivered[0]["peer"] == delivered[1]["peer"]
