"""What the workbench's pages ask of routing, on the real database and broker: the person
who acted named in the timeline and the events, an action refused when the ticket changed
since the version it was decided on, one action on many tickets, internal notes that no
event carries, saved replies, refused feedback listed for the office, a department that
answers in the page (``delivery: web``), and the queue's filters and counts.

One system for the module, with the demo directory but conghua-water answering in the
page; every test posts its own concerns."""
import json
import uuid
from collections import Counter
from functools import partial

import psycopg
import pytest
import requests
from kombu import Exchange, Producer
from psycopg.rows import dict_row

from services.common import topology
from services.common.config import settings
from services.common.credentials import Party
from services.common.errors import BadRequest, Conflict, NotFound
from services.common.local_directory import current_directory
from services.routing import store
from services.routing.duplicates import Match
from services.routing.use_cases import actions, inbound, notes, rejected_feedback, replies
from services.routing.use_cases.step import Person
from tests.support import concerns
from tests.support.concerns import bearer
from tests.support.queues import confirmed_connection, drain
from tests.support.services import running, wait_until
from tests.support.system import DEMO_DIRECTORY, fresh_system
from tests.support.workbench_sign_in import signed_in

FEEDBACK = Exchange("zd.feedback", type="topic", passive=True)
OFFICE = Party("congress", "baiyun")
WANG = Person("staff-wang", "王芳")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    directory = tmp_path_factory.mktemp("directory") / "directory.yaml"
    demo = DEMO_DIRECTORY.read_text()
    assert demo.count("    due_hours: 96\n") == 1
    directory.write_text(demo.replace("    due_hours: 96\n", "    due_hours: 96\n    delivery: web\n"))
    keys, _, _ = fresh_system(directory)
    with running("intake") as intake, running("routing") as routing:
        yield {"keys": keys, "intake": intake, "routing": routing}


@pytest.fixture
def conn(chain):
    with psycopg.connect(settings().database_url, row_factory=dict_row, autocommit=True,
                         options="-c search_path=routing") as connection:
        yield connection


#: a concern of baiyun's yuangang community about a blocked sewer, unless told otherwise
post_concern = partial(concerns.post_concern, district="baiyun", community="yuangang",
                       description="元岗路下水道堵塞，污水外溢")


def ticket(chain, ticket_id, party="congress:baiyun"):
    answer = requests.get(f"{chain['routing']}/api/v1/tickets/{ticket_id}",
                          headers=bearer(chain, party))
    return answer.json() if answer.status_code == 200 else None


def in_status(chain, ticket_id, status, party="congress:baiyun"):
    return wait_until(lambda: (ticket(chain, ticket_id, party) or {}).get("status") == status
                      and ticket(chain, ticket_id, party), what=f"{ticket_id} {status}")


def representative_of(chain, ticket_id):
    """The party of the representative the ticket was assigned to, once it is."""
    return f"representative:{in_status(chain, ticket_id, 'assigned')['representative']['id']}"


def act(chain, ticket_id, party, **command):
    return requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/actions", json=command,
                         headers=bearer(chain, party))


def directory_of(conn):
    return current_directory(conn)


def test_a_person_who_acts_is_named_beside_the_party_in_the_timeline_and_the_event(chain, conn):
    ticket_id = post_concern(chain)
    in_status(chain, ticket_id, "assigned")
    with conn.transaction():
        actions.act(conn, ticket_id, OFFICE, {"action": "escalate", "note": "请跟进"},
                    directory_of(conn), person=WANG)
    entry = store.timeline(conn, ticket_id)[-1]
    assert (entry["actor"], entry["person_id"], entry["person_name"]) == (
        "congress:baiyun", "staff-wang", "王芳")
    assert all(row["person_id"] is None for row in store.timeline(conn, ticket_id)[:-1])
    event = conn.execute("SELECT body FROM outbox WHERE type = 'ticket.escalated'"
                         " AND body -> 'ticket' ->> 'ticket_id' = %s", (ticket_id,)).fetchone()["body"]
    assert event["entry"]["actor"] == "congress:baiyun"
    assert event["entry"]["person"] == {"id": "staff-wang", "name": "王芳"}
    assert "person" not in event["ticket"]["timeline"][0]
    assert ticket(chain, ticket_id)["timeline"][-1]["person"] == {"id": "staff-wang",
                                                                  "name": "王芳"}


