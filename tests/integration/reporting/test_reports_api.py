"""The reporting service against the real PostgreSQL and RabbitMQ.

``concern.received`` and ``ticket.*`` events are built by intake's and routing's own
code (tests/support/events.py) and published to ``zd.events``; each test uses its own
tickets and its own window of days in the past, so the tests share one running service.
"""
import codecs
import csv
import io
import uuid
from datetime import datetime, timezone

import psycopg
import pytest
import requests
from kombu import Connection, Producer

from services.common import events as events_of
from services.common import topology
from services.common.config import settings
from tests.support import events as made
from tests.support.queues import confirmed_connection
from tests.support.services import messages_consumed, running, wait_until
from tests.support.system import fresh_system
from tests.support.ticket_life import TicketLife

SUMMARY = "/api/v1/reports/summary"


@pytest.fixture(scope="module")
def clean_system():
    return fresh_system()


@pytest.fixture(scope="module")
def keys(clean_system):
    """Every party's API key, by party (``admin``, ``congress:baiyun``, ...)."""
    return clean_system.keys


@pytest.fixture(scope="module")
def directory(clean_system):
    return clean_system.directory


@pytest.fixture(scope="module")
def reporting(keys):
    """The base URL of reporting, running with every key known."""
    with running("reporting") as base:
        wait_until(lambda: get(base, keys["admin"], SUMMARY).status_code == 200,
                   what="reporting knows the admin key")
        wait_until(lambda: get(base, keys["frontend:baiyun"], SUMMARY).status_code == 403,
                   what="reporting knows every key")
        yield base


def get(base, key, path, **params):
    return requests.get(f"{base}{path}", params=params, timeout=5,
                        headers={"Authorization": f"Bearer {key}"} if key else {})


def at(day, hour, minute=0, month=3):
    return datetime(2024, month, day, hour, minute, tzinfo=timezone.utc)


class Events:
    """Publishes events as the services do, and waits until reporting applied them."""

    def __init__(self):
        self.message_ids = []

    def publish(self, event_type, body, message_id=None):
        message_id = message_id or str(uuid.uuid4())
        with confirmed_connection() as connection:
            Producer(connection.channel()).publish(
                body, exchange=topology.EVENTS.name, routing_key=event_type, type=event_type,
                message_id=message_id, delivery_mode=2, serializer="json")
        self.message_ids.append(message_id)
        return message_id

    def concern(self, ticket_id, received_at, district="baiyun", reporter=None, **fields):
        """What intake emits for a new concern; returns the id of its ``concern.received``."""
        sent = made.concern_events(ticket_id, received_at, reporter=reporter, district=district,
                                   **fields)
        made.publish(*sent)
        (received,) = [event for event in sent if event.type == "concern.received"]
        self.message_ids.append(received.message_id)
        return received.message_id

    def send(self, *sent):
        """Publish events built by their producers' code; returns their message ids."""
        message_ids = made.publish(*sent)
        self.message_ids += message_ids
        return message_ids

    def wait_applied(self, *message_ids):
        wanted = set(message_ids or self.message_ids)

        def all_in_inbox():
            with psycopg.connect(settings().database_url, connect_timeout=5) as conn:
                rows = conn.execute("SELECT message_id FROM reporting.inbox"
                                    " WHERE message_id = ANY(%s)", (list(wanted),)).fetchall()
            return len(rows) == len(wanted)
        wait_until(all_in_inbox, what=f"reporting applied {len(wanted)} events")


def assigned(directory, ticket_id, received_at):
    """A concern received in baiyun and assigned to rep-liu-hanli at once: its life."""
    return TicketLife(directory, ticket_id, received_at).assigned(received_at, "rep-liu-hanli")


def consumed(base, outcome):
    """How many messages reporting's queue consumer counted with ``outcome``."""
    return messages_consumed(base, queue="zd.reporting.events", outcome=outcome)


