"""Hot topics over a large window, on the real broker and database: the service keeps
answering (``/health`` within a second) while the grouping computes, and the answer is
the same as the grouping's own.

The read model is seeded directly with the projection's own rows (``rebuild.read_model_rows``
written with ``store.copy_read_model``): 20,000 long concerns of one community, each
with some thirty words drawn from a shared pool, so that every ticket shares words with
thousands of others, the hardest case for a grouping that compares pairs.
"""
import time
from datetime import datetime, timezone
from typing import NamedTuple

import eventlet
import psycopg
import pytest
import requests

from services.common.config import settings
from services.reporting import store, topics
from services.reporting.use_cases.rebuild import read_model_rows
from tests.support.services import running
from tests.support.system import fresh_system
from tests.support.topics import long_concerns

TICKETS = 20_000
END = datetime(2025, 3, 1, tzinfo=timezone.utc)
HEALTH_SECONDS = 1


class ReportingOverLongConcerns(NamedTuple):
    base: str
    keys: dict
    tickets: list  #: the concerns in its read model (``topics.TopicTicket``)


@pytest.fixture(scope="module")
def reporting():
    """Reporting over a read model of TICKETS long concerns of one community."""
    keys, _, _ = fresh_system()
    tickets = long_concerns(TICKETS, END)
    with psycopg.connect(settings().database_url, options="-c search_path=reporting") as conn:
        store.copy_read_model(conn, read_model_rows(tickets), [])
    with running("reporting") as base:
        yield ReportingOverLongConcerns(base, keys, tickets)


@pytest.mark.alone  # timed against the clock: no other shard's work on the cores
def test_health_answers_within_a_second_while_hot_topics_over_20000_tickets_compute(reporting):
    asked = eventlet.spawn(requests.get, f"{reporting.base}/api/v1/reports/hot-topics",
                           params={"district": "baiyun", "days": 30, "as_of": END.isoformat()},
                           headers={"Authorization": f"Bearer {reporting.keys['admin']}"},
                           timeout=600)
    # the test runs on the service's own event loop: were the loop stopped, this loop
    # would stop too, so what is timed is the wait from one answer of /health to the next
    answered = [time.monotonic()]
    while not asked.dead:
        health = requests.get(f"{reporting.base}/health", timeout=600)
        assert health.status_code == 200, health.text
        answered.append(time.monotonic())
        eventlet.sleep(0.05)
    answer = asked.wait()
    assert answer.status_code == 200, answer.text
    waits = [later - earlier for earlier, later in zip(answered, answered[1:], strict=False)]
    print(f"hot topics over {TICKETS} tickets: {answered[-1] - answered[0]:.2f} s;"
          f" /health answered {len(waits)} times meanwhile, at most {max(waits):.2f} s after the last")
    assert max(waits) < HEALTH_SECONDS
    assert len(waits) >= 3, "the grouping was under way while /health was asked"
    body = answer.json()
    assert body["tickets"] == TICKETS
    (group,) = body["groups"]
    assert group["count"] == TICKETS and group["ticket_ids"] == sorted(t.ticket_id for t in reporting.tickets)
    expected = topics.hot_topics([topics.TopicTicket(t.ticket_id, t.category, t.community, t.description,
                                                     t.status, t.received_at) for t in reporting.tickets])
    assert body["groups"] == expected