def test_an_action_on_a_ticket_changed_since_its_version_is_refused_and_changes_nothing(chain):
    ticket_id = post_concern(chain)
    opened, representative = in_status(chain, ticket_id, "assigned"), representative_of(chain, ticket_id)
    assert act(chain, ticket_id, representative, action="escalate",
               version=opened["version"]).status_code == 200
    late = act(chain, ticket_id, "congress:baiyun", action="reject", reason="重复",
               version=opened["version"])
    assert late.status_code == 409, late.text
    problem = late.json()
    assert problem["status"] == 409
    assert problem["ticket_status"] == "assigned"
    assert problem["current_version"] == opened["version"] + 1
    assert problem["detail"].startswith(f"Ticket {ticket_id} changed since you opened it (now"
                                        f" assigned, by {representative} at ")
    assert ticket(chain, ticket_id)["status"] == "assigned"
    current = act(chain, ticket_id, "congress:baiyun", action="reject", reason="重复",
                  version=problem["current_version"])
    assert current.status_code == 200 and current.json()["status"] == "rejected"


def test_a_version_that_is_not_a_whole_number_is_a_bad_request(chain):
    ticket_id = post_concern(chain)
    answer = act(chain, ticket_id, "congress:baiyun", action="escalate", version="third")
    assert answer.status_code == 400 and "version" in answer.json()["errors"]


def test_the_use_case_refuses_a_stale_version_naming_the_person_who_changed_it(chain, conn):
    ticket_id = post_concern(chain)
    opened = in_status(chain, ticket_id, "assigned")
    with conn.transaction():
        actions.act(conn, ticket_id, OFFICE, {"action": "escalate"}, directory_of(conn), person=WANG)
    with pytest.raises(Conflict) as refused, conn.transaction():
        actions.act(conn, ticket_id, OFFICE, {"action": "escalate", "version": opened["version"]},
                    directory_of(conn))
    assert "by 王芳 (congress:baiyun) at" in refused.value.detail


def test_one_action_on_many_tickets_takes_each_on_its_own(chain):
    mine = [post_concern(chain, community="tonghe") for _ in range(3)]
    for ticket_id in mine:
        in_status(chain, ticket_id, "assigned")
    act(chain, mine[2], "congress:baiyun", action="reject", reason="不属于受理范围")
    answer = requests.post(f"{chain['routing']}/api/v1/tickets/actions", json={
        "ticket_ids": [*mine, "ZD20990101-00000000", mine[0]], "action": "reassign",
        "representative": "rep-liu-hanli", "note": "批量改派"}, headers=bearer(chain, "congress:baiyun"))
    assert answer.status_code == 200, answer.text
    outcomes = answer.json()["outcomes"]
    assert [outcome["ticket_id"] for outcome in outcomes] == [*mine, "ZD20990101-00000000"]
    assert outcomes[0] == {"ticket_id": mine[0], "ok": True, "status": "assigned"}
    assert outcomes[1]["ok"] is True
    assert outcomes[2]["ok"] is False and outcomes[2]["problem"]["status"] == 409
    assert outcomes[2]["problem"]["allowed_actions"] == []
    assert outcomes[3]["problem"]["status"] == 404
    for ticket_id in mine[:2]:
        assert ticket(chain, ticket_id)["representative"]["id"] == "rep-liu-hanli"