def summary(base, key, **params):
    answer = get(base, key, SUMMARY, **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_summary_counts_every_figure_of_the_tickets_received_in_the_window(
        keys, directory, reporting):
    events = Events()
    day = lambda hour, minute=0, plus=0: at(1 + plus, hour, minute)  # noqa: E731
    # T1: dispatched after 1 h, resolved 3 h later, on time, closed, satisfied
    events.send(*assigned(directory, "R1-T1", day(1)).forwarded(day(2))
                .dispatched(day(2), "baiyun-water", due=day(0, plus=3)).resolved(day(5))
                .rated(day(6), "satisfied").closed(day(6)).events)
    # T2: dispatched after 2 h, resolved 4 days later, late, rated basically satisfied (not
    # closed yet)
    events.send(*assigned(directory, "R1-T2", day(2)).forwarded(day(4))
                .dispatched(day(4), "baiyun-water", due=day(4, plus=3)).resolved(day(4, plus=4))
                .rated(day(5, plus=4), "basically_satisfied").events)
    # T3: dispatched after 30 min, in progress
    events.send(*assigned(directory, "R1-T3", day(3)).forwarded(day(3, 30))
                .dispatched(day(3, 30), "baiyun-water").in_progress(day(4)).events)
    # T4 merged, T5 rejected
    events.send(*assigned(directory, "R1-T4", day(4)).merged(day(4, 30), into="R1-T1").events)
    events.send(*assigned(directory, "R1-T5", day(5)).rejected(day(5, 30)).events)
    # T6: resolved by the representative directly (no dispatch, no due time), closed, satisfied
    events.send(*assigned(directory, "R1-T6", day(6)).resolved(day(8))
                .rated(day(9), "satisfied").closed(day(9)).events)
    # T7: dispatched after 10 min, resolved 1 h later but after its due time,
    # rated unsatisfied and reopened: forwarded again, first resolution kept
    events.send(*assigned(directory, "R1-T7", day(7)).forwarded(day(7, 10))
                .dispatched(day(7, 10), "baiyun-water", due=day(8)).resolved(day(8, 10))
                .rated(day(9), "unsatisfied").reopened(day(9)).events)
    # not counted: received the next day, or in another district
    events.concern("R1-T8", day(1, plus=1))
    events.concern("R1-T9", day(9), district="tianhe")
    events.wait_applied()

    report = summary(reporting, keys["admin"], district="baiyun",
                     **{"from": "2024-03-01T00:00:00Z", "to": "2024-03-02T00:00:00Z"})

    assert report["district"] == "baiyun"
    assert (report["from"], report["to"]) == ("2024-03-01T00:00:00+00:00",
                                              "2024-03-02T00:00:00+00:00")
    assert report["received"] == 7
    assert report["by_status"] == {"received": 0, "assigned": 0, "forwarded": 1, "dispatched": 0,
                                   "in_progress": 1, "resolved": 1, "closed": 2, "merged": 1,
                                   "rejected": 1}
    assert (report["dispatched"], report["resolved"]) == (4, 3)
    assert report["resolution_rate"] == 0.6          # 3 / (7 - 1 merged - 1 rejected)
    assert report["rectification_rate"] == 0.5       # T1, T2 of T1, T2, T3, T7
    assert report["satisfaction_rate"] == 0.75       # T1, T2, T6 of T1, T2, T6, T7
    assert report["on_time_rate"] == 0.3333          # T1 of T1, T2, T7 (T6 has no due time)
    assert report["transfer_seconds"] == {"p50": 2700.0, "p95": 6660.0}  # 600 1800 3600 7200
    assert report["resolve_seconds"] == {"p50": 10800.0, "p95": 312120.0}  # 3600 10800 345600


def test_a_date_window_is_read_in_the_district_timezone(keys, reporting):
    events = Events()
    events.concern("R2-late-evening", at(1, 15, month=5))   # 23:00 on 1 May in Guangzhou
    events.concern("R2-after-midnight", at(1, 17, month=5))  # 01:00 on 2 May in Guangzhou
    events.wait_applied()

    report = summary(reporting, keys["admin"], district="baiyun",
                     **{"from": "2024-05-01", "to": "2024-05-02"})

    assert (report["from"], report["to"]) == ("2024-05-01T00:00:00+08:00",
                                              "2024-05-02T00:00:00+08:00")
    assert report["received"] == 1
    assert report["by_status"]["received"] == 1
    assert report["resolution_rate"] == 0.0
    assert report["rectification_rate"] is None
    assert report["transfer_seconds"] == {"p50": None, "p95": None}


def test_a_duplicate_message_is_counted_once(keys, reporting):
    events = Events()
    duplicates_before = consumed(reporting, "duplicate")
    message_id = events.concern("R3-T1", at(3, 1, month=6))
    events.wait_applied()
    events.concern("R3-T1", at(3, 1, month=6))
    wait_until(lambda: consumed(reporting, "duplicate") > duplicates_before,
               what="the duplicate was consumed")

    report = summary(reporting, keys["admin"], district="baiyun",
                     **{"from": "2024-06-03T00:00:00Z", "to": "2024-06-04T00:00:00Z"})

    assert report["received"] == 1, message_id


def test_an_older_ticket_version_arriving_late_does_not_overwrite_a_newer_one(
        keys, directory, reporting):
    events = Events()
    received = at(4, 1, month=6)
    ticket = assigned(directory, "R4-T1", received).forwarded(at(4, 2, month=6)) \
        .dispatched(at(4, 2, month=6), "baiyun-water").resolved(at(4, 6, month=6))
    events.send(*ticket.concern_events, ticket.event("resolved"))
    events.wait_applied()
    late = events.send(ticket.event("dispatched"))
    events.wait_applied(*late)

    report = summary(reporting, keys["admin"], district="baiyun",
                     **{"from": "2024-06-04T00:00:00Z", "to": "2024-06-05T00:00:00Z"})

    assert report["by_status"]["resolved"] == 1
    assert report["by_status"]["dispatched"] == 0
    assert report["resolve_seconds"]["p50"] == 4 * 3600.0


def test_a_ticket_event_before_its_concern_is_kept_and_the_concern_still_counted_once(
        keys, directory, reporting):
    events = Events()
    ticket = assigned(directory, "R5-T1", at(5, 1, month=6))
    first = events.send(ticket.event("assigned"))
    events.wait_applied(*first)
    events.send(*ticket.concern_events)
    events.wait_applied()

    report = summary(reporting, keys["admin"], district="baiyun",
                     **{"from": "2024-06-05T00:00:00Z", "to": "2024-06-06T00:00:00Z"})

    assert report["received"] == 1
    assert report["by_status"]["assigned"] == 1
    assert report["by_status"]["received"] == 0


def test_reporter_contact_details_are_never_stored(keys, reporting):
    events = Events()
    events.concern("R6-T1", at(6, 1, month=6),
                   reporter={"name": "王小明", "phone": "+8613911112222", "email": "wxm@example.org",
                             "wechat_openid": "o-wxm", "wants_feedback": True})
    events.wait_applied()

    with psycopg.connect(settings().database_url, connect_timeout=5) as conn:
        stored = conn.execute("SELECT row_to_json(t)::text AS row FROM reporting.report_tickets t"
                              " WHERE ticket_id = 'R6-T1'").fetchone()[0]
    assert "元岗路下水道堵塞" in stored
    assert "+8613911112222" not in stored and "王小明" not in stored and "wxm@" not in stored
    assert "o-wxm" not in stored


def test_a_liaison_office_reads_its_own_district_by_default(keys, reporting):
    report = summary(reporting, keys["congress:baiyun"])
    assert report["district"] == "baiyun"


def test_a_liaison_office_cannot_read_another_district(keys, reporting):
    answer = get(reporting, keys["congress:baiyun"], SUMMARY, district="tianhe")
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_a_frontend_key_is_refused(keys, reporting):
    assert get(reporting, keys["frontend:baiyun"], SUMMARY).status_code == 403


def test_a_request_without_a_key_is_unauthorized(keys, reporting):
    assert get(reporting, None, SUMMARY).status_code == 401


def test_a_bad_from_is_a_problem_with_field_errors(keys, reporting):
    answer = get(reporting, keys["admin"], SUMMARY,
                 **{"from": "last tuesday", "to": "2024-01-01"})
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 400
    assert list(problem["errors"]) == ["from"]


def test_a_window_ending_before_it_starts_is_a_bad_request(keys, reporting):
    answer = get(reporting, keys["admin"], SUMMARY, **{"from": "2024-02-02", "to": "2024-02-01"})
    assert answer.status_code == 400
    assert "to" in answer.json()["errors"]


def test_summary_as_csv_is_one_row_of_flat_figures(keys, reporting):
    events = Events()
    events.concern("R7-T1", at(7, 1, month=6))
    events.wait_applied()

    answer = get(reporting, keys["admin"], SUMMARY, district="baiyun", format="csv",
                 **{"from": "2024-06-07", "to": "2024-06-08"})

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.content.startswith(codecs.BOM_UTF8)  # Excel and WPS then read UTF-8
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["district"] == "baiyun"
    assert rows[0]["received"] == "1"
    assert rows[0]["by_status.received"] == "1"
    assert rows[0]["resolution_rate"] == "0.0"
    assert rows[0]["on_time_rate"] == ""
    assert rows[0]["transfer_seconds.p50"] == ""


def test_by_district_lists_every_district_with_its_own_figures(keys, reporting):
    events = Events()
    events.concern("R8-T1", at(8, 1, month=6))
    events.concern("R8-T2", at(8, 2, month=6))
    events.concern("R8-T3", at(8, 3, month=6), district="tianhe")
    events.wait_applied()

    answer = get(reporting, keys["admin"], "/api/v1/reports/by-district",
                 **{"from": "2024-06-08T00:00:00Z", "to": "2024-06-09T00:00:00Z"})

    assert answer.status_code == 200, answer.text
    received = {group["district"]: group["received"] for group in answer.json()["groups"]}
    assert received == {"baiyun": 2, "tianhe": 1, "conghua": 0}


def test_by_district_as_csv_has_one_row_per_district(keys, reporting):
    events = Events()
    events.concern("R12-T1", at(12, 1, month=6), district="conghua")
    events.wait_applied()

    answer = get(reporting, keys["admin"], "/api/v1/reports/by-district", format="csv",
                 **{"from": "2024-06-12", "to": "2024-06-13"})

    assert answer.status_code == 200
    rows = {row["district"]: row for row in csv.DictReader(io.StringIO(
        answer.content.decode("utf-8-sig")))}
    assert set(rows) == {"baiyun", "tianhe", "conghua"}
    assert rows["conghua"]["received"] == "1" and rows["baiyun"]["received"] == "0"
    assert rows["conghua"]["from"] == "2024-06-12T00:00:00+08:00"


def test_by_category_of_a_liaison_office_covers_its_own_district_only(keys, reporting):
    events = Events()
    events.concern("R9-T1", at(9, 1, month=6), category="parking")
    events.concern("R9-T2", at(9, 2, month=6), category=None)
    events.concern("R9-T3", at(9, 3, month=6), category="parking", district="tianhe")
    events.wait_applied()

    answer = get(reporting, keys["congress:baiyun"], "/api/v1/reports/by-category",
                 **{"from": "2024-06-09T00:00:00Z", "to": "2024-06-10T00:00:00Z"})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["district"] == "baiyun"
    received = {group["category"]: group["received"] for group in body["groups"]}
    assert received["parking"] == 1 and received[None] == 1 and received["drainage"] == 0


def test_by_department_and_by_representative_count_the_tickets_each_one_had(
        keys, directory, reporting):
    events = Events()
    received = at(10, 1, month=6)
    events.send(*assigned(directory, "R10-T1", received).forwarded(at(10, 2, month=6))
                .dispatched(at(10, 2, month=6), "baiyun-water").events)
    events.concern("R10-T2", received)
    events.wait_applied()
    window = {"district": "baiyun", "from": "2024-06-10T00:00:00Z", "to": "2024-06-11T00:00:00Z"}

    by_department = get(reporting, keys["admin"], "/api/v1/reports/by-department", **window)
    by_representative = get(reporting, keys["admin"], "/api/v1/reports/by-representative",
                            **window)

    departments = {group["department"]: group for group in by_department.json()["groups"]}
    assert departments["baiyun-water"]["received"] == 1
    assert departments["baiyun-water"]["transfer_seconds"]["p50"] == 3600.0
    assert departments["gz-housing"]["received"] == 0
    assert "tianhe-water" not in departments
    representatives = {group["representative"]: group["received"]
                       for group in by_representative.json()["groups"]}
    assert representatives["rep-liu-hanli"] == 1 and representatives[None] == 1
    assert "rep-huang-xiaoyan" not in representatives


def test_a_malformed_ticket_event_is_parked_and_does_not_block_the_queue(keys, reporting):
    events = Events()
    malformed = events.publish("ticket.assigned", {"ticket": {"ticket_id": "R11-T1"}})
    events.concern("R11-T2", at(11, 1, month=6))
    events.wait_applied()

    def parked_ids():
        found = []
        with Connection(settings().amqp_uri) as connection:
            channel = connection.channel()
            while (message := channel.basic_get("zd.reporting.events.parked", no_ack=True)):
                found.append(message.headers.get("x-original-message-id"))
        return found
    parked = []
    wait_until(lambda: parked.extend(parked_ids()) or malformed in parked,
               what="the malformed event parked")
    report = summary(reporting, keys["admin"], district="baiyun",
                     **{"from": "2024-06-11T00:00:00Z", "to": "2024-06-12T00:00:00Z"})
    assert report["received"] == 1


def test_health_and_metrics_answer(reporting):
    assert requests.get(f"{reporting}/health", timeout=5).json()["status"] == "ok"
    applied_before = consumed(reporting, "applied")
    events = Events()
    events.concern("R13-T1", at(13, 1, month=6))
    events.wait_applied()
    assert consumed(reporting, "applied") == applied_before + 1


def test_a_resolution_exactly_at_its_due_time_is_not_on_time(keys, directory, reporting):
    events = Events()
    received, due = at(14, 1, month=6), at(17, 1, month=6)
    events.send(*assigned(directory, "R14-T1", received).forwarded(at(14, 2, month=6))
                .dispatched(at(14, 2, month=6), "baiyun-water", due=due).resolved(due).events)
    events.wait_applied()
    report = summary(reporting, keys["admin"], district="baiyun",
                     **{"from": "2024-06-14T00:00:00Z", "to": "2024-06-15T00:00:00Z"})
    assert report["resolved"] == 1 and report["on_time_rate"] == 0.0, "before due_at, not at it"


def test_satisfaction_counts_every_rating_given_not_only_the_newest(keys, directory, reporting):
    events = Events()
    received = at(15, 1, month=6)
    events.send(*assigned(directory, "R15-T1", received).forwarded(at(15, 2, month=6))
                .dispatched(at(15, 2, month=6), "baiyun-water").resolved(at(15, 9, month=6))
                .rated(at(16, 1, month=6), "unsatisfied").reopened(at(16, 1, month=6))
                .dispatched(at(16, 2, month=6), "baiyun-water").resolved(at(17, 1, month=6))
                .rated(at(18, 1, month=6), "satisfied").closed(at(18, 1, month=6)).events)
    closed = assigned(directory, "R15-T2", received).forwarded(at(15, 2, month=6)) \
        .dispatched(at(15, 2, month=6), "baiyun-water").resolved(at(15, 9, month=6)) \
        .rated(at(16, 1, month=6), "basically_satisfied").closed(at(16, 1, month=6))
    # its rating seen only in routing's events: the ticket's newest rating counts
    events.send(*(event for event in closed.events if event.type != events_of.CONCERN_RATED))
    events.wait_applied()
    report = summary(reporting, keys["admin"], district="baiyun",
                     **{"from": "2024-06-15T00:00:00Z", "to": "2024-06-16T00:00:00Z"})
    assert report["satisfaction_rate"] == 0.6667, "2 of the 3 ratings given were satisfied"
