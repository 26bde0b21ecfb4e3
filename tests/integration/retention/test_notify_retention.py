"""What notify keeps of a reporter, anonymised in place on the real database: the contact,
each notification's address and a webhook dispatch's reporter, an attempt's outcome that
quoted an address; a notification still waiting for the reporter is skipped."""
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.common.config import settings
from services.common.messaging import ParkMessage
from services.common.personal_data import ANONYMISED
from services.notify.use_cases import retention
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


def test_a_notice_without_its_ticket_is_parked(notify_db):
    with pytest.raises(ParkMessage):
        retention.anonymise_reporter(notify_db, {"reason": "expired"})