def test_one_action_on_many_tickets_refuses_more_than_a_hundred_and_none(chain):
    for ids in ([f"ZD20990101-{n:08d}" for n in range(101)], []):
        answer = requests.post(f"{chain['routing']}/api/v1/tickets/actions", json={
            "ticket_ids": ids, "action": "escalate"}, headers=bearer(chain, "congress:baiyun"))
        assert answer.status_code == 400 and "ticket_ids" in answer.json()["errors"]


def test_one_action_on_many_tickets_refuses_a_party_that_may_not_take_it(chain):
    ticket_id = post_concern(chain)
    representative = in_status(chain, ticket_id, "assigned")["representative"]["id"]
    answer = requests.post(f"{chain['routing']}/api/v1/tickets/actions", json={
        "ticket_ids": [ticket_id], "action": "reassign", "representative": "rep-zhao-min"},
        headers=bearer(chain, f"representative:{representative}"))
    assert answer.status_code == 200
    assert answer.json()["outcomes"][0]["problem"]["status"] == 403


def test_an_internal_note_shows_in_routing_s_view_and_in_no_event(chain, conn):
    drain(topology.SERVICE_QUEUES["notify"].name, wait=0.2)
    ticket_id = post_concern(chain)
    representative = representative_of(chain, ticket_id)
    secret = f"内部备注 {uuid.uuid4()}"
    answer = requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/notes",
                           json={"text": secret}, headers=bearer(chain, representative))
    assert answer.status_code == 201, answer.text
    assert answer.json()["party"] == representative
    with conn.transaction():
        notes.add_internal_note(conn, store.find_ticket(conn, ticket_id), OFFICE, WANG, "已电话联系")
    seen = ticket(chain, ticket_id)["internal_notes"]
    assert [(note["party"], note["person"], note["text"]) for note in seen] == [
        (representative, None, secret),
        ("congress:baiyun", {"id": "staff-wang", "name": "王芳"}, "已电话联系")]
    # a later change is announced with the whole ticket: still no note in it
    assert act(chain, ticket_id, representative, action="escalate").status_code == 200
    wait_until(lambda: conn.execute("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL"
                                    ).fetchone()["n"] == 0, what="every event published")
    published = [json.dumps(json.loads(message.body), ensure_ascii=False)
                 for message in drain(topology.SERVICE_QUEUES["notify"].name)]
    assert any(ticket_id in body for body in published)
    assert not any(secret in body or "已电话联系" in body for body in published)
    assert secret not in conn.execute("SELECT string_agg(body::text, '') AS all FROM outbox"
                                      ).fetchone()["all"]
    shown = requests.get(f"{chain['intake']}/api/v1/concerns/{ticket_id}",
                         headers=bearer(chain, "frontend:baiyun"))
    assert shown.status_code == 200 and secret not in shown.text


def test_an_internal_note_of_someone_else_s_ticket_answers_as_missing(chain, conn):
    ticket_id = post_concern(chain)
    other = next(party for party in ("representative:rep-zhao-min", "representative:rep-liu-hanli")
                 if party != representative_of(chain, ticket_id))
    answer = requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/notes",
                           json={"text": "不是我的"}, headers=bearer(chain, other))
    assert answer.status_code == 404
    for party in (Party("congress", "tianhe"), Party("department", "baiyun-water")):
        with pytest.raises(NotFound):
            notes.add_internal_note(conn, store.find_ticket(conn, ticket_id), party, None, "x")
    empty = requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/notes",
                          json={"text": ""}, headers=bearer(chain, "congress:baiyun"))
    assert empty.status_code == 400
    with pytest.raises(BadRequest):
        notes.add_internal_note(conn, store.find_ticket(conn, ticket_id), OFFICE, None, "   ")
    assert notes.internal_notes(conn, ticket_id) == []


