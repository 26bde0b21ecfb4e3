"""A person's sign-in code, on the real broker and database, through the real notify
service to the development sink: it reaches the person on every channel of their
directory contact, and no log line, no listing and no stored notification keeps it once
sent. A department without a system of its own (web delivery) and its staff are told of
each dispatch. Events are built by the producers' own code (services.common.events,
tests/support/events.py); one notify and one sink serve the module.
"""
import logging
import os
import secrets
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
import requests
from kombu import Connection
from psycopg.rows import dict_row

from services.common import events, topology
from services.common.people import people
from tests.support import events as made
from tests.support.events import T0
from tests.support.notify import new_ticket_id, notify_with_sink
from tests.support.services import wait_until

WU = "office-baiyun-wu"          # phone and email in the demo directory
ZHENG = "office-baiyun-zheng"    # email only, in English
STREET = "baiyun-jingtai-street"  # delivery: web, one staff member
LIANG = "street-jingtai-liang"
PARKED_QUEUE = "zd.notify.events.parked"


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    with notify_with_sink(tmp_path_factory.mktemp("sign-in")) as started:
        yield started


@pytest.fixture
def logged(caplog):
    caplog.set_level(logging.DEBUG)  # the most an operator may turn on
    return caplog


def new_code():
    return f"{secrets.randbelow(90_000_000) + 10_000_000}"  # 8 digits: in no other log text


def sign_in_code(person_id, code, locale="zh-CN"):
    return events.sign_in_code(person_id, code, datetime.now(timezone.utc) + timedelta(minutes=10),
                               locale)


