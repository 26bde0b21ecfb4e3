"""The reporter's own page of their concern (docs/reference.md#the-reporters-page), against the
real PostgreSQL and RabbitMQ: its token made with the concern and sent only to notify, the
page following the ticket events routing's own code builds, one 404 for a wrong, expired
or erased link, the rating on the page and by the office's phone call under one set of
rules, the limits, and no token in a log line."""
import hashlib
import logging
import re
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from services.common import events
from services.common.config import settings
from tests.support import events as made
from tests.support.services import messages_consumed, running, wait_until
from tests.support.system import fresh_system

REPORTER = {"name": "李女士", "phone": "+8613700000000", "email": "li@example.org",
            "wechat_openid": "o-li-123", "wants_feedback": True}
STAFF = SimpleNamespace(id="office-baiyun-wu", name="吴敏")
WATER = "白云区水务局"


@pytest.fixture(scope="module")
def system():
    keys, _, directory = fresh_system()
    with running("intake") as base:
        yield SimpleNamespace(base=base, keys=keys, directory=directory)


def query(sql, params=()):
    with psycopg.connect(settings().database_url, row_factory=dict_row) as conn:
        return conn.execute(sql, params).fetchall()


def post_concern(system, reporter=REPORTER, **fields):
    body = {"external_id": str(uuid.uuid4()), "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "title": "下水道堵塞", "description": "元岗路下水道堵塞，污水外溢",
            "location": {"lat": 23.2, "lon": 113.3, "address": "元岗路 12 号"}, "reporter": reporter,
            **fields}
    answer = requests.post(f"{system.base}/api/v1/concerns", json=body, timeout=10,
                           headers={"Authorization": f"Bearer {system.keys['frontend:baiyun']}"})
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def sent_contact(ticket_id):
    rows = query("SELECT body FROM intake.outbox WHERE type = 'reporter.contact'"
                 " AND body->>'ticket_id' = %s", (ticket_id,))
    return rows[0]["body"]["contact"] if rows else None


def reporters_concern(system, locale="zh-CN"):
    """A concern whose reporter asked for feedback: ``(ticket id, page token)``."""
    ticket_id = post_concern(system, {**REPORTER, "locale": locale})
    return ticket_id, sent_contact(ticket_id)["page_token"]


def ratings_sent(ticket_id):
    return [row["body"] for row in query(
        "SELECT body FROM intake.outbox WHERE type = 'concern.rated' AND body->>'ticket_id' = %s"
        " ORDER BY id", (ticket_id,))]


def page(system, token, **params):
    return requests.get(f"{system.base}/c/{token}", params=params, timeout=10)


def rate(system, token, lang=None, **form):
    return requests.post(f"{system.base}/c/{token}/rating", params={"lang": lang} if lang else None,
                         data=form, timeout=10, allow_redirects=False)


def status_of(html):
    found = re.search(r'id="concern-status" data-status="(\w+)">([^<]*)<', html)
    return found.group(1), found.group(2)


def steps_of(html):
    return re.findall(r'data-step="(\w+)"><time datetime="[^"]+">([^<]+)</time> <span class="what">([^<]*)<',
                      html)


class Life:
    """A ticket's life as routing lives it, told to intake by ``ticket.*`` events built with
    routing's own snapshot code."""

    def __init__(self, system, ticket_id, start):
        self.system, self.ticket_id, self.start = system, ticket_id, start
        self.timeline = [made.entry(start, "channel:wechat", "receive", None, "received", "下水道堵塞")]
        self.dispatches, self.version, self.status, self.fields = [], 1, "received", {}

    def at(self, minutes):
        return self.start + timedelta(minutes=minutes)

    def step(self, change, minutes, actor, action, to_status, note=None, person=None, **fields):
        self.timeline.append(made.entry(self.at(minutes), actor, action, self.status, to_status, note,
                                        person))
        self.status, self.version = to_status, self.version + 1
        self.fields.update(fields)
        ticket = made.ticket_row(self.ticket_id, to_status, self.version, received_at=self.start,
                                 status_since=self.at(minutes), **self.fields)
        made.publish(made.ticket_event(change, ticket, self.system.directory, self.dispatches,
                                       list(self.timeline)))
        wait_until(lambda: query("SELECT 1 FROM intake.ticket_views WHERE ticket_id = %s AND version = %s",
                                 (self.ticket_id, self.version)), what=f"intake keeps version {self.version}")
        return self

    def dispatch(self, minutes, department="baiyun-water"):
        self.dispatches.append(made.dispatch_row(self.ticket_id, department, self.at(minutes)))
        return self.step("dispatched", minutes, "congress:baiyun", "dispatch", "dispatched",
                         "请尽快处理：内部说明", STAFF)

    def resolve(self, minutes, result="已疏通"):
        self.dispatches[-1]["status"] = "resolved"
        return self.step("resolved", minutes, "department:baiyun-water", "resolve", "resolved", result,
                         result=result, resolved_at=self.at(minutes))


