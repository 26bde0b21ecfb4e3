"""The reporter reminded to rate, and the liaison office's follow-up call (回访), on the real
database and broker: a reminder once per resolution after three days (again after a
reopening and a new resolution; never for a rated ticket, nor for a reporter who did not
ask for feedback or whose rating the office took by phone); a follow-up call recorded once
per resolution by the district's office and sent to intake as ``rating.taken_by_phone``
(202), of a merged ticket too once resolved with its original, refused to anyone else and
on a ticket not resolved; the rating intake sends back
as ``concern.rated`` taken by phone written as the office's, naming who took it, closing
or reopening the ticket as the reporter's own; and the workbench's form over HTTP. Intake
runs too: a call's rating comes back through its rating rules, as in production; the
tests that start from a rating already checked publish intake's ``concern.rated``.

One system for the module (intake and routing running, the demo directory); every test
posts its own concerns in conghua, whose policy forwards and dispatches at once."""
import re
from datetime import datetime, timedelta
from functools import partial

import psycopg
import pytest
import requests
from psycopg.rows import dict_row

from services.common import events
from services.common.config import settings
from services.common.local_directory import current_directory
from services.routing.use_cases import deadlines, workflow
from tests.support import concerns
from tests.support import events as made
from tests.support.concerns import bearer
from tests.support.services import running, wait_until
from tests.support.system import fresh_system
from tests.support.workbench_sign_in import signed_in

OFFICE = "congress:conghua"
OFFICE_NAME = "从化区人大常委会代表联络室"
XU = {"id": "office-conghua-xu", "name": "徐立"}
REPORTER = {"name": "林女士", "phone": "+8613912345678", "wants_feedback": True}


@pytest.fixture(scope="module")
def chain():
    keys, _, _ = fresh_system()
    with running("intake") as intake, running("routing") as routing:
        yield {"keys": keys, "intake": intake, "routing": routing}


@pytest.fixture
def conn(chain):
    with psycopg.connect(settings().database_url, row_factory=dict_row, autocommit=True,
                         options="-c search_path=routing") as connection:
        yield connection


post_concern = partial(concerns.post_concern, district="conghua", community="jiekou",
                       description="街口路下水道堵塞，污水外溢")


def ticket(chain, ticket_id, party=OFFICE):
    return requests.get(f"{chain['routing']}/api/v1/tickets/{ticket_id}",
                        headers=bearer(chain, party)).json()


def in_status(chain, ticket_id, status, reopened=0):
    """The ticket once it is in ``status`` after ``reopened`` reopenings, asked with the admin's
    key (the office's keeps its rate for the test)."""
    def reached():
        shown = ticket(chain, ticket_id, "admin")
        return shown.get("status") == status and shown["reopen_count"] == reopened and shown
    return wait_until(reached, interval=0.1, what=f"{ticket_id} {status}")


def resolve(chain, ticket_id, reopened=0):
    """The ticket's latest dispatch resolved by conghua-water; the ticket as resolved."""
    dispatch = in_status(chain, ticket_id, "dispatched", reopened)["departments"][-1]
    answer = requests.post(f"{chain['routing']}/api/v1/departments/conghua-water/feedback",
                           headers=bearer(chain, "department:conghua-water"),
                           json={"dispatch_id": dispatch["dispatch_id"], "status": "resolved",
                                 "result": "已疏通"})
    assert answer.status_code == 200, answer.text
    return in_status(chain, ticket_id, "resolved", reopened)


def resolved_ticket(chain, reporter=REPORTER):
    """A resolved ticket of a reporter who asked for feedback (``reporter``; None: who did not)."""
    return resolve(chain, post_concern(chain, **({"reporter": reporter} if reporter else {})))[
        "ticket_id"]


def follow_up(chain, ticket_id, party=OFFICE, **command):
    return requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/actions",
                         json={"action": "follow_up", **command}, headers=bearer(chain, party))