def test_a_department_with_an_active_dispatch_keeps_notes_and_one_without_does_not(chain, conn):
    ticket_id = post_concern(chain, district="conghua", community="jiekou",
                             description="街口路下水道堵塞，污水外溢")
    in_status(chain, ticket_id, "dispatched", "congress:conghua")
    found = store.find_ticket(conn, ticket_id)
    note = notes.add_internal_note(conn, found, Party("department", "conghua-water"), WANG, "明早到场")
    assert note["party"] == "department:conghua-water"
    with pytest.raises(NotFound):
        notes.add_internal_note(conn, found, Party("department", "baiyun-water"), None, "x")


def test_saved_replies_are_the_district_s_own(conn, chain):
    kept = replies.save(conn, "baiyun", "result", "已疏通", "管道已疏通，恢复正常。", WANG)
    replies.save(conn, "baiyun", "note", "请联络室处理", "请联络室派单。", "congress:baiyun")
    replies.save(conn, "tianhe", "note", "天河", "天河的", None)
    listed = replies.list_for(conn, "baiyun")
    assert [(reply["kind"], reply["title"]) for reply in listed] == [
        ("note", "请联络室处理"), ("result", "已疏通")]
    assert kept["created_by"] == "王芳 (staff-wang)"
    with pytest.raises(NotFound):
        replies.delete(conn, "tianhe", kept["reply_id"])
    replies.delete(conn, "baiyun", kept["reply_id"])
    assert [reply["title"] for reply in replies.list_for(conn, "baiyun")] == ["请联络室处理"]
    with pytest.raises(BadRequest) as refused:
        replies.save(conn, "baiyun", "answer", "", "x" * 3000, WANG)
    assert set(refused.value.errors) == {"kind", "title"}


def publish_feedback(department, body, content_type="application/json"):
    with confirmed_connection() as connection:
        Producer(connection.channel()).publish(
            json.dumps(body).encode() if isinstance(body, dict) else body, exchange=FEEDBACK,
            routing_key=f"dept.{department}", content_type=content_type,
            content_encoding="utf-8", delivery_mode=2, message_id=str(uuid.uuid4()),
            type="department.feedback", declare=[])


def take_dispatch(conn, ticket_id):
    return wait_until(lambda: next(iter(store.dispatches(conn, ticket_id)), None),
                      what=f"{ticket_id} dispatched")


def listed(conn, district, **match):
    return [row for row in rejected_feedback.list_for(conn, district)
            if all(row[key] == value for key, value in match.items())]


def test_feedback_for_a_closed_ticket_is_listed_for_its_office_with_its_reason(chain, conn):
    ticket_id = post_concern(chain)
    assert act(chain, ticket_id, representative_of(chain, ticket_id), action="forward").status_code == 200
    dispatch = take_dispatch(conn, ticket_id)
    assert dispatch["department"] == "baiyun-water"
    resolved = requests.post(f"{chain['routing']}/api/v1/departments/baiyun-water/feedback",
                             json={"dispatch_id": dispatch["dispatch_id"], "status": "resolved",
                                   "result": "已疏通"}, headers=bearer(chain, "department:baiyun-water"))
    assert resolved.status_code == 200, resolved.text
    wait_until(lambda: requests.post(
        f"{chain['intake']}/api/v1/concerns/{ticket_id}/rating", json={"rating": "satisfied"},
        headers=bearer(chain, "frontend:baiyun")).status_code == 202, what="rated")
    in_status(chain, ticket_id, "closed")

    publish_feedback("baiyun-water", {"dispatch_id": dispatch["dispatch_id"],
                                      "status": "transfer_requested", "note": "不归我们管"})
    (row,) = wait_until(lambda: listed(conn, "baiyun", dispatch_id=dispatch["dispatch_id"]),
                        what="the refused feedback listed")
    assert (row["department"], row["ticket_id"], row["district"], row["status"], row["note"]) == (
        "baiyun-water", ticket_id, "baiyun", "transfer_requested", "不归我们管")
    assert row["reason"] == "dispatch is no longer active (resolved)"
    assert listed(conn, "tianhe", dispatch_id=dispatch["dispatch_id"]) == []

    handled = rejected_feedback.mark_handled(conn, "baiyun", row["id"], WANG)
    assert handled["handled_by"] == "王芳 (staff-wang)" and handled["handled_at"] is not None
    assert listed(conn, "baiyun", dispatch_id=dispatch["dispatch_id"]) == []
    assert [found["id"] for found in rejected_feedback.list_for(conn, "baiyun", include_handled=True)
            if found["id"] == row["id"]] == [row["id"]]
    with pytest.raises(NotFound):
        rejected_feedback.mark_handled(conn, "baiyun", row["id"], WANG)