def lived_to_resolution(system, ticket_id, start=None):
    life = Life(system, ticket_id, start or datetime.now(timezone.utc) - timedelta(hours=3))
    life.step("assigned", 1, "system", "assign", "assigned", "陈建国 (rep-chen-jianguo): station",
              representative_id="rep-chen-jianguo")
    life.step("forwarded", 30, "representative:rep-chen-jianguo", "forward", "forwarded", "请派单")
    return life.dispatch(31).resolve(90)


def test_a_token_is_made_only_when_the_reporter_wants_feedback_and_travels_only_to_notify(system):
    silent = post_concern(system, {"name": "王先生", "wants_feedback": False})
    ticket_id, token = reporters_concern(system)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", token)
    assert sent_contact(silent) is None
    stored = query("SELECT ticket_id, token_hash FROM intake.page_tokens")
    assert stored == [{"ticket_id": ticket_id, "token_hash": hashlib.sha256(token.encode()).hexdigest()}]
    kept = query("SELECT body FROM intake.outbox WHERE type <> 'reporter.contact'")
    assert kept and all(token not in repr(row["body"]) for row in kept)
    second = reporters_concern(system)[1]
    assert second != token
    shown = page(system, token)
    assert shown.status_code == 200 and '<html lang="zh-CN">' in shown.text
    assert status_of(shown.text) == ("received", "已受理")
    assert shown.headers["Referrer-Policy"] == "no-referrer" and shown.headers["Cache-Control"] == "no-store"
    assert "'unsafe-inline'" not in shown.headers["Content-Security-Policy"]
    css = requests.get(f"{system.base}/page/static/reporter.css", timeout=5)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def test_the_page_shows_each_step_as_the_ticket_view_changes(system):
    ticket_id, token = reporters_concern(system, locale="en")
    life = Life(system, ticket_id, datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc))
    life.step("assigned", 1, "system", "assign", "assigned", "陈建国 (rep-chen-jianguo): station",
              representative_id="rep-chen-jianguo")
    shown = page(system, token).text
    assert '<html lang="en">' in shown
    assert status_of(shown) == ("assigned", "With your representative, 陈建国")
    life.step("forwarded", 30, "representative:rep-chen-jianguo", "forward", "forwarded", "请派单")
    life.dispatch(31)
    shown = page(system, token).text
    assert status_of(shown) == ("dispatched", f"With the department(s): {WATER}")
    assert steps_of(shown) == [
        ("received", "2026-12-01 09:00", "Received"),
        ("with_representative", "2026-12-01 09:01", "With your representative"),
        ("with_office", "2026-12-01 09:30", "With the liaison office"),
        ("with_departments", "2026-12-01 09:31", f"With the department(s): {WATER}")]
    life.resolve(90)
    chinese = page(system, token, lang="zh-CN").text
    assert '<html lang="zh-CN">' in chinese and status_of(chinese) == ("resolved", "已办结")
    assert steps_of(chinese)[-1] == ("resolved", "2026-12-01 10:30", "已办结")
    assert 'id="concern-result" class="text">已疏通<' in chinese and 'id="rating-form"' in chinese
    assert 'href="?lang=en"' in chinese
    for hidden in ("李女士", "13700000000", "li@example.org", "o-li-123", "吴敏", "内部说明", "请派单"):
        assert hidden not in chinese, hidden


def not_found_body(answer):
    assert answer.status_code == 404 and answer.headers["Content-Type"].startswith("text/html")
    return answer.text


