"""Every message to a reporter links their concern's own page, on the real broker and
database, through the development sink: the SMS gateway receives ``params.link`` made of
``ZD_REPORTER_LINK`` and the page token intake sent in the reporter's contact; a
reporter who has not rated a resolution is reminded, with the link; once the reporter's
details expire, no row of notify's schema holds the token.

Events are built by the producers' own code (services.common.events, tests/support/events.py).
"""
import email
import email.policy
import os
from datetime import timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from services.common import events
from tests.support import events as made
from tests.support.events import T0
from tests.support.notify import new_ticket_id, notify_with_sink
from tests.support.services import wait_until

TOKEN = "pg-Xq3-9fT_k2LmNoPqRsTuVw"  # intake's page token: unguessable, the reporter's alone
REPORTER_LINK = "https://zd.example/c/{token}"
PAGE = f"https://zd.example/c/{TOKEN}"
REPORTER = {"name": "Mr Chen", "phone": "+8613912340001", "email": "chen@residents.example",
            "locale": "en", "wants_feedback": True}
REPRESENTATIVE = "rep-chen-jianguo"  # email, phone and WeChat in the demo directory
RESULT = "The drain was cleared"


@pytest.fixture
def notify_and_sink(tmp_path):
    with notify_with_sink(tmp_path, ZD_REPORTER_LINK=REPORTER_LINK) as started:
        yield started


def query(statement, *params):
    with psycopg.connect(os.environ["ZD_DATABASE_URL"], row_factory=dict_row) as conn:
        return conn.execute(statement, params).fetchall()


def concern_with_its_page(ticket_id):
    """What intake emits for a new concern whose reporter asked for feedback: the contact
    carries the token of the reporter's own page."""
    contact = events.reporter_contact(ticket_id, REPORTER, page_token=TOKEN)
    return [contact, *(event for event in made.concern_events(ticket_id, reporter=REPORTER)
                       if event.type != events.REPORTER_CONTACT)]


def resolved_ticket(ticket_id, version):
    return made.ticket_row(ticket_id, "resolved", version, representative=REPRESENTATIVE,
                           result=RESULT, resolved_at=T0 + timedelta(hours=3),
                           feedback_requested=True)


def resolved(ticket_id, directory):
    timeline = [made.entry(T0 + timedelta(hours=3), "department:baiyun-water", "resolve",
                           "in_progress", "resolved", RESULT)]
    return made.ticket_event("resolved", resolved_ticket(ticket_id, 5), directory,
                             timeline=timeline)


def reminded(ticket_id, directory):
    """Routing's reminder: the reporter has not rated the resolution after some days."""
    timeline = [made.entry(T0 + timedelta(days=3), "system", "remind", "resolved", "resolved")]
    return made.ticket_event("reminded", resolved_ticket(ticket_id, 6), directory,
                             timeline=timeline)


def to_the_reporter(sink, ticket_id, template, kind="sms"):
    return [m for m in sink.messages(kind) if m.get("template") == template
            and m["params"].get("ticket_id") == ticket_id]


def rows_holding(text):
    """``(table, column)`` of every text, json and jsonb column of notify's schema that holds
    ``text`` in some row."""
    columns = query("SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = 'notify' AND data_type IN"
                    " ('text', 'character varying', 'json', 'jsonb')")
    assert {(c["table_name"], c["column_name"]) for c in columns} >= {
        ("ticket_reporters", "contact"), ("notifications", "params"),
        ("notifications", "address"), ("notification_attempts", "detail"),
        ("held_events", "ticket"), ("outbox", "body"), ("inbox", "message_id")}
    found = []
    for column in columns:
        statement = sql.SQL("SELECT 1 FROM notify.{} WHERE strpos({}::text, %s) > 0 LIMIT 1").format(
            sql.Identifier(column["table_name"]), sql.Identifier(column["column_name"]))
        if query(statement, text):
            found.append((column["table_name"], column["column_name"]))
    return found


