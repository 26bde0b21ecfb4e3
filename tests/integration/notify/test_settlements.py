"""Many attempts settled in one statement (``store.settle_many``), on notify's own tables in
a transaction never committed: each attempt recorded, only by the holder of the attempt; a
notification given back unsent (``released``) is due again with its attempt taken back and
no attempt recorded; a sign-in code forgotten once sent."""
import os
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg.rows import dict_row

from services.notify import domain, store
from tests.support.notify import new_ticket_id
from tests.support.system import reset_database


@pytest.fixture
def conn():
    reset_database()
    with psycopg.connect(os.environ["ZD_DATABASE_URL"], row_factory=dict_row,
                         options="-c search_path=notify") as connection:
        yield connection
        connection.rollback()


def recorded(conn, names):
    event = domain.Event("settle-event", "ticket.assigned", {"ticket_id": new_ticket_id()}, {})
    for name in names:
        template, params = ((domain.SIGN_IN_CODE_TEMPLATE, {"code": "24681357", "person_id": "p"})
                            if name == "code" else ("ticket.assigned.representative", {}))
        store.record_notification(conn, event, domain.Notification(
            f"representative:{name}", "sms", "+8613800000001", template, params=params), name)
    claimed = store.claim_due(conn, "sms", 10, 30, 10)
    return {row["idempotency_key"]: row for row in claimed}


def row(conn, notification_id):
    return conn.execute("SELECT status, attempts, lease_until, sent_at, next_attempt_at, params,"
                        " last_error FROM notifications WHERE id = %s", (notification_id,)).fetchone()


def test_many_attempts_are_settled_at_once_each_recorded_by_its_holder_only(conn):
    claimed = recorded(conn, ["sent", "retried", "stale", "released", "code"])
    ids = {key: claimed[key]["id"] for key in claimed}
    settled = store.settle_many(conn, [
        {"id": ids["sent"], "attempt": 1, "outcome": "sent", "seconds": 0.01},
        {"id": ids["retried"], "attempt": 1, "outcome": "retry", "detail": "HTTP 503",
         "seconds": 0.02, "retry_in": 60},
        {"id": ids["stale"], "attempt": 2, "outcome": "sent", "seconds": 0.01},  # not its holder
        {"id": ids["released"], "attempt": 1, "outcome": "released"},
        {"id": ids["code"], "attempt": 1, "outcome": "sent", "seconds": 0.01},
    ])
    assert settled == {ids["sent"], ids["retried"], ids["released"], ids["code"]}
    now = datetime.now(timezone.utc)
    assert row(conn, ids["sent"])["status"] == "sent" and row(conn, ids["sent"])["sent_at"]
    retried = row(conn, ids["retried"])
    assert (retried["status"], retried["last_error"]) == ("pending", "HTTP 503")
    assert retried["next_attempt_at"] > now + timedelta(seconds=50) and retried["lease_until"] is None
    stale = row(conn, ids["stale"])
    assert (stale["status"], stale["attempts"]) == ("pending", 1) and stale["lease_until"] is not None
    released = row(conn, ids["released"])
    assert (released["status"], released["attempts"], released["lease_until"]) == ("pending", 0, None)
    assert "code" not in row(conn, ids["code"])["params"]
    attempts = conn.execute("SELECT notification_id, attempt, outcome, detail FROM"
                            " notification_attempts ORDER BY notification_id").fetchall()
    assert [(a["notification_id"], a["attempt"], a["outcome"], a["detail"]) for a in attempts] == sorted([
        (ids["sent"], 1, "sent", None), (ids["retried"], 1, "retry", "HTTP 503"),
        (ids["code"], 1, "sent", None)])
    (again,) = store.claim_due(conn, "sms", 10, 30, 10)  # the released one, due at once
    assert (again["id"], again["attempts"]) == (ids["released"], 1)


def test_nothing_to_settle_is_no_statement(conn):
    assert store.settle_many(conn, []) == set()