def test_feedback_refused_over_http_is_listed_too(chain, conn):
    missing = str(uuid.uuid4())
    answer = requests.post(f"{chain['routing']}/api/v1/departments/gz-housing/feedback",
                           json={"dispatch_id": missing, "status": "acknowledged"},
                           headers=bearer(chain, "department:gz-housing"))
    assert answer.status_code == 409
    (row,) = listed(conn, "conghua", dispatch_id=missing)  # gz-housing serves every district
    assert (row["ticket_id"], row["district"], row["reason"]) == (None, None, "unknown dispatch")
    with pytest.raises(NotFound):
        rejected_feedback.mark_handled(conn, "conghua", -1, WANG)


def test_unknown_dispatches_are_listed_for_the_districts_their_department_serves(chain, conn):
    missing = str(uuid.uuid4())
    publish_feedback("baiyun-water", {"dispatch_id": missing, "status": "acknowledged"})
    wait_until(lambda: listed(conn, "baiyun", dispatch_id=missing), what="listed for baiyun")
    assert listed(conn, "tianhe", dispatch_id=missing) == []


def test_feedback_that_cannot_be_read_is_listed_with_what_is_known(chain, conn):
    publish_feedback("baiyun-water", b"not json at all", content_type="text/plain")
    row = wait_until(lambda: next(iter(listed(conn, "baiyun", dispatch_id=None)), None),
                     what="unreadable feedback listed")
    assert row["department"] == "baiyun-water" and row["status"] is None
    assert row["reason"] == ("undecodable message: its content type 'text/plain' is not"
                             " application/json")


def test_a_web_department_s_dispatch_goes_to_no_queue_and_its_page_answers_as_feedback(chain, conn):
    ticket_id = post_concern(chain, district="conghua", community="jiekou",
                             description="街口路下水道堵塞，污水外溢",
                             reporter={"name": "林女士", "phone": "+8613912345678", "wants_feedback": True})
    in_status(chain, ticket_id, "dispatched", "congress:conghua")
    (dispatch,) = [row for row in store.department_dispatches(conn, "conghua-water")
                   if row["ticket_id"] == ticket_id]
    assert (dispatch["reporter_name"], dispatch["reporter_phone"]) == ("林女士", "+8613912345678"), \
        "its page shows whom the reporter asked to hear from"
    assert (dispatch["title"], dispatch["status"], dispatch["dispatch_status"], dispatch["category"]) == (
        None, "dispatched", "sent", "drainage")
    assert dispatch["description"] == "街口路下水道堵塞，污水外溢"
    sent = conn.execute("SELECT exchange, type, body FROM outbox WHERE body ->> 'dispatch_id' = %s",
                        (dispatch["dispatch_id"],)).fetchall()
    assert [(row["exchange"], row["type"]) for row in sent] == [
        (topology.EVENTS.name, "department.dispatched")]
    assert "reporter" not in sent[0]["body"] and "13912345678" not in json.dumps(sent[0]["body"]), \
        "notify only tells a web department's staff that a dispatch came: no contact for it"

    with conn.transaction():
        answered, refused = inbound.apply_department_feedback(
            conn, inbound.feedback_over_http("conghua-water", {
                "dispatch_id": dispatch["dispatch_id"], "status": "resolved", "result": "已疏通"}),
            person=Person("staff-li", "李工"))
    assert refused is None and answered["status"] == "resolved"
    entry = store.timeline(conn, ticket_id)[-1]
    assert (entry["actor"], entry["person_name"]) == ("department:conghua-water", "李工")
    assert ticket_id not in [row["ticket_id"] for row in store.department_dispatches(
        conn, "conghua-water", active_only=True)]
    (done,) = [row for row in store.department_dispatches(conn, "conghua-water", active_only=False)
               if row["ticket_id"] == ticket_id]
    assert (done["dispatch_status"], done["result"]) == ("resolved", "已疏通")

    with conn.transaction():  # the same answer again from the page: refused, parked, listed
        _, refused = inbound.apply_department_feedback(conn, inbound.feedback_over_http(
            "conghua-water", {"dispatch_id": dispatch["dispatch_id"], "status": "resolved",
                              "result": "已疏通"}))
    assert refused == "dispatch is already resolved"
    assert listed(conn, "conghua", dispatch_id=dispatch["dispatch_id"])[0]["reason"] == refused


