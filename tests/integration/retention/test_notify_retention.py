"""What notify keeps of a reporter, anonymised in place on the real database: the contact
(its page token among its details), each notification's address and a webhook dispatch's
reporter, an attempt's outcome that quoted an address or the link to the reporter's page;
a notification still waiting for the reporter is skipped, and one sent again after that
is claimed without a page token (no link)."""
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.common.config import settings
from services.common.messaging import ParkMessage
from services.common.personal_data import ANONYMISED
from services.notify import store
from services.notify.use_cases import resending, retention
from tests.support.system import reset_database

TICKET = "ZD20261205-A11CE001"
CONTACT = {"name": "钱女士", "phone": "+8613955550001", "email": "qian@retention.example",
           "wechat_openid": "o-retention-qian", "locale": "zh-CN"}


@pytest.fixture
def notify_db():
    reset_database()
    with psycopg.connect(settings().database_url, row_factory=dict_row,
                         options="-c search_path=notify") as conn:
        yield conn


def notification(conn, recipient, channel, address, params, status="sent", detail=None):
    row = conn.execute(
        "INSERT INTO notifications (event_id, ticket_id, event_type, recipient, channel, address,"
        " template, params, idempotency_key, status) VALUES (%s, %s, 'ticket.dispatched', %s, %s,"
        " %s, 'ticket.dispatched.x', %s, %s, %s) RETURNING id",
        (f"event-{recipient}-{channel}", TICKET, recipient, channel, address, Jsonb(params),
         f"key-{recipient}-{channel}", status)).fetchone()
    if detail:
        conn.execute("INSERT INTO notification_attempts (notification_id, attempt, outcome, detail)"
                     " VALUES (%s, 1, 'retry', %s)", (row["id"], detail))
    return row["id"]


def test_notify_keeps_the_notifications_but_no_detail_of_the_reporter(notify_db):
    conn = notify_db
    conn.execute("INSERT INTO ticket_reporters (ticket_id, contact, feedback_requested)"
                 " VALUES (%s, %s, true)", (TICKET, Jsonb(CONTACT)))
    email = notification(conn, "reporter", "email", CONTACT["email"], {"ticket_id": TICKET},
                         detail=f"550 mailbox <{CONTACT['email']}> full")
    sms = notification(conn, "reporter", "sms", CONTACT["phone"], {"ticket_id": TICKET},
                       status="pending")
    webhook = notification(conn, "department:gz-power-supply", "webhook", "https://power.example/zd",
                           {"dispatch_id": "D1", "ticket_id": TICKET,
                            "reporter": {"name": CONTACT["name"], "phone": CONTACT["phone"]}},
                           detail=f"HTTP 500: bad reporter {CONTACT['phone']}")
    office = notification(conn, "office:conghua", "email", "office@conghua.example",
                          {"ticket_id": TICKET})

    retention.anonymise_reporter(conn, {"ticket_id": TICKET, "reason": "expired"})

    rows = {row["id"]: row for row in conn.execute(
        "SELECT id, address, params, status FROM notifications").fetchall()}
    assert rows[email]["address"] == rows[sms]["address"] == ANONYMISED
    assert rows[sms]["status"] == "skipped" and rows[email]["status"] == "sent"
    assert rows[webhook]["params"]["reporter"] == {"name": ANONYMISED, "phone": ANONYMISED}
    assert rows[webhook]["address"] == "https://power.example/zd"  # the department's
    assert rows[office]["address"] == "office@conghua.example"
    details = [row["detail"] for row in conn.execute(
        "SELECT detail FROM notification_attempts ORDER BY id").fetchall()]
    assert details == [f"550 mailbox <{ANONYMISED}> full", f"HTTP 500: bad reporter {ANONYMISED}"]
    (reporter,) = conn.execute("SELECT contact FROM ticket_reporters").fetchall()
    assert reporter["contact"] == {"locale": "zh-CN", "anonymised": True}
    everything = repr(conn.execute("SELECT * FROM notifications").fetchall()) + repr(
        conn.execute("SELECT * FROM ticket_reporters").fetchall())
    assert not any(value in everything for value in CONTACT.values() if value != "zh-CN")


TOKEN = "pg-Xq3-9fT_k2LmNoPqRsTuVw"


def claimed_page_tokens(conn, channel):
    return {row["recipient"]: row["page_token"]
            for row in store.claim_due(conn, channel, 10, 30, per_destination=10)}


def test_a_reporters_page_token_is_claimed_with_their_notification_until_it_is_anonymised(notify_db):
    conn = notify_db
    conn.execute("INSERT INTO ticket_reporters (ticket_id, contact, feedback_requested)"
                 " VALUES (%s, %s, true)", (TICKET, Jsonb({**CONTACT, "page_token": TOKEN})))
    to_reporter = notification(conn, "reporter", "sms", CONTACT["phone"], {"ticket_id": TICKET},
                               status="pending")
    notification(conn, "representative:rep-liu", "sms", "+8613800000001", {"ticket_id": TICKET},
                 status="pending")
    assert claimed_page_tokens(conn, "sms") == {"reporter": TOKEN, "representative:rep-liu": None}
    conn.execute("UPDATE notifications SET lease_until = NULL")

    retention.anonymise_reporter(conn, {"ticket_id": TICKET, "reason": "erasure"})
    resending.send_again(conn, to_reporter)  # an operator sends the skipped one again

    assert claimed_page_tokens(conn, "sms") == {"reporter": None, "representative:rep-liu": None}
    everything = repr(conn.execute("SELECT * FROM notifications").fetchall()) + repr(
        conn.execute("SELECT * FROM ticket_reporters").fetchall())
    assert TOKEN not in everything


def test_an_attempt_that_quoted_the_link_to_the_reporters_page_is_scrubbed(notify_db):
    conn = notify_db
    conn.execute("INSERT INTO ticket_reporters (ticket_id, contact, feedback_requested)"
                 " VALUES (%s, %s, true)", (TICKET, Jsonb({**CONTACT, "page_token": TOKEN})))
    notification(conn, "reporter", "wechat", CONTACT["wechat_openid"], {"ticket_id": TICKET},
                 detail=f"HTTP 400: template rejects https://zd.example/c/{TOKEN}")

    retention.anonymise_reporter(conn, {"ticket_id": TICKET, "reason": "expired"})

    (attempt,) = conn.execute("SELECT detail FROM notification_attempts").fetchall()
    assert attempt["detail"] == f"HTTP 400: template rejects https://zd.example/c/{ANONYMISED}"
    (reporter,) = conn.execute("SELECT contact FROM ticket_reporters").fetchall()
    assert reporter["contact"] == {"locale": "zh-CN", "anonymised": True}


def test_a_notice_without_its_ticket_is_parked(notify_db):
    with pytest.raises(ParkMessage):
        retention.anonymise_reporter(notify_db, {"reason": "expired"})
