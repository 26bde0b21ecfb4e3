"""Notify's outbound HTTP against a real server that answers slowly (tests/support/slow_http.py),
on the real broker and database: every call ends by its deadline, well inside its lease,
and is tried again, never twice at once; one slow department's webhook holds up no other
department's; a ``Retry-After`` of any size or shape delays a notification an hour at most.

Events are built by the producers' own code (tests/support/events.py).
"""
import time
import uuid
from datetime import datetime, timezone

import pytest

from tests.support import events as made
from tests.support.events import T0
from tests.support.notify import DEMO_WEBHOOK_URL, channel_settings, new_ticket_id, notifications
from tests.support.services import running, wait_until
from tests.support.sink import Sink
from tests.support.slow_http import SlowHttp
from tests.support.system import DEMO_DIRECTORY, fresh_system

SLOW, FAST = "gz-power-supply", "gz-forestry-gardening"  # each a webhook department here
FAST_SECRET = "whsec_ZmFzdC1kZXBhcnRtZW50LXNlY3JldA=="


def directory_with_two_webhook_departments(server, folder):
    """The demo directory; its webhook department sends to ``/slow``, and the forestry
    bureau takes its dispatches by webhook at ``/fast``."""
    text = DEMO_DIRECTORY.read_text(encoding="utf-8")
    forestry = "    categories: [greening]\n    contact: {email: duty@lyyl.gz.example}\n"
    assert DEMO_WEBHOOK_URL in text and text.count(forestry) == 1
    text = text.replace(DEMO_WEBHOOK_URL, f"{server.url}/slow").replace(forestry, (
        "    categories: [greening]\n    delivery: webhook\n    webhook:\n"
        f"      url: {server.url}/fast\n      secret: {FAST_SECRET}\n"
        "    contact: {email: duty@lyyl.gz.example}\n"))
    path = folder / "directory.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def sink(tmp_path):
    with Sink.start(tmp_path) as started:
        yield started


def test_a_gateway_that_drips_its_answer_is_cut_at_the_deadline_and_tried_again_once_at_a_time(
        tmp_path, sink):
    deadline = 3  # the lease is 2 x 3 + 10 = 16 s
    with SlowHttp.start(tmp_path, {"/sms": [{"drip": 120}]}) as gateway:
        keys, _, _ = fresh_system()
        settings = channel_settings(sink, ZD_SMS_GATEWAY_URL=f"{gateway.url}/sms",
                                    ZD_NOTIFY_TIMEOUT_SECONDS=deadline)
        with running("notify", **settings) as base:
            ticket_id = new_ticket_id()
            made.publish(*made.concern_events(ticket_id, reporter={"phone": "+8613912340031",
                                                                   "wants_feedback": True}))
            (sent,) = wait_until(lambda: [n for n in notifications(base, keys["admin"],
                                                                   ticket_id=ticket_id)
                                          if n["channel"] == "sms" and n["status"] == "sent"],
                                 timeout=30, what="the SMS sent on its second attempt")
            calls = gateway.requests("/sms")

    cut, answered = sent["attempts"]
    assert (cut["outcome"], cut["detail"]) == ("retry", f"unfinished after {deadline}s")
    assert deadline <= cut["seconds"] < deadline + 1.5
    assert answered["outcome"] == "sent"
    assert [call["key"] for call in calls] == [calls[0]["key"]] * 2, "two calls, one key"
    first, second = calls
    assert first["finished"] is False and first["ended"] - first["started"] < deadline + 1.5
    assert first["ended"] <= second["started"], "the second call began after the first ended"
    assert second["finished"] is True