def test_the_queue_filters_and_counts(chain, conn):
    undecided = post_concern(chain, community="huangshi", description="想了解一下政策")
    original = post_concern(chain, community="huangshi", description="黄石路下水道堵塞，污水外溢")
    repeat = post_concern(chain, community="huangshi", description="黄石路下水道堵塞，污水外溢")
    for ticket_id in (original, repeat):
        in_status(chain, ticket_id, "assigned")
    in_status(chain, undecided, "forwarded")
    with conn.transaction():
        conn.execute("DELETE FROM duplicate_links WHERE ticket_id = %s", (repeat,))
        store.link_duplicate(conn, repeat, Match(original, 0.5, ("下水道", "堵塞"), None, False))
    scope = actions.list_scope(OFFICE, {"community": "huangshi"})

    def found(**filters):
        return [row["ticket_id"] for row in store.find_tickets(conn, {**scope, **filters}, 100, 0)]

    assert undecided in found(undecided=True) and original not in found(undecided=True)
    assert found(duplicates=True) == [repeat]
    assert set(found()) >= {undecided, original, repeat}
    assert found(category="no-such-category") == []
    counts = store.count_tickets(conn, scope)
    listed_now = store.find_tickets(conn, scope, 500, 0)
    assert counts["total"] == len(listed_now)
    assert counts["undecided"] == sum(row["undecided"] for row in listed_now) >= 1
    assert counts["duplicates"] == 1
    assert counts["statuses"]["forwarded"] == sum(row["status"] == "forwarded" for row in listed_now)
    assert counts["communities"] == {"huangshi": len(listed_now)}
    for column, plural in (("category", "categories"), ("representative_id", "representatives")):
        assert counts[plural] == dict(Counter(row[column] for row in listed_now if row[column]))
    departments = current_directory(conn)["departments"]
    assert counts["departments"] == {code: len(found(department=code)) for code in departments
                                     if found(department=code)}

    answer = requests.get(f"{chain['routing']}/api/v1/tickets", params={
        "community": "huangshi", "duplicates": "true"}, headers=bearer(chain, "congress:baiyun"))
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["tickets"]
    assert (row["ticket_id"], row["likely_duplicate"]) == (repeat, True)


