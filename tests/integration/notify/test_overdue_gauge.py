"""Notify's backlog gauges on its own tables, in a transaction never committed: a
notification waiting in back-off (its next attempt in the future) is pending but not
overdue; one whose next attempt's time has passed is overdue, counted from when it became
due, unless a courier holds it (its lease not expired: a delivery under way); sent and
given-up ones are neither. And when they were counted."""
import os
import time

import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg.rows import dict_row

from services.common.migrate import migrate
from services.notify import domain, store
from services.notify.courier import observe_backlog
from tests.support.notify import new_ticket_id


@pytest.fixture(scope="module")
def migrated():
    migrate(os.environ["ZD_DATABASE_URL"])


@pytest.fixture
def conn(migrated):
    with psycopg.connect(os.environ["ZD_DATABASE_URL"], row_factory=dict_row,
                         options="-c search_path=notify") as connection:
        connection.execute("DELETE FROM notifications")  # this transaction's view only
        yield connection
        connection.rollback()


def recorded(conn, key, status, created_ago, due_in, leased_for=None):
    """A notification recorded ``created_ago`` seconds ago, next attempt ``due_in`` seconds
    from now (negative: past), leased to a courier ``leased_for`` seconds more (negative:
    the lease expired)."""
    event = domain.Event(f"overdue-{key}", "ticket.assigned", {"ticket_id": new_ticket_id()}, {})
    store.record_notification(conn, event, domain.Notification(
        f"representative:{key}", "sms", "+8613800000001", "ticket.assigned.representative"),
        key, status)
    conn.execute("UPDATE notifications SET created_at = now() - make_interval(secs => %s),"
                 " next_attempt_at = now() + make_interval(secs => %s)"
                 " WHERE idempotency_key = %s", (created_ago, due_in, key))
    if leased_for is not None:
        conn.execute("UPDATE notifications SET lease_until = now() + make_interval(secs => %s)"
                     " WHERE idempotency_key = %s", (leased_for, key))


def gauges():
    return {name: REGISTRY.get_sample_value(name) for name in (
        "zd_notifications_pending", "zd_notifications_oldest_pending_seconds",
        "zd_notifications_overdue", "zd_notifications_overdue_seconds")}


def test_a_notification_in_back_off_is_pending_but_not_overdue(conn):
    recorded(conn, "flaky-webhook", "pending", created_ago=3600, due_in=600)
    recorded(conn, "sent-long-ago", "sent", created_ago=7200, due_in=-7000)
    recorded(conn, "given-up", "failed", created_ago=7200, due_in=-7000)
    observe_backlog(conn)
    assert gauges() == {
        "zd_notifications_pending": 1.0, "zd_notifications_oldest_pending_seconds": 3600.0,
        "zd_notifications_overdue": 0.0, "zd_notifications_overdue_seconds": 0.0}


def test_a_due_notification_not_sent_is_overdue_since_it_became_due(conn):
    recorded(conn, "flaky-webhook", "pending", created_ago=3600, due_in=600)
    recorded(conn, "due-retry", "pending", created_ago=900, due_in=-120)
    recorded(conn, "just-due", "pending", created_ago=30, due_in=-30)
    observe_backlog(conn)
    # now() is the transaction's start: the ages are exact
    assert gauges() == {
        "zd_notifications_pending": 3.0, "zd_notifications_oldest_pending_seconds": 3600.0,
        "zd_notifications_overdue": 2.0, "zd_notifications_overdue_seconds": 120.0}


def test_a_notification_a_courier_is_delivering_is_not_overdue_until_its_lease_expires(conn):
    recorded(conn, "being-sent", "pending", created_ago=900, due_in=-300, leased_for=30)
    recorded(conn, "let-go", "pending", created_ago=900, due_in=-200, leased_for=-10)
    observe_backlog(conn)
    assert gauges() == {
        "zd_notifications_pending": 2.0, "zd_notifications_oldest_pending_seconds": 900.0,
        "zd_notifications_overdue": 1.0, "zd_notifications_overdue_seconds": 200.0}


def test_each_count_says_when_it_was_made(conn):
    before = time.time()
    observe_backlog(conn)
    observed = REGISTRY.get_sample_value("zd_notifications_backlog_observed_timestamp_seconds")
    assert before <= observed <= time.time()