def query(sql, *params):
    with psycopg.connect(os.environ["ZD_DATABASE_URL"], row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def stored(event):
    return query("SELECT recipient, channel, template, locale, params, status"
                 " FROM notify.notifications WHERE event_id = %s ORDER BY channel", event.message_id)


def listing(system):
    answer = requests.get(f"{system.base}/api/v1/notifications", params={"limit": 500}, timeout=5,
                          headers={"Authorization": f"Bearer {system.keys['admin']}"})
    assert answer.status_code == 200, answer.text
    return answer.text


def test_a_sign_in_code_reaches_the_person_by_sms_and_email_and_is_kept_nowhere(system, logged):
    code = new_code()
    event = sign_in_code(WU, code)
    made.publish(event)
    sms = system.sink.wait_for(lambda messages: [
        m for m in messages if m["kind"] == "sms" and m["params"].get("code") == code])
    (text,) = sms
    assert text["to"] == "+8613900000001" and text["template"] == "staff.sign_in_code.staff"
    assert f"登录验证码是 {code}" in text["params"]["text"] and "10 分钟内有效" in text["params"]["text"]
    assert "http://127.0.0.1:8002/workbench/" in text["params"]["text"]
    (mail,) = system.sink.wait_for(lambda messages: [
        m for m in messages if m["kind"] == "email" and code in (m["text"] or "")])
    assert mail["to"] == ["wu.min@rd.baiyun.example"] and code in mail["subject"]
    page = requests.get(system.sink.http_url, timeout=5).text  # what `make run` shows a developer
    assert f"登录验证码是 {code}" in page and code not in system.sink.log()  # its log masks all

    sent = wait_until(lambda: (rows := stored(event)) and all(r["status"] == "sent" for r in rows)
                      and rows, what="both notifications recorded as sent")
    assert [(r["recipient"], r["channel"], r["template"]) for r in sent] == [
        (f"staff:{WU}", "email", "staff.sign_in_code.staff"),
        (f"staff:{WU}", "sms", "staff.sign_in_code.staff")]
    assert all("code" not in r["params"] and r["params"]["person_id"] == WU for r in sent)
    assert code not in listing(system)
    assert f"staff:{WU}" in listing(system)
    assert code not in logged.text, "the code is in the log"
    assert any("staff.sign_in_code.staff" in r.getMessage() for r in logged.records)


def test_a_sign_in_code_in_english_to_an_email_only_person(system, logged):
    code = new_code()
    event = sign_in_code(ZHENG, code, locale="en")
    made.publish(event)
    (mail,) = system.sink.wait_for(lambda messages: [
        m for m in messages if m["kind"] == "email" and code in (m["text"] or "")])
    assert f"Your Zero Distance sign-in code is {code}, valid 10 minutes" in mail["text"]
    assert mail["to"] == ["zheng.ke@rd.baiyun.example"]
    wait_until(lambda: [r["status"] for r in stored(event)] == ["sent"], what="the email sent")
    assert code not in logged.text


def parked_copies(message_id):
    """Take what waits in notify's parking queue; the copies of ``message_id``."""
    queue = next(q for q in topology.parked_queues() if q.name == PARKED_QUEUE)
    with Connection(os.environ["ZD_AMQP_URI"]) as connection:
        bound = queue(connection.channel())
        taken = []
        while (message := bound.get(no_ack=True)) is not None:
            taken.append(message)
    return [m for m in taken if m.headers.get("x-original-message-id") == message_id]


def test_a_sign_in_code_for_nobody_of_the_directory_is_dropped_without_a_trace_of_it(system, logged):
    code = new_code()
    event = sign_in_code("office-baiyun-gone", code)
    made.publish(event)
    wait_until(lambda: query("SELECT 1 FROM notify.inbox WHERE message_id = %s", event.message_id),
               what="the event handled")
    assert stored(event) == []
    assert parked_copies(event.message_id) == []
    said = [r for r in logged.records if "office-baiyun-gone" in r.getMessage()]
    assert said and said[0].levelno == logging.INFO
    assert code not in logged.text


def test_an_unusable_sign_in_code_is_parked_without_its_code(system, logged):
    code = new_code()
    event = sign_in_code(WU, code)
    made.publish(events.Event(event.type, {**event.body, "expires_at": "soon"}, event.message_id))
    (parked,) = wait_until(lambda: parked_copies(event.message_id), what="the parked copy")
    assert parked.payload["code"] == "(withheld)" and parked.payload["person_id"] == WU
    assert "expires_at" in parked.headers["x-park-reason"] and code not in repr(parked.headers)
    assert code not in logged.text


def test_a_web_department_and_its_staff_hear_of_a_dispatch_and_no_webhook_is_called(system):
    ticket_id = new_ticket_id()
    ticket = made.ticket_row(ticket_id, "dispatched", 4, representative="rep-liu-hanli",
                             feedback_requested=True, title="邻里纠纷")
    dispatch = made.dispatch_row(ticket_id, STREET, T0, dispatch_id=f"D-{ticket_id}")
    made.publish(made.department_dispatched(ticket, dispatch, system.directory,
                                            reporter={"name": "张三", "phone": "+8613912345678"}))
    told = system.sink.wait_for(lambda messages: (found := [
        m for m in messages if ticket_id in repr(m)]) and len(found) >= 3 and found)
    kinds = sorted((m["kind"], m["to"] if m["kind"] != "email" else m["to"][0]) for m in told)
    assert kinds == [("email", "duty@jingtai.baiyun.example"),
                     ("email", "liang.wen@jingtai.baiyun.example"),
                     ("sms", "+8613900000021")]
    (sms,) = [m for m in told if m["kind"] == "sms"]
    assert sms["template"] == "department.dispatched.department"
    assert f"新派单“邻里纠纷”（编号 {ticket_id}）" in sms["params"]["text"]
    assert "/workbench/" in sms["params"]["text"]
    assert "+8613912345678" not in repr(told) and "张三" not in repr(told)
    assert not [m for m in system.sink.messages("webhook") if ticket_id in repr(m)]


def test_a_sign_in_code_is_claimed_before_a_backlog_and_forgets_its_code_once_settled(system):
    """On notify's own tables, in a transaction never committed: the running courier never
    sees these rows."""
    from services.common.errors import Conflict
    from services.notify import domain, store
    from services.notify.use_cases import resending
    backlog = domain.Event("backlog-event", "ticket.assigned", {"ticket_id": new_ticket_id()}, {})
    code_event = domain.Event(sign_in_code(WU, "1").message_id, events.STAFF_SIGN_IN_CODE, {}, {})
    with psycopg.connect(os.environ["ZD_DATABASE_URL"], row_factory=dict_row,
                         options="-c search_path=notify") as conn:
        for number in range(5):
            store.record_notification(conn, backlog, domain.Notification(
                f"representative:rep-{number}", "sms", "+8613800000001",
                "ticket.assigned.representative"), f"backlog-{number}")
        (told,) = [n for n in domain.sign_in_code_notifications(
            domain.read_sign_in_code(sign_in_code(WU, "24681357").body),
            next(p for p in people(system.directory) if p.id == WU), datetime.now(timezone.utc))
            if n.channel == "sms"]
        store.record_notification(conn, code_event, told, "sign-in-key")
        (first,) = store.claim_due(conn, "sms", 1, 30, 4)
        assert first["template"] == "staff.sign_in_code.staff"
        assert [row["template"] for row in store.claim_due(conn, "sms", 10, 30, 4)] == [
            "ticket.assigned.representative"] * 4  # four senders at once, the code's among them

        def params():
            return conn.execute("SELECT params FROM notifications WHERE id = %s",
                                (first["id"],)).fetchone()["params"]
        assert store.settle(conn, first["id"], 1, "retry", "HTTP 503", retry_in=0)
        assert params()["code"] == "24681357"  # still to be sent
        conn.execute("UPDATE notifications SET attempts = 2, lease_until = now() + interval '30s'"
                     " WHERE id = %s", (first["id"],))
        assert store.settle(conn, first["id"], 2, "sent")
        assert "code" not in params() and params()["person_id"] == WU
        conn.execute("UPDATE notifications SET status = 'failed' WHERE id = %s", (first["id"],))
        with pytest.raises(Conflict, match="sign-in code: it is not sent again"):
            resending.send_again(conn, first["id"])  # its code is forgotten: a new one is asked for
        conn.rollback()