def test_the_sms_gateway_receives_the_link_to_the_reporters_own_page(notify_and_sink):
    sink, directory = notify_and_sink.sink, notify_and_sink.directory
    ticket_id = new_ticket_id()
    made.publish(*concern_with_its_page(ticket_id), resolved(ticket_id, directory))

    for template in ("concern.received.reporter", "ticket.resolved.reporter"):
        (sms,) = sink.wait_for(lambda _, template=template: to_the_reporter(sink, ticket_id, template))
        assert sms["to"] == REPORTER["phone"] and sms["locale"] == "en"
        assert sms["params"]["link"] == PAGE
        assert sms["params"]["text"].endswith(PAGE)
    (result_sms,) = to_the_reporter(sink, ticket_id, "ticket.resolved.reporter")
    assert result_sms["params"]["text"] == (f"Zero Distance: your concern {ticket_id} has been"
                                            f" resolved: {RESULT}. Rate it (unsatisfied reopens"
                                            f" it): {PAGE}")
    assert sink.reporter_link(ticket_id) == PAGE

    (mail,) = sink.wait_for(lambda _: [m for m in sink.messages("email")
                                       if m["to"] == [REPORTER["email"]] and RESULT in m["text"]])
    assert f"Rate it here: {PAGE}" in mail["text"]
    assert f'<a href="{PAGE}"' in mail["html"] and "Follow your concern</a>" in mail["html"]

    sink.wait_for(lambda _: [m for m in sink.messages("sms")
                             if m["template"] == "ticket.resolved.representative"
                             and m["params"].get("ticket_id") == ticket_id])
    to_others = [m for m in sink.messages() if m.get("to") not in (REPORTER["phone"],
                                                                   [REPORTER["email"]])]
    assert to_others and all(TOKEN not in repr(message) for message in to_others)
    # the link is made as each message is sent: notify keeps the token with the contact only
    assert rows_holding(TOKEN) == [("ticket_reporters", "contact")]


def test_a_reporter_who_has_not_rated_is_reminded_with_the_link(notify_and_sink):
    sink, directory = notify_and_sink.sink, notify_and_sink.directory
    ticket_id = new_ticket_id()
    made.publish(*concern_with_its_page(ticket_id), resolved(ticket_id, directory),
                 reminded(ticket_id, directory))

    (sms,) = sink.wait_for(lambda _: to_the_reporter(sink, ticket_id, "ticket.reminded.reporter"))
    assert sms["params"]["link"] == PAGE and sms["params"]["result"] == RESULT
    assert sms["params"]["text"] == (f"Zero Distance: you have not yet rated the result of your"
                                     f" concern {ticket_id}. Rate it here: {PAGE}")
    (mail,) = sink.wait_for(lambda _: [m for m in sink.messages("email")
                                       if m["to"] == [REPORTER["email"]]
                                       and "not yet rated" in m["text"]])
    subject = email.message_from_string(mail["raw"], policy=email.policy.default)["Subject"]
    assert subject == f"Zero Distance: your concern {ticket_id} awaits your rating"
    assert f"Rate it here: {PAGE}" in mail["text"]
    told = query("SELECT recipient, channel FROM notify.notifications WHERE ticket_id = %s"
                 " AND event_type = 'ticket.reminded' ORDER BY channel", ticket_id)
    assert told == [{"recipient": "reporter", "channel": "email"},
                    {"recipient": "reporter", "channel": "sms"}]


def test_once_the_reporters_details_expire_no_row_of_notify_holds_the_token(notify_and_sink):
    sink, directory = notify_and_sink.sink, notify_and_sink.directory
    ticket_id = new_ticket_id()
    made.publish(*concern_with_its_page(ticket_id), resolved(ticket_id, directory))
    sink.wait_for(lambda _: to_the_reporter(sink, ticket_id, "ticket.resolved.reporter"))
    assert rows_holding(TOKEN) == [("ticket_reporters", "contact")]

    made.publish(events.personal_data_expired(ticket_id))

    wait_until(lambda: query("SELECT 1 FROM notify.ticket_reporters WHERE ticket_id = %s"
                             " AND contact ->> 'anonymised' = 'true'", ticket_id),
               what="the reporter anonymised")
    assert rows_holding(TOKEN) == []
    (reporter,) = query("SELECT contact FROM notify.ticket_reporters WHERE ticket_id = %s",
                        ticket_id)
    assert reporter["contact"] == {"locale": "en", "anonymised": True}