def test_sorting_by_due_time_puts_the_soonest_due_dispatch_first(chain, conn):
    first, second = (post_concern(chain, district="conghua", community="jiekou",
                                  description="街口路下水道堵塞，污水外溢") for _ in range(2))
    for ticket_id in (first, second):
        in_status(chain, ticket_id, "dispatched", "congress:conghua")
    with conn.transaction():
        conn.execute("UPDATE dispatches SET due_at = now() + interval '1 hour' WHERE ticket_id = %s",
                     (second,))
    rows = store.find_tickets(conn, {"district": "conghua", "sort": "due"}, 500, 0)
    ids = [row["ticket_id"] for row in rows]
    assert ids.index(second) < ids.index(first)
    dues = [row["due_at"] for row in rows if row["due_at"] is not None]
    assert dues == sorted(dues)
    answer = requests.get(f"{chain['routing']}/api/v1/tickets", params={"sort": "due"},
                          headers=bearer(chain, "congress:conghua"))
    assert answer.status_code == 200 and answer.json()["tickets"][0]["ticket_id"] == ids[0]
    assert requests.get(f"{chain['routing']}/api/v1/tickets", params={"sort": "oldest"},
                        headers=bearer(chain, "congress:conghua")).status_code == 400


def test_the_list_refuses_a_filter_value_that_does_not_fit(chain):
    answer = requests.get(f"{chain['routing']}/api/v1/tickets", params={"undecided": "yes"},
                          headers=bearer(chain, "congress:baiyun"))
    assert answer.status_code == 400


def bulk(chain, party, ticket_ids, **command):
    answer = requests.post(f"{chain['routing']}/api/v1/tickets/actions",
                           json={"ticket_ids": ticket_ids, **command}, headers=bearer(chain, party))
    assert answer.status_code == 200, answer.text
    return answer.json()["outcomes"]


def test_the_office_dispatches_undecided_tickets_at_once_with_their_category(chain, conn):
    undecided = [post_concern(chain, community="jingxi", description=f"想了解一下政策 {n}")
                 for n in range(3)]
    for ticket_id in undecided:
        in_status(chain, ticket_id, "forwarded")
    outcomes = bulk(chain, "congress:baiyun", undecided, action="dispatch", category="drainage",
                    departments={"lead": "baiyun-water", "assist": ["baiyun-urban-management"]},
                    note="统一派单")
    assert outcomes == [{"ticket_id": ticket_id, "ok": True, "status": "dispatched"}
                        for ticket_id in undecided]
    for ticket_id in undecided:
        assert {(row["department"], row["role"]) for row in store.dispatches(conn, ticket_id)} == {
            ("baiyun-water", "lead"), ("baiyun-urban-management", "assist")}
        assert store.find_ticket(conn, ticket_id)["category"] == "drainage"


def test_the_office_merges_many_tickets_into_one_and_an_unknown_target_fails_each(chain):
    original, *repeats = [post_concern(chain, community="sanyuanli") for _ in range(3)]
    for ticket_id in (original, *repeats):
        in_status(chain, ticket_id, "assigned")
    nowhere = bulk(chain, "congress:baiyun", repeats, action="merge", into="ZD20990101-00000000")
    assert [outcome["problem"]["errors"] for outcome in nowhere] == [
        {"into": ["No such ticket here."]}] * 2
    merged = bulk(chain, "congress:baiyun", repeats, action="merge", into=original)
    assert [outcome["status"] for outcome in merged] == ["merged", "merged"]
    assert [ticket(chain, ticket_id)["merged_into"] for ticket_id in repeats] == [original] * 2


def test_a_session_s_page_requests_are_limited_as_an_api_key_s(conn):
    with running("routing", ZD_RATE_LIMIT=1) as strict:  # a burst of 2, then 1 a second
        browser, _ = signed_in(conn, "office-baiyun-wu", address="203.0.113.21")
        other, _ = signed_in(conn, "office-baiyun-zheng", address="203.0.113.22")
        answers = [browser.get(f"{strict}/workbench/office", allow_redirects=False)
                   for _ in range(5)]
        elsewhere = other.get(f"{strict}/workbench/office", allow_redirects=False)
    assert [answer.status_code for answer in answers[:2]] == [200, 200]
    (refused, *_) = [answer for answer in answers if answer.status_code == 429]
    assert int(refused.headers["Retry-After"]) >= 1
    assert elsewhere.status_code == 200, "each session has a bucket of its own"
