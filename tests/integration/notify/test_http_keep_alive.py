"""The gateways' and webhooks' connections are kept between calls, in this eventlet-patched
process as in the service: one connection carries call after call, and senders at once
use no more connections than there are senders (``tests/support/slow_http.py`` names
each call's connection)."""
import eventlet

from services.notify.channels import Outgoing
from services.notify.channels.gateway import GatewayChannel
from services.notify.channels.webhook import WebhookChannel
from tests.support.slow_http import SlowHttp

SECRET = "whsec_ZGVtby1wb3dlci1zdXBwbHk="  # the demo directory's


def text_message(n):
    return Outgoing(f"key-{n}", "+8613912340001", "ticket.received.reporter", "en",
                    {"ticket_id": "ZD20260101-C0FFEE00"})


def test_one_connection_carries_call_after_call(tmp_path):
    with SlowHttp.start(tmp_path, {}) as gateway:
        channel = GatewayChannel("sms", f"{gateway.url}/sms", 5, senders=4)
        for n in range(10):
            channel.send(text_message(n))
        calls = gateway.requests("/sms")
    assert [call["key"] for call in calls] == [f"key-{n}" for n in range(10)]
    assert len({call["peer"] for call in calls}) == 1


def test_senders_at_once_keep_a_connection_each_and_no_more(tmp_path):
    with SlowHttp.start(tmp_path, {}) as gateway:
        channel = GatewayChannel("sms", f"{gateway.url}/sms", 5, senders=4)
        pool = eventlet.GreenPool(4)
        for sender in range(4):
            pool.spawn_n(lambda first: [channel.send(text_message(n)) for n in range(first, first + 5)],
                         sender * 5)
        pool.waitall()
        calls = gateway.requests("/sms")
    assert len(calls) == 20 and len({call["peer"] for call in calls}) <= 4


def test_a_webhook_department_keeps_its_connection(tmp_path):
    with SlowHttp.start(tmp_path, {}) as department:
        channel = WebhookChannel(5, senders=2)
        for n in range(5):
            channel.send(Outgoing(f"dispatch-{n}", f"{department.url}/hook", "ticket.dispatched",
                                  "zh-CN", {"dispatch_id": f"dispatch-{n}"}, secret=SECRET))
        calls = department.requests("/hook")
    assert len(calls) == 5 and len({call["peer"] for call in calls}) == 1
