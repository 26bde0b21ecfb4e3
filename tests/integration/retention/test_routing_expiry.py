"""Which tickets routing finds expired, on the real database: final for the district's
days, and a merged ticket only once its original is final for as long (its reporter
still hears of the original's result and may rate it)."""
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from services.common.config import settings
from services.common.directory import load_directory
from services.routing.use_cases import retention, workflow
from tests.support.system import DEMO_DIRECTORY, reset_database

NOW = workflow.now()
LONG_AGO = NOW - timedelta(days=200)


@pytest.fixture
def routing_db():
    reset_database()
    with psycopg.connect(settings().database_url, row_factory=dict_row,
                         options="-c search_path=routing") as conn:
        yield conn


def ticket(conn, ticket_id, status, since, merged_into=None, district="conghua"):
    conn.execute("INSERT INTO tickets (ticket_id, status, district, channel, description,"
                 " submitted_at, received_at, status_since, merged_into, feedback_requested)"
                 " VALUES (%s, %s, %s, 'app', '街口路下水道堵塞', %s, %s, %s, %s, true)",
                 (ticket_id, status, district, since, since, since, merged_into))
    conn.execute("INSERT INTO dispatch_contacts (ticket_id, name, phone) VALUES (%s, '孙先生',"
                 " '+8613900007777')", (ticket_id,))


def expired(conn):
    return retention.expire(conn, load_directory(DEMO_DIRECTORY), NOW)["tickets"]


def announced(conn):
    return [row["body"]["ticket_id"] for row in conn.execute(
        "SELECT body FROM outbox WHERE type = 'personal_data.expired' ORDER BY id").fetchall()]


def test_a_merged_tickets_days_count_from_its_originals_end(routing_db):
    conn = routing_db
    ticket(conn, "ORIGINAL", "dispatched", LONG_AGO)
    ticket(conn, "REPEAT", "merged", LONG_AGO, merged_into="ORIGINAL")
    ticket(conn, "RECENT", "closed", NOW - timedelta(days=10))
    ticket(conn, "OPEN", "assigned", LONG_AGO)
    assert expired(conn) == 0 and announced(conn) == []
    conn.execute("UPDATE tickets SET status = 'closed', status_since = %s"
                 " WHERE ticket_id = 'ORIGINAL'", (NOW - timedelta(days=1),))
    assert expired(conn) == 0  # closed only yesterday: its repeat's reporter may still rate
    conn.execute("UPDATE tickets SET status_since = %s WHERE ticket_id = 'ORIGINAL'", (LONG_AGO,))
    assert expired(conn) == 2
    assert sorted(announced(conn)) == ["ORIGINAL", "REPEAT"]
    kept = {row["ticket_id"]: row["name"] for row in conn.execute(
        "SELECT ticket_id, name FROM dispatch_contacts").fetchall()}
    assert kept == {"ORIGINAL": None, "REPEAT": None, "RECENT": "孙先生", "OPEN": "孙先生"}
    assert expired(conn) == 0  # once


def test_a_dispatch_message_waiting_in_the_outbox_goes_out_anonymised(routing_db):
    conn = routing_db
    ticket(conn, "OLD", "rejected", LONG_AGO)
    conn.execute("INSERT INTO outbox (message_id, exchange, routing_key, type, body)"
                 " VALUES ('D-OLD', 'zd.dispatch', 'dept.conghua-water', 'dispatch', %s)",
                 (Jsonb({"dispatch_id": "D-OLD", "ticket_id": "OLD",
                         "reporter": {"name": "孙先生", "phone": "+8613900007777"}}),))
    assert retention.expire(conn, load_directory(DEMO_DIRECTORY), NOW)["outbox"] == 1
    (row,) = conn.execute("SELECT body::text FROM outbox WHERE message_id = 'D-OLD'").fetchall()
    assert "+8613900007777" not in row["body"] and "(anonymised)" in row["body"]
