"""No failure of a delivery puts a contact (email, phone, name) or a gateway's token in
notify's log: the real notify service, on the real broker and database, sends to the
development sink while its log is captured from the first line.

Events are built by the producers' own code (tests/support/events.py).
"""
import logging

import pytest
import requests

from tests.support import events as made
from tests.support.notify import channel_settings, directory_aimed_at, new_ticket_id, notify_with_sink
from tests.support.services import running, wait_until
from tests.support.sink import Sink
from tests.support.system import fresh_system

GATEWAY_TOKEN = "gw-token-8c1f0e"


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.DEBUG)  # the most an operator may turn on
    return caplog


def notifications(base, key, **params):
    answer = requests.get(f"{base}/api/v1/notifications", params=params, timeout=5,
                          headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer.text, answer.json()["notifications"]


def failed_notifications(base, key, ticket_id, channel):
    return [n for n in notifications(base, key, ticket_id=ticket_id, status="failed")[1]
            if n["channel"] == channel]


def assert_never_logged(caplog, *secrets):
    text = caplog.text  # every record as formatted, tracebacks included
    for secret in secrets:
        assert secret not in text, f"{secret!r} is in the log"


MALFORMED_ADDRESSES = ["chen@@residents-7f3a.example", "chen.@residents-7f3a.example",
                       "chen@residents-7f3a.example.", "(chen@residents-7f3a.example",
                       "chen@[residents-7f3a.example"]


def test_a_malformed_email_address_fails_that_notification_and_no_log_line_holds_it(
        tmp_path, logged):
    with notify_with_sink(tmp_path) as (base, sink, keys, directory):
        tickets = {}
        for number, address in enumerate(MALFORMED_ADDRESSES):
            tickets[address] = ticket_id = new_ticket_id()
            reporter = {"name": "陈小明", "email": address, "phone": f"+86139123400{30 + number}",
                        "wants_feedback": True}
            made.publish(*made.concern_events(ticket_id, reporter=reporter))
        failed = {}
        for address, ticket_id in tickets.items():
            (failed[address],) = wait_until(
                lambda ticket_id=ticket_id: failed_notifications(base, keys["admin"], ticket_id,
                                                                 "email"),
                what=f"the email to {address!r} parked as failed")
            assert [(a["outcome"], a["detail"]) for a in failed[address]["attempts"]] == [
                ("failed", "not an email address")], address
            sink.wait_for(lambda messages, ticket_id=ticket_id: [
                m for m in messages if m["kind"] == "sms" and ticket_id in repr(m)])  # still goes
            listing, _ = notifications(base, keys["admin"], ticket_id=ticket_id)
            assert "residents-7f3a" not in listing and "139123400" not in listing

    for address, notification in failed.items():
        said = [r.getMessage() for r in logged.records if str(notification["id"]) in r.getMessage()
                and "not an email address" in r.getMessage()]
        assert said, f"a log line names the notification to {address!r} and why it failed"
    assert_never_logged(logged, "residents-7f3a", "chen@", "139123400", "陈小明")


def test_a_gateway_url_token_never_reaches_the_log_even_at_debug(tmp_path, logged):
    with Sink.start(tmp_path) as sink:
        keys, _, directory = fresh_system(directory_aimed_at(sink, tmp_path))
        with_token = f"{sink.sms_url}?token={GATEWAY_TOKEN}"
        with running("notify", **channel_settings(sink, ZD_SMS_GATEWAY_URL=with_token)) as base:
            refused_by_the_gateway(base, sink, keys)
    assert_never_logged(logged, GATEWAY_TOKEN, "13912340022")


def refused_by_the_gateway(base, sink, keys):
    sink.plan("/sms", [400])
    ticket_id = new_ticket_id()
    made.publish(*made.concern_events(ticket_id, reporter={"phone": "+8613912340022",
                                                           "wants_feedback": True}))
    wait_until(lambda: failed_notifications(base, keys["admin"], ticket_id, "sms"),
               what="the SMS refused by the gateway")