def test_one_slow_department_webhook_holds_up_no_other_departments(tmp_path, sink):
    with SlowHttp.start(tmp_path, {"/slow": [{"drip": 120}] * 12}) as departments:
        keys, _, directory = fresh_system(directory_with_two_webhook_departments(departments,
                                                                                 tmp_path))
        settings = channel_settings(sink, ZD_NOTIFY_CONCURRENCY=2, ZD_NOTIFY_TIMEOUT_SECONDS=15)
        with running("notify", **settings):
            made.publish(*[dispatched(SLOW, "power-supply", directory) for _ in range(6)])
            wait_until(lambda: len(under_way(departments, "/slow")) == 2, timeout=20,
                       what="the slow department's two senders busy")

            published = time.time()
            fast = [dispatched(FAST, "greening", directory) for _ in range(4)]
            made.publish(*fast)
            answered = wait_until(lambda: finished(departments, "/fast", 4), timeout=30,
                                  what="the fast department's four dispatches")
            slow_still = under_way(departments, "/slow")
            taken = max(call["ended"] for call in answered) - published

        assert taken < 8, f"the fast department waited {taken:.1f}s"
        assert slow_still and all(call["started"] < published for call in slow_still), \
            "the slow department's first calls were still under way"
        assert {call["key"] for call in answered} == {event.body["dispatch_id"] for event in fast}
        assert len(under_way(departments, "/slow")) <= 2, "never more than two at once"


def dispatched(department, category, directory):
    ticket_id = new_ticket_id()
    ticket = made.ticket_row(ticket_id, "dispatched", 4, category=category)
    dispatch = made.dispatch_row(ticket_id, department, T0, dispatch_id=str(uuid.uuid4()))
    return made.department_dispatched(ticket, dispatch, directory)


def under_way(server, path):
    return [call for call in server.requests(path) if call["ended"] is None]


def finished(server, path, count):
    done = [call for call in server.requests(path) if call["finished"]]
    return done if len(done) >= count else None


HUGE_RETRY_AFTERS = ["99999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"]
MALFORMED_RETRY_AFTERS = ["soon", "-5", "1e400", "Infinity", "NaN", "12 seconds"]


def sms_of(base, key, ticket_id, ready):
    return [n for n in notifications(base, key, ticket_id=ticket_id)
            if n["channel"] == "sms" and ready(n)]


def test_a_huge_retry_after_delays_the_notification_an_hour_at_most(tmp_path, sink):
    script = {"/sms": [{"status": 429, "headers": {"Retry-After": retry_after}}
                       for retry_after in HUGE_RETRY_AFTERS]}
    with SlowHttp.start(tmp_path, script) as gateway:
        keys, _, _ = fresh_system()
        with running("notify", **channel_settings(sink, ZD_SMS_GATEWAY_URL=f"{gateway.url}/sms")) \
                as base:
            waiting = []
            for _ in HUGE_RETRY_AFTERS:  # one at a time: each takes the script's next answer
                ticket_id = new_ticket_id()
                made.publish(*made.concern_events(ticket_id, reporter={"phone": "+8613912340032",
                                                                       "wants_feedback": True}))
                waiting += wait_until(
                    lambda ticket_id=ticket_id: sms_of(base, keys["admin"], ticket_id,
                                                       lambda n: n["attempts"]),
                    timeout=20, what="the first attempt recorded")
    for notification, retry_after in zip(waiting, HUGE_RETRY_AFTERS, strict=True):
        assert [a["outcome"] for a in notification["attempts"]] == ["retry"], retry_after
        due_in = (datetime.fromisoformat(notification["next_attempt_at"])
                  - datetime.now(timezone.utc)).total_seconds()
        assert notification["status"] == "pending" and 3600 - 60 < due_in <= 3600 + 1, \
            (retry_after, due_in)


def test_a_malformed_retry_after_is_ignored_and_the_usual_back_off_applies(tmp_path, sink):
    script = {"/sms": [answer for retry_after in MALFORMED_RETRY_AFTERS
                       for answer in ({"status": 503, "headers": {"Retry-After": retry_after}},
                                      {"status": 200})]}
    with SlowHttp.start(tmp_path, script) as gateway:
        keys, _, _ = fresh_system()
        with running("notify", **channel_settings(sink, ZD_SMS_GATEWAY_URL=f"{gateway.url}/sms")) \
                as base:
            for retry_after in MALFORMED_RETRY_AFTERS:  # one at a time: 503, then 200
                ticket_id = new_ticket_id()
                made.publish(*made.concern_events(ticket_id, reporter={"phone": "+8613912340033",
                                                                       "wants_feedback": True}))
                (sent,) = wait_until(
                    lambda ticket_id=ticket_id: sms_of(base, keys["admin"], ticket_id,
                                                       lambda n: n["status"] == "sent"),
                    timeout=20, what=f"sent after the usual back-off ({retry_after!r})")
                assert [a["outcome"] for a in sent["attempts"]] == ["retry", "sent"], retry_after