def rated(ticket_id, rating, comment=None, resolution=0, taken_by="phone", recorded_by=None):
    """``concern.rated`` as intake emits it, published."""
    made.publish(events.concern_rated(ticket_id, resolution, rating, comment, workflow.now(),
                                      taken_by, recorded_by))


def outbox(conn, event_type, ticket_id):
    """The bodies of the events of ``event_type`` about the ticket routing queued, oldest first."""
    return [row["body"] for row in conn.execute(
        "SELECT body FROM outbox WHERE type = %s AND (body ->> 'ticket_id' = %s"
        " OR body -> 'ticket' ->> 'ticket_id' = %s) ORDER BY id",
        (event_type, ticket_id, ticket_id)).fetchall()]


# --- the reminder to rate --------------------------------------------------------------

def resolved_days_ago(conn, ticket_id, days):
    conn.execute("UPDATE tickets SET status_since = status_since - make_interval(days => %s)"
                 " WHERE ticket_id = %s", (days, ticket_id))


def enforce(conn):
    with conn.transaction():
        return deadlines.enforce(conn, current_directory(conn), workflow.now())


def reminders(chain, ticket_id):
    return [entry for entry in ticket(chain, ticket_id)["timeline"] if entry["action"] == "remind"]


def test_a_reporter_is_reminded_once_after_three_days_and_again_after_a_reopening(chain, conn):
    ticket_id = resolved_ticket(chain)
    resolved_days_ago(conn, ticket_id, 2)
    enforce(conn)
    assert reminders(chain, ticket_id) == [], "two days are not three"
    resolved_days_ago(conn, ticket_id, 1)
    assert enforce(conn)["reminded"] >= 1
    (entry,) = reminders(chain, ticket_id)
    assert (entry["actor"], entry["from_status"], entry["to_status"], entry["note"]) == (
        "system", "resolved", "resolved", "not rated within 3 days: the reporter is reminded to"
        " rate the result")
    (event,) = outbox(conn, "ticket.reminded", ticket_id)
    assert [change["change"] for change in event["changes"]] == ["reminded"]
    assert event["entry"] == entry and event["ticket"]["status"] == "resolved"
    resolved_days_ago(conn, ticket_id, 1)
    enforce(conn)
    assert len(reminders(chain, ticket_id)) == 1, "once per resolution"

    rated(ticket_id, "unsatisfied", "还是堵", taken_by="page")
    resolve(chain, ticket_id, reopened=1)
    resolved_days_ago(conn, ticket_id, 3)
    enforce(conn)
    assert len(reminders(chain, ticket_id)) == 2
    assert len(outbox(conn, "ticket.reminded", ticket_id)) == 2
    assert ticket(chain, ticket_id)["status"] == "resolved", "a reminder does not close"


def test_a_rated_ticket_is_not_reminded(chain, conn):
    ticket_id = resolved_ticket(chain)
    rated(ticket_id, "satisfied", taken_by="frontend")
    in_status(chain, ticket_id, "closed")
    resolved_days_ago(conn, ticket_id, 4)
    enforce(conn)
    assert reminders(chain, ticket_id) == [] and outbox(conn, "ticket.reminded", ticket_id) == []


def test_a_reporter_who_asked_for_no_feedback_is_not_reminded(chain, conn):
    ticket_id = resolved_ticket(chain, reporter=None)
    resolved_days_ago(conn, ticket_id, 4)
    enforce(conn)
    assert reminders(chain, ticket_id) == []


def test_a_reporter_whose_rating_the_office_took_by_phone_is_not_reminded(chain, conn):
    ticket_id = resolved_ticket(chain)
    assert follow_up(chain, ticket_id, rating="satisfied").status_code == 202
    resolved_days_ago(conn, ticket_id, 4)
    enforce(conn)
    assert reminders(chain, ticket_id) == []