def test_a_wrong_an_expired_and_an_erased_link_answer_the_same_404(system):
    wrong = not_found_body(page(system, "x" * 22))
    assert not_found_body(page(system, "not a token at all")) == wrong
    assert "页面不存在" in wrong and "Not found" in wrong

    ticket_id, expired = reporters_concern(system)
    long_ago = datetime.now(timezone.utc) - timedelta(days=40)
    life = lived_to_resolution(system, ticket_id, start=long_ago)
    assert page(system, expired).status_code == 200, "resolved: open, however long ago"
    life.step("closed", 200, "system", "close", "closed", "not rated within 7 days")
    assert not_found_body(page(system, expired)) == wrong
    assert not_found_body(rate(system, expired, rating="satisfied")) == wrong

    ticket_id, recent = reporters_concern(system)
    life = Life(system, ticket_id, datetime.now(timezone.utc) - timedelta(days=29, hours=23))
    life.step("rejected", 1, "congress:baiyun", "reject", "rejected", "不属于联络范围", STAFF)
    shown = page(system, recent).text
    assert status_of(shown) == ("rejected", "不予受理")
    assert 'id="concern-reason" class="text">不属于联络范围<' in shown and "吴敏" not in shown

    ticket_id, erased = reporters_concern(system)
    assert page(system, erased).status_code == 200
    made.publish(events.personal_data_expired(ticket_id, events.ERASURE, request_id=str(uuid.uuid4())))
    wait_until(lambda: not query("SELECT 1 FROM intake.page_tokens WHERE ticket_id = %s", (ticket_id,)),
               what="the erased reporter's page token deleted")
    assert sent_contact(ticket_id)["page_token"] == "(anonymised)"
    assert not_found_body(page(system, erased)) == wrong


def test_a_rating_on_the_page_is_taken_once_by_the_rules_and_thanked_for(system):
    ticket_id, token = reporters_concern(system)
    lived_to_resolution(system, ticket_id)
    answer = rate(system, token, lang="en", rating="unsatisfied", comment="  还有臭味  ")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/c/{token}?lang=en&done=rated"
    (rated,) = ratings_sent(ticket_id)
    assert {key: rated[key] for key in ("resolution", "rating", "comment", "taken_by", "recorded_by")} == {
        "resolution": 0, "rating": "unsatisfied", "comment": "还有臭味", "taken_by": "page",
        "recorded_by": None}
    thanked = requests.get(f"{system.base}{answer.headers['Location']}", timeout=10).text
    assert ("Thank you for your rating. The concern is reopened and goes back to the liaison office."
            in thanked)
    assert 'id="rating-form"' not in thanked and 'id="your-rating">Unsatisfied' in thanked

    again = rate(system, token, rating="satisfied")
    assert again.status_code == 409 and '<html lang="zh-CN">' in again.text
    assert "这次办理结果已经评价过了。" in again.text
    assert len(ratings_sent(ticket_id)) == 1


def test_a_rating_before_the_resolution_is_refused_in_the_reporters_language(system):
    ticket_id, token = reporters_concern(system, locale="en")
    life = Life(system, ticket_id, datetime.now(timezone.utc) - timedelta(hours=1))
    life.step("forwarded", 1, "system", "forward", "forwarded", "no community")
    life.dispatch(2)
    answer = rate(system, token, rating="satisfied")
    assert answer.status_code == 409 and '<html lang="en">' in answer.text
    assert "The concern is not resolved: it cannot be rated now." in answer.text
    assert ratings_sent(ticket_id) == []


@pytest.mark.parametrize("form, field", [
    ({"rating": "so-so"}, "rating"), ({"comment": "没选评价"}, "rating"),
    ({"rating": "satisfied", "comment": "长" * 2001}, "comment"),
    ({"rating": "satisfied", "comment": "bell\x07"}, "comment")])
def test_a_bad_form_is_a_400_page_naming_the_field(system, form, field):
    ticket_id, token = reporters_concern(system)
    lived_to_resolution(system, ticket_id)
    answer = rate(system, token, **form)
    assert answer.status_code == 400 and answer.headers["Content-Type"].startswith("text/html")
    assert f'id="{field}-error"' in answer.text and f'data-field="{field}"' in answer.text
    assert 'id="rating-form"' in answer.text, "the form again, to correct"
    assert ratings_sent(ticket_id) == []


def test_a_form_that_is_not_one_is_refused_and_nothing_rated(system):
    ticket_id, token = reporters_concern(system)
    lived_to_resolution(system, ticket_id)
    answer = requests.post(f"{system.base}/c/{token}/rating", json={"rating": "satisfied"}, timeout=10)
    assert answer.status_code == 415 and "无法读取表单" in answer.text
    assert ratings_sent(ticket_id) == []


def phone_rating(ticket_id, resolution=0, rating="satisfied", taken_at=None):
    return events.phone_rating(ticket_id, resolution, rating, "电话回访：满意",
                               taken_at or datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc),
                               {"id": STAFF.id, "name": STAFF.name})


def consumed(message_id):
    return query("SELECT 1 FROM intake.inbox WHERE message_id = %s", (message_id,))


