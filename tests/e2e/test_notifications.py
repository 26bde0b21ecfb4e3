"""The loop reaches people: the four services as separate OS processes, every channel
aimed at the development sink (real SMTP and HTTP).

A resident's power cut goes to the utility's webhook, signed; its HTTP feedback
resolves the ticket; the reporter's SMS and email carry the result; the
representative's email arrives. Notify killed with SIGKILL in the middle of a batch,
beside a second notify instance, loses nothing and gets nothing accepted twice. No
reporter's phone or email appears in any service's log of the whole run; every line of
those logs is a JSON object, and notify's name the ticket, event and notification of a
delivery.
"""
import email
import email.policy
import json
import time
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest
import requests
from standardwebhooks.webhooks import Webhook

from services.common.config import settings
from services.devstack import Stack
from tests.support.notify import WEBHOOK_DEPARTMENT, channel_settings, directory_aimed_at
from tests.support.services import wait_until
from tests.support.sink import Sink
from tests.support.system import free_port, fresh_system

pytestmark = pytest.mark.e2e

SENTINEL_PHONE = "+8613987650123"
SENTINEL_EMAIL = "sentinel.reporter@residents.example"
SENTINELS = (SENTINEL_PHONE, SENTINEL_PHONE[3:], SENTINEL_EMAIL)


class StackWithSink(NamedTuple):
    """The four services running as ``make run`` runs them, their channels aimed at a sink."""
    stack: Stack
    sink: Sink
    keys: dict        #: every party's API key, by party
    directory: dict   #: the directory snapshot, its webhook department aimed at the sink
    env: dict         #: the settings the stack runs with
    logs: Path        #: the folder of the services' logs