def test_a_resolution_unrated_for_seven_days_closes_without_a_reminder_first(chain, conn):
    ticket_id = resolved_ticket(chain)
    resolved_days_ago(conn, ticket_id, 8)
    done = enforce(conn)
    assert done["closed"] >= 1
    closed = in_status(chain, ticket_id, "closed")
    assert closed["timeline"][-1]["note"] == "not rated within 7 days"
    assert reminders(chain, ticket_id) == []


# --- the office's follow-up call ---------------------------------------------------------

def test_the_office_s_follow_up_call_goes_to_intake_and_answers_202(chain, conn):
    ticket_id = resolved_ticket(chain)
    before = ticket(chain, ticket_id)
    answer = follow_up(chain, ticket_id, rating="basically_satisfied", comment="基本修好了",
                       version=before["version"])
    assert answer.status_code == 202, answer.text
    assert (answer.json()["ticket_id"], answer.json()["status"], answer.json()["version"]) == (
        ticket_id, "resolved", before["version"])
    (sent,) = outbox(conn, "rating.taken_by_phone", ticket_id)
    taken_at = sent.pop("taken_at")
    assert sent == {"ticket_id": ticket_id, "resolution": 0, "rating": "basically_satisfied",
                    "comment": "基本修好了", "recorded_by": {"id": OFFICE, "name": OFFICE_NAME}}
    assert abs(datetime.fromisoformat(taken_at) - workflow.now()) < timedelta(minutes=1)
    call = conn.execute("SELECT * FROM follow_up_calls WHERE ticket_id = %s", (ticket_id,)).fetchone()
    assert (call["resolution"], call["rating"], call["person_id"], call["person_name"]) == (
        0, "basically_satisfied", OFFICE, OFFICE_NAME)
    closed = in_status(chain, ticket_id, "closed")  # once intake's rating rules sent it back
    entry = closed["timeline"][-1]
    assert (entry["actor"], entry["action"], entry["note"]) == (
        OFFICE, "rate", "taken by phone on a follow-up call: basically_satisfied: 基本修好了")
    assert "person" not in entry, "with the office's key nobody is named beside the office"
    assert closed["timeline"][:len(before["timeline"])] == before["timeline"]


def test_a_second_follow_up_call_for_the_same_resolution_is_a_conflict(chain, conn):
    ticket_id = resolved_ticket(chain)
    # a call recorded whose rating intake has not sent back yet (it does within moments)
    conn.execute("INSERT INTO follow_up_calls (ticket_id, resolution, rating, person_id, at)"
                 " VALUES (%s, 0, 'satisfied', %s, now())", (ticket_id, OFFICE))
    again = follow_up(chain, ticket_id, rating="unsatisfied", comment="改主意了")
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["detail"] == (f"The follow-up call of resolution 0 of ticket {ticket_id} is"
                                 " recorded already.")
    assert (problem["allowed_actions"], problem["allowed_statuses"]) == (["forward"],
                                                                        ["closed", "forwarded"])
    assert outbox(conn, "rating.taken_by_phone", ticket_id) == []


def test_a_follow_up_call_after_the_rating_came_back_is_a_conflict(chain, conn):
    ticket_id = resolved_ticket(chain)
    assert follow_up(chain, ticket_id, rating="satisfied").status_code == 202
    in_status(chain, ticket_id, "closed")
    again = follow_up(chain, ticket_id, rating="unsatisfied", comment="改主意了")
    assert again.status_code == 409, again.text
    assert again.json()["detail"] == (f"Ticket {ticket_id} is closed: no resolution of it awaits"
                                      " a rating.")
    assert [body["rating"] for body in outbox(conn, "rating.taken_by_phone", ticket_id)] == ["satisfied"]


