"""The channel adapters against real sockets: the development sink (SMTP with a login,
an HTTP gateway) and a port nobody listens on."""
import pytest

from services.notify.channels import Outgoing, Retry
from services.notify.channels.email import EmailChannel
from services.notify.channels.gateway import GatewayChannel
from services.notify.messages import render
from tests.support.sink import Sink
from tests.support.system import free_port


def outgoing(address):
    params = {"ticket_id": "ZD20260101-C0FFEE00", "result": "已疏通"}
    return Outgoing("zd-key-1", address, "ticket.resolved.reporter", "zh-CN", params,
                    message=render("ticket.resolved.reporter", "zh-CN", params))


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    with Sink.start(tmp_path_factory.mktemp("channels")) as started:
        yield started


def test_email_goes_out_through_an_smtp_server_that_asks_for_a_login(sink):
    url = sink.smtp_url.replace("smtp://", "smtp://zd%40mail:p%40ss@") + "?insecure=true"
    EmailChannel(url, "Zero Distance <noreply@zd.example>", 5).send(outgoing("chen@example.org"))
    (mail,) = sink.wait_for(lambda messages: [m for m in messages if m["kind"] == "email"])
    assert mail["to"] == ["chen@example.org"] and "ZD20260101-C0FFEE00" in mail["subject"]
    assert mail["message_id"] == "<zd-key-1@zero-distance>" and "已疏通" in mail["text"]


@pytest.mark.parametrize("channel, address", [
    (lambda port: EmailChannel(f"smtp://127.0.0.1:{port}", "noreply@zd.example", 2),
     "chen@example.org"),
    (lambda port: GatewayChannel("sms", f"http://127.0.0.1:{port}/sms", 2), "+8613900000000")])
def test_a_refused_connection_is_tried_again_later(channel, address):
    with pytest.raises(Retry) as raised:
        channel(free_port()).send(outgoing(address))
    assert "127.0.0.1" not in raised.value.detail and address not in raised.value.detail