@pytest.fixture(scope="module")
def stack_with_sink(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notifications")
    logs = tmp_path_factory.mktemp("logs")
    with Sink.start(folder) as sink:
        keys, users, directory = fresh_system(directory_aimed_at(sink, folder))
        env = {**{key: str(value) for key, value in channel_settings(sink).items()},
               **{f"ZD_{name.upper()}_PORT": str(free_port())
                  for name in ("intake", "routing", "notify", "reporting")}}
        with Stack(env=env, log_dir=str(logs)) as stack:
            yield StackWithSink(stack, sink, keys, directory, env, logs)


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def post_concern(stack, keys, external_id, description, reporter, community="jiekou"):
    answer = requests.post(f"{stack.url('intake')}/api/v1/concerns", headers=bearer(
        keys["frontend:conghua"]), timeout=5, json={
        "external_id": external_id, "district": "conghua", "community": community,
        "channel": "wechat", "description": description, "reporter": reporter})
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def of_ticket(sink, ticket_id, kind=None, template=None):
    return [m for m in sink.messages(kind) if ticket_id in repr(m)
            and (template is None or m.get("template") == template)]


def test_a_webhook_department_resolves_and_reporter_and_representative_hear_it(stack_with_sink, capsys):
    stack, sink, keys, directory = (stack_with_sink.stack, stack_with_sink.sink,
                                    stack_with_sink.keys, stack_with_sink.directory)
    ticket_id = post_concern(stack, keys, "e2e-power-1", "街口路整条街停电三个小时了，冰箱里的东西都坏了",
                             {"name": "陈先生", "phone": SENTINEL_PHONE, "email": SENTINEL_EMAIL,
                              "wants_feedback": True, "locale": "zh-CN"})

    (hook,) = sink.wait_for(lambda _: of_ticket(sink, ticket_id, "webhook"))
    secret = directory["departments"][WEBHOOK_DEPARTMENT]["webhook"]["secret"]
    dispatch = Webhook(secret).verify(hook["body"], hook["headers"])["data"]
    assert dispatch["ticket_id"] == ticket_id and dispatch["department"] == WEBHOOK_DEPARTMENT
    assert hook["headers"]["webhook-id"] == dispatch["dispatch_id"]
    assert dispatch["reporter"] == {"name": "陈先生", "phone": SENTINEL_PHONE}

    sink.wait_for(lambda _: of_ticket(sink, ticket_id, "sms", "ticket.dispatched.reporter"))
    answered = time.monotonic()
    feedback = requests.post(
        f"{stack.url('routing')}/api/v1/departments/{WEBHOOK_DEPARTMENT}/feedback",
        headers=bearer(keys[f"department:{WEBHOOK_DEPARTMENT}"]), timeout=5,
        json={"dispatch_id": dispatch["dispatch_id"], "status": "resolved",
              "result": "已更换烧毁的变压器，恢复供电"})
    assert feedback.status_code == 200, feedback.text
    assert feedback.json()["status"] == "resolved"

    (sms,) = sink.wait_for(lambda _: of_ticket(sink, ticket_id, "sms", "ticket.resolved.reporter"))
    to_sms = time.monotonic() - answered
    assert sms["to"] == SENTINEL_PHONE and sms["params"]["result"] == "已更换烧毁的变压器，恢复供电"
    mails = sink.wait_for(lambda _: [m for m in of_ticket(sink, ticket_id, "email")
                                     if m["to"] == [SENTINEL_EMAIL] and "变压器" in m["text"]])
    parsed = email.message_from_string(mails[0]["raw"], policy=email.policy.default)
    assert ticket_id in parsed["Subject"]
    representative = directory["representatives"]["rep-li-guorong"]["contact"]["email"]
    sink.wait_for(lambda _: [m for m in of_ticket(sink, ticket_id, "email")
                             if m["to"] == [representative] and "变压器" in m["text"]])
    with capsys.disabled():
        print(f"\n[figure] department's resolved (HTTP) to the reporter's SMS: {to_sms * 1000:.0f} ms")
        kinds = [m["kind"] for m in of_ticket(sink, ticket_id)]
        print(f"[figure] messages for the ticket by channel: "
              f"{ {kind: kinds.count(kind) for kind in sorted(set(kinds))} }")


def test_the_reporters_sms_opens_their_own_page_on_intake(stack_with_sink):
    stack, sink, keys = stack_with_sink.stack, stack_with_sink.sink, stack_with_sink.keys
    ticket_id = post_concern(stack, keys, "e2e-page-1", "街口路的路灯坏了一排，晚上很黑",
                             {"name": "陈先生", "phone": SENTINEL_PHONE, "wants_feedback": True,
                              "locale": "zh-CN"})

    link = sink.reporter_link(ticket_id)
    (sms,) = of_ticket(sink, ticket_id, "sms", "concern.received.reporter")
    assert link.startswith(f"{stack.url('intake')}/c/") and sms["params"]["text"].endswith(link)
    page = requests.get(link, timeout=5)
    assert page.status_code == 200 and ticket_id in page.text
    assert SENTINEL_PHONE not in page.text


def test_notify_killed_mid_batch_beside_a_second_instance_loses_nothing(stack_with_sink, capsys):
    stack, sink, keys, env, logs = (stack_with_sink.stack, stack_with_sink.sink, stack_with_sink.keys,
                                    stack_with_sink.env, stack_with_sink.logs)
    second = Stack(env={**env, "ZD_NOTIFY_PORT": str(free_port())}, names=("notify",),
                   log_dir=str(logs))
    second.start()
    try:
        sink.plan("/sms", [{"delay": 1}] * 60)
        tickets = [post_concern(stack, keys, f"e2e-batch-{n}", f"江埔路{n}号路灯不亮，晚上很黑",
                                {"phone": f"+86139000{n:05d}", "wants_feedback": True},
                                community="jiangpu") for n in range(30)]
        sink.wait_for(lambda _: sum(bool(of_ticket(sink, t, "sms", "concern.received.reporter"))
                                    for t in tickets) >= 5)
        wait_until(lambda: claimed_unsettled() >= 6, what="deliveries under way in both instances")
        stack.crash("notify")
        in_flight = claimed_unsettled()
        stack.start(names=["notify"])
        sink.wait_for(lambda _: all(of_ticket(sink, t, "sms", "concern.received.reporter")
                                    for t in tickets), timeout=90)
        wait_until(lambda: unsettled(tickets) == 0, timeout=90,
                   what="every notification of the batch settled, the dead sender's claims too")
    finally:
        second.stop()
    for ticket_id in tickets:
        assert len(of_ticket(sink, ticket_id, "sms", "concern.received.reporter")) == 1
    told = {m["idempotency_key"] for t in tickets
            for m in of_ticket(sink, t, "sms", "concern.received.reporter")}
    calls = [r for r in sink.requests() if r["key"] in told]
    with capsys.disabled():
        print(f"\n[figure] SIGKILL with {in_flight} deliveries claimed and unsettled (either"
              " instance's)")
        print(f"[figure] after SIGKILL: {len(tickets)} reporters each told once by SMS; the gateway"
              f" got {len(calls)} calls for them and turned away {len(sink.duplicates())} repeated"
              " deliveries by their idempotency key")


def unsettled(tickets):
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT count(*) FROM notify.notifications WHERE ticket_id = ANY(%s)"
                            " AND status <> 'sent'", (tickets,)).fetchone()[0]


def claimed_unsettled():
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT count(*) FROM notify.notifications WHERE status = 'pending'"
                            " AND lease_until > now()").fetchone()[0]


def test_no_reporter_contact_in_any_service_log(stack_with_sink):
    logs = stack_with_sink.logs
    written = {path.name: path.read_text(encoding="utf-8", errors="replace")
               for path in logs.glob("*.log")}
    assert set(written) >= {"intake.log", "routing.log", "notify.log", "reporting.log"}
    assert "sent ticket.resolved.reporter by sms" in written["notify.log"]
    for name, text in written.items():
        for sentinel in SENTINELS:
            assert sentinel not in text, f"{sentinel} in {name}"


def test_every_service_logs_json_lines_and_notify_names_what_each_delivery_is_about(stack_with_sink):
    for path in stack_with_sink.logs.glob("*.log"):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert {line["service"] for line in lines} == {path.stem}, path.name
    notify = [json.loads(line) for line in (stack_with_sink.logs / "notify.log").read_text(
        encoding="utf-8").splitlines()]
    sent = [line for line in notify if line["message"].startswith("sent ticket.resolved.reporter by sms")]
    assert sent
    for line in sent:
        assert line["message"].endswith(f"(ticket {line['ticket_id']})")
        assert line["message_id"] and line["notification_id"].isdigit()