def test_a_follow_up_call_on_a_ticket_not_resolved_is_a_conflict(chain, conn):
    ticket_id = post_concern(chain)
    in_status(chain, ticket_id, "dispatched")
    answer = follow_up(chain, ticket_id, rating="satisfied")
    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == (f"Ticket {ticket_id} is dispatched: no resolution of it"
                                       " awaits a rating.")
    assert answer.json()["allowed_actions"] == ["forward", "resolve"]
    assert outbox(conn, "rating.taken_by_phone", ticket_id) == []


def test_only_the_ticket_s_office_records_a_follow_up_call(chain, conn):
    ticket_id = resolved_ticket(chain)
    representative = f"representative:{ticket(chain, ticket_id)['representative']['id']}"
    refused = follow_up(chain, ticket_id, party=representative, rating="satisfied")
    assert refused.status_code == 403, refused.text
    assert refused.json()["detail"] == "A representative cannot follow_up a ticket."
    assert follow_up(chain, ticket_id, party="admin", rating="satisfied").status_code == 403
    assert follow_up(chain, ticket_id, party="congress:baiyun", rating="satisfied").status_code == 404
    assert outbox(conn, "rating.taken_by_phone", ticket_id) == []


def test_a_follow_up_call_needs_a_rating_it_knows_and_is_not_taken_in_bulk(chain):
    ticket_id = resolved_ticket(chain)
    for command in ({}, {"rating": "so-so"}, {"rating": "satisfied", "comment": "x" * 2001}):
        answer = follow_up(chain, ticket_id, **command)
        assert answer.status_code == 400 and set(answer.json()["errors"]) <= {"rating", "comment"}
    bulk = requests.post(f"{chain['routing']}/api/v1/tickets/actions", json={
        "ticket_ids": [ticket_id], "action": "follow_up", "rating": "satisfied"},
        headers=bearer(chain, OFFICE))
    assert bulk.status_code == 400 and "action" in bulk.json()["errors"]


# --- the rating taken by phone, back from intake -----------------------------------------

def test_a_satisfied_rating_taken_by_phone_closes_the_ticket_as_the_office_s_entry(chain):
    ticket_id = resolved_ticket(chain)
    rated(ticket_id, "satisfied", "师傅很负责", recorded_by=XU)
    closed = in_status(chain, ticket_id, "closed")
    entry = closed["timeline"][-1]
    assert (entry["actor"], entry["action"], entry["from_status"], entry["person"]) == (
        OFFICE, "rate", "resolved", XU)
    assert entry["note"] == "taken by phone on a follow-up call: satisfied: 师傅很负责"
    assert closed["rating"] == {"rating": "satisfied", "comment": "师傅很负责"}


def test_an_unsatisfied_rating_taken_by_phone_reopens_the_ticket(chain):
    ticket_id = resolved_ticket(chain)
    rated(ticket_id, "unsatisfied", "还是有臭味", recorded_by={"id": OFFICE, "name": OFFICE_NAME})
    reopened = in_status(chain, ticket_id, "dispatched", reopened=1)
    rate_entry = next(entry for entry in reopened["timeline"] if entry["action"] == "rate")
    assert (rate_entry["actor"], rate_entry["to_status"]) == (OFFICE, "forwarded")
    assert "person" not in rate_entry, "with the office's key nobody is named beside the office"
    assert rate_entry["note"] == "taken by phone on a follow-up call: unsatisfied: 还是有臭味: reopened"
    assert len(reopened["departments"]) == 2