def test_the_offices_phone_rating_is_applied_by_the_same_rules(system):
    ticket_id, _ = reporters_concern(system)
    lived_to_resolution(system, ticket_id)
    taken_at = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)
    made.publish(phone_rating(ticket_id, taken_at=taken_at))
    (rated,) = wait_until(lambda: ratings_sent(ticket_id), what="the phone rating applied")
    assert rated == {"ticket_id": ticket_id, "resolution": 0, "rating": "satisfied",
                     "comment": "电话回访：满意", "rated_at": taken_at.isoformat(), "taken_by": "phone",
                     "recorded_by": {"id": STAFF.id, "name": STAFF.name}}


def test_a_phone_rating_after_the_reporter_rated_on_the_page_is_dropped_with_a_warning(system, caplog):
    caplog.set_level(logging.WARNING, logger="services.intake")
    ticket_id, token = reporters_concern(system)
    lived_to_resolution(system, ticket_id)
    assert rate(system, token, rating="basically_satisfied").status_code == 303
    late = phone_rating(ticket_id)
    made.publish(late)
    wait_until(lambda: consumed(late.message_id), what="the phone rating consumed")
    assert [body["taken_by"] for body in ratings_sent(ticket_id)] == ["page"]
    warned = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert (f"phone rating of ticket {ticket_id}, resolution 0, dropped: This resolution has been"
            " rated already.") in warned
    assert not any("吴敏" in line or "13700000000" in line for line in warned)


def test_a_phone_rating_of_a_ticket_no_longer_resolved_is_dropped(system, caplog):
    caplog.set_level(logging.WARNING, logger="services.intake")
    ticket_id, _ = reporters_concern(system)
    life = lived_to_resolution(system, ticket_id)
    life.step("forwarded", 100, "congress:baiyun", "forward", "forwarded", reopen_count=1)
    stale = phone_rating(ticket_id)
    made.publish(stale)
    wait_until(lambda: consumed(stale.message_id), what="the phone rating consumed")
    assert ratings_sent(ticket_id) == []
    assert any(f"phone rating of ticket {ticket_id}, resolution 0, dropped: Only a resolved" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("body", [
    {"ticket_id": "ZD20261205-DEADBEEF", "resolution": 0, "rating": "satisfied", "comment": None,
     "taken_at": "2026-12-05T02:00:00+00:00", "recorded_by": {"id": "office-baiyun-wu", "name": "吴敏"}},
    {"ticket_id": "ZD20261205-DEADBEEF", "resolution": "0", "rating": "great"},
])
def test_a_phone_rating_of_an_unknown_ticket_or_malformed_is_parked(system, body):
    before = messages_consumed(system.base, type=events.PHONE_RATING, outcome="parked")
    message_id = f"phone-rating-{uuid.uuid4()}"
    made.publish(events.Event(events.PHONE_RATING, body, message_id))
    wait_until(lambda: messages_consumed(system.base, type=events.PHONE_RATING, outcome="parked")
               == before + 1, what="the phone rating parked")
    assert consumed(message_id)


def test_page_requests_are_limited_per_address_and_per_token_with_a_429_page(system):
    ticket_id, token = reporters_concern(system)
    with running("intake", ZD_RATE_LIMIT=1) as slow:
        answers = [requests.get(f"{slow}/c/{token}", timeout=10) for _ in range(4)]
    statuses = [answer.status_code for answer in answers]
    assert 429 in statuses and statuses[0] == 200, statuses
    refused = answers[statuses.index(429)]
    assert int(refused.headers["Retry-After"]) >= 1
    assert "请求过于频繁" in refused.text and "Too many requests" in refused.text
    buckets = {row["key_id"] for row in query("SELECT key_id FROM intake.rate_buckets")}
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    assert {"address:127.0.0.1", f"page:{token_hash[:16]}"} <= buckets


def test_no_token_reaches_a_log_line(system, caplog):
    caplog.set_level(logging.DEBUG)
    ticket_id, token = reporters_concern(system)
    lived_to_resolution(system, ticket_id)
    page(system, token)
    rate(system, token, rating="satisfy")
    rate(system, token, rating="satisfied")
    page(system, token + "x")
    logged = [record.getMessage() + repr(record.args) for record in caplog.records
              if not record.name.startswith("urllib3")]  # the test's own client, not a service
    assert any('"GET /c/\u2026 HTTP/1.1" 200' in line for line in logged), "the access log"
    assert any('"POST /c/\u2026/rating HTTP/1.1" 303' in line for line in logged)
    assert [line for line in logged if token in line] == []