def test_the_reporter_of_a_merged_repeat_rates_the_original_s_result_by_phone(chain, conn):
    """Tianhe merges a repeat at once (its policy: auto_merge): once the original is
    resolved, the repeat's reporter may be called, once, and their rating is kept on it."""
    def post(n):
        return concerns.post_concern(chain, "tianhe", "shipai", "石牌东路下水道堵塞，污水外溢",
                                     location={"lat": 23.1335, "lon": 113.3410 + n / 100_000})

    original = post(0)
    representative = in_status(chain, original, "assigned")["representative"]["id"]
    repeat = post(1)
    in_status(chain, repeat, "merged")
    assert follow_up(chain, repeat, "congress:tianhe", rating="satisfied").status_code == 409
    resolved = requests.post(f"{chain['routing']}/api/v1/tickets/{original}/actions",
                             headers=bearer(chain, f"representative:{representative}"),
                             json={"action": "resolve", "result": "已疏通下水道"})
    assert resolved.status_code == 200, resolved.text
    wait_until(lambda: ticket(chain, repeat, "admin")["result"], what="the repeat takes the result")
    answer = follow_up(chain, repeat, "congress:tianhe", rating="basically_satisfied")
    assert answer.status_code == 202, answer.text
    (sent,) = outbox(conn, "rating.taken_by_phone", repeat)
    assert (sent["resolution"], sent["rating"]) == (0, "basically_satisfied")
    kept = wait_until(lambda: ticket(chain, repeat, "admin")["rating"] and ticket(chain, repeat, "admin"),
                      what="the rating kept")
    assert (kept["status"], kept["rating"]) == ("merged", {"rating": "basically_satisfied",
                                                           "comment": None})
    assert (kept["timeline"][-1]["actor"], kept["timeline"][-1]["action"]) == ("congress:tianhe", "rate")
    assert follow_up(chain, repeat, "congress:tianhe", rating="satisfied").status_code == 409


# --- the workbench's form --------------------------------------------------------------

def test_the_office_records_a_follow_up_call_in_the_ticket_s_page(chain, conn):
    ticket_id = resolved_ticket(chain)
    browser, csrf = signed_in(conn, XU["id"])
    page = browser.get(f"{chain['routing']}/workbench/tickets/{ticket_id}")
    assert page.status_code == 200
    assert 'id="follow-up"' in page.text and "Follow-up call (回访)" in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    answer = browser.post(f"{chain['routing']}/workbench/tickets/{ticket_id}/actions", data={
        "csrf": csrf, "version": version, "action": "follow_up", "rating": "unsatisfied",
        "comment": "还是堵"}, allow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/workbench/tickets/{ticket_id}?done=done.follow_up")
    shown = browser.get(f"{chain['routing']}{answer.headers['Location']}").text
    assert "The follow-up call is recorded; its rating applies in a moment." in shown
    assert re.search(r"徐立 recorded the follow-up call at [\d-]+ [\d:]+ \(Unsatisfied\); its rating"
                     r" applies in a moment\.", shown)
    assert 'id="follow-up"' not in shown
    (sent,) = outbox(conn, "rating.taken_by_phone", ticket_id)
    assert (sent["rating"], sent["comment"], sent["recorded_by"]) == ("unsatisfied", "还是堵", XU)

    forged = browser.post(f"{chain['routing']}/workbench/tickets/{ticket_id}/actions", data={
        "csrf": "forged", "action": "follow_up", "rating": "satisfied"}, allow_redirects=False)
    assert forged.status_code == 403

    in_status(chain, ticket_id, "dispatched", reopened=1)  # intake's rating rules sent it back
    reopened = browser.get(f"{chain['routing']}/workbench/tickets/{ticket_id}").text
    assert 'id="follow-up-section"' not in reopened
    assert "taken by phone on a follow-up call: unsatisfied: 还是堵: reopened" in reopened
    again = browser.post(f"{chain['routing']}/workbench/tickets/{ticket_id}/actions", data={
        "csrf": csrf, "action": "follow_up", "rating": "satisfied"}, allow_redirects=False)
    assert again.status_code == 409 and "no resolution of it awaits a rating" in again.text


def test_a_representative_s_page_has_no_follow_up_form(chain, conn):
    ticket_id = resolved_ticket(chain)
    representative = ticket(chain, ticket_id)["representative"]["id"]
    browser, _ = signed_in(conn, representative)
    page = browser.get(f"{chain['routing']}/workbench/tickets/{ticket_id}")
    assert page.status_code == 200 and 'id="follow-up"' not in page.text
