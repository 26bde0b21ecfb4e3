"""Routing's failure paths with the real broker and database: department feedback
that cannot apply, actions the state does not allow, and dispatches that cannot be
routed yet. One system for the module; every test posts its own concern."""
import base64
import json
import uuid
from functools import partial

import eventlet
import psycopg
import pytest
import requests
from kombu import Connection, Exchange, Producer, Queue
from prometheus_client.parser import text_string_to_metric_families
from psycopg.rows import dict_row

from services.admin.rabbit_management import RabbitManagement, vhost_of
from services.common import topology
from services.common.config import settings
from services.routing import store
from services.routing.duplicates import Match
from tests.support import concerns
from tests.support.concerns import bearer
from tests.support.queues import confirmed_connection, drain, queued
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

FEEDBACK = Exchange("zd.feedback", type="topic", passive=True)


@pytest.fixture(scope="module")
def chain():
    keys, _, _ = fresh_system()
    with running("intake") as intake, running("routing") as routing:
        yield {"keys": keys, "intake": intake, "routing": routing}


#: a concern of conghua's jiekou community about a blocked sewer, unless told otherwise
post_concern = partial(concerns.post_concern, district="conghua", community="jiekou",
                       description="街口路下水道堵塞，污水外溢")


def take_dispatch(department, ticket_id, timeout=15):
    """The dispatch of ``ticket_id`` from the department's queue (others are acked past)."""
    with Connection(settings().amqp_uri) as connection:
        with connection.SimpleQueue(Queue(f"zd.dept.{department}", no_declare=True)) as queue:
            while True:
                message = queue.get(block=True, timeout=timeout)
                message.ack()
                body = json.loads(message.body)
                if body["ticket_id"] == ticket_id:
                    return body


def publish_feedback(department, body, message_id=None):
    with confirmed_connection() as connection:
        Producer(connection.channel()).publish(
            body, exchange=FEEDBACK, routing_key=f"dept.{department}", serializer="json",
            delivery_mode=2, message_id=message_id, declare=[])


def rejected_feedback(dispatch_id, timeout=15):
    """The parked copy of a dispatch's feedback on ``zd.feedback.rejected``."""
    with Connection(settings().amqp_uri) as connection:
        with connection.SimpleQueue(Queue(topology.FEEDBACK_REJECTED, no_declare=True)) as queue:
            while True:
                message = queue.get(block=True, timeout=timeout)
                message.ack()
                if json.loads(message.body).get("dispatch_id") == dispatch_id:
                    return message


def ticket(chain, ticket_id, party="congress:conghua"):
    return requests.get(f"{chain['routing']}/api/v1/tickets/{ticket_id}",
                        headers=bearer(chain, party)).json()


def rejected_count(chain):
    text = requests.get(f"{chain['routing']}/metrics", timeout=5).text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == "zd_feedback_rejected_total")


def test_feedback_for_another_department_is_parked(chain):
    counted_before = rejected_count(chain)
    ticket_id = post_concern(chain)
    dispatch = take_dispatch("conghua-water", ticket_id)
    publish_feedback("gz-housing", {"dispatch_id": dispatch["dispatch_id"], "status": "resolved",
                                    "result": "not ours"})
    parked = rejected_feedback(dispatch["dispatch_id"])
    assert "belongs to department conghua-water" in parked.headers["x-park-reason"]
    assert ticket(chain, ticket_id)["status"] == "dispatched"
    assert rejected_count(chain) == counted_before + 1


def test_feedback_for_an_unknown_dispatch_is_parked(chain):
    missing = str(uuid.uuid4())
    publish_feedback("conghua-water", {"dispatch_id": missing, "status": "acknowledged"})
    assert rejected_feedback(missing).headers["x-park-reason"] == "unknown dispatch"


def test_resolution_without_result_is_parked_and_does_not_block_the_queue(chain):
    ticket_id = post_concern(chain)
    dispatch = take_dispatch("conghua-water", ticket_id)
    publish_feedback("conghua-water", {"dispatch_id": dispatch["dispatch_id"], "status": "resolved"})
    publish_feedback("conghua-water", {"dispatch_id": dispatch["dispatch_id"],
                                       "status": "acknowledged"})
    assert "result" in rejected_feedback(dispatch["dispatch_id"]).headers["x-park-reason"]
    wait_until(lambda: ticket(chain, ticket_id)["status"] == "in_progress", what="in progress")


def test_redelivered_feedback_applies_once(chain):
    ticket_id = post_concern(chain)
    dispatch = take_dispatch("conghua-water", ticket_id)
    body = {"dispatch_id": dispatch["dispatch_id"], "status": "resolved", "result": "已疏通"}
    for _ in range(3):
        publish_feedback("conghua-water", body, message_id="fb-once")
    wait_until(lambda: ticket(chain, ticket_id)["status"] == "resolved", what="resolved")
    resolutions = [e for e in ticket(chain, ticket_id)["timeline"] if e["to_status"] == "resolved"]
    assert len(resolutions) == 1


def test_feedback_reusing_a_message_id_with_another_body_still_applies(chain):
    ticket_id = post_concern(chain)
    dispatch = take_dispatch("conghua-water", ticket_id)
    reused = dispatch["dispatch_id"]  # a department system that ids every message by its dispatch
    publish_feedback("conghua-water", {"dispatch_id": reused, "status": "acknowledged"},
                     message_id=reused)
    wait_until(lambda: ticket(chain, ticket_id)["status"] == "in_progress", what="in progress")
    publish_feedback("conghua-water", {"dispatch_id": reused, "status": "resolved",
                                       "result": "已疏通"}, message_id=reused)
    wait_until(lambda: ticket(chain, ticket_id)["status"] == "resolved", what="resolved")


def test_a_department_cannot_take_the_id_of_an_internal_event(chain):
    ticket_id = post_concern(chain)
    dispatch = take_dispatch("conghua-water", ticket_id)
    publish_feedback("conghua-water", {"dispatch_id": dispatch["dispatch_id"], "status": "resolved",
                                       "result": "已疏通"}, message_id=f"rating-{ticket_id}-0")
    wait_until(lambda: ticket(chain, ticket_id)["status"] == "resolved", what="resolved")
    rated = requests.post(f"{chain['intake']}/api/v1/concerns/{ticket_id}/rating",
                          headers=bearer(chain, "frontend:conghua"), json={"rating": "satisfied"})
    assert rated.status_code == 202, rated.text
    wait_until(lambda: ticket(chain, ticket_id)["status"] == "closed",
               what="the reporter's rating applied, whatever id a department used before")


def test_transfer_request_goes_to_the_next_department_by_the_rules(chain):
    ticket_id = post_concern(chain, category="roads-traffic", description="街口路口红绿灯坏了")
    first = take_dispatch("gz-traffic-police", ticket_id)
    publish_feedback("gz-traffic-police", {"dispatch_id": first["dispatch_id"],
                                           "status": "transfer_requested", "note": "属交通局"})
    second = take_dispatch("gz-transport", ticket_id)
    assert second["dispatch_id"] != first["dispatch_id"]
    shown = ticket(chain, ticket_id)
    assert shown["status"] == "dispatched"
    assert [d["status"] for d in shown["departments"]] == ["transfer_requested", "sent"]


def test_action_the_state_does_not_allow_is_409_with_the_allowed_ones(chain):
    ticket_id = post_concern(chain)
    take_dispatch("conghua-water", ticket_id)
    answer = requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/actions",
                           headers=bearer(chain, "congress:conghua"),
                           json={"action": "reassign", "representative": "rep-wu-meifang"})
    assert answer.status_code == 409
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert set(answer.json()["allowed_statuses"]) == {"in_progress", "resolved", "forwarded"}


def test_representative_cannot_see_another_representatives_ticket(chain):
    ticket_id = post_concern(chain, district="baiyun", community="yuangang",
                             requested_representative="rep-zhao-min")
    wait_until(lambda: ticket(chain, ticket_id, "representative:rep-zhao-min").get("status")
               == "assigned", what="assigned")
    other = requests.get(f"{chain['routing']}/api/v1/tickets/{ticket_id}",
                         headers=bearer(chain, "representative:rep-liu-hanli"))
    assert other.status_code == 404
    act = requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/actions",
                        headers=bearer(chain, "representative:rep-liu-hanli"),
                        json={"action": "forward"})
    assert act.status_code == 404


def test_another_representatives_ticket_answers_as_one_that_does_not_exist(chain):
    theirs = assigned_in_baiyun(chain, representative="rep-liu-hanli")
    zhao = bearer(chain, "representative:rep-zhao-min")

    def answers(ticket_id):
        shown = requests.get(f"{chain['routing']}/api/v1/tickets/{ticket_id}", headers=zhao)
        acted = act(chain, ticket_id, "representative:rep-zhao-min", action="escalate")
        return [(answer.status_code, answer.headers["Content-Type"], answer.content)
                for answer in (shown, acted)]

    absent = answers("ZD20260101-00000000")
    assert [status for status, _, _ in absent] == [404, 404]
    assert answers(theirs) == absent


def test_ticket_cannot_be_merged_into_itself(chain):
    ticket_id = post_concern(chain)
    take_dispatch("conghua-water", ticket_id)
    answer = requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/actions",
                           headers=bearer(chain, "congress:conghua"),
                           json={"action": "merge", "into": ticket_id})
    assert answer.status_code == 400 and "into" in answer.json()["errors"]


def test_action_with_missing_field_names_it(chain):
    ticket_id = post_concern(chain)
    take_dispatch("conghua-water", ticket_id)
    answer = requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/actions",
                           headers=bearer(chain, "congress:conghua"), json={"action": "reject"})
    assert answer.status_code == 400 and "reason" in answer.json()["errors"]


def test_dispatch_to_a_missing_queue_waits_in_the_outbox_until_it_exists(chain):
    rabbit = RabbitManagement(settings().management_url)
    vhost = vhost_of(settings().amqp_uri)
    requests.delete(f"{rabbit.base}/queues/{vhost}/zd.dept.gz-civil-affairs", auth=rabbit.auth)
    ticket_id = post_concern(chain, category="elderly-care", description="长者饭堂菜价太高")

    def pending_error():
        with psycopg.connect(settings().database_url) as conn:
            row = conn.execute("SELECT last_error FROM routing.outbox WHERE routing_key ="
                               " 'dept.gz-civil-affairs' AND published_at IS NULL").fetchone()
        return row and row[0]

    assert "NO_ROUTE" in wait_until(pending_error, what="the dispatch kept as unroutable")
    with Connection(settings().amqp_uri) as connection:
        topology.declare(connection, ["gz-civil-affairs"])
    assert take_dispatch("gz-civil-affairs", ticket_id, timeout=30)["category"] == "elderly-care"


def act(chain, ticket_id, party, **command):
    return requests.post(f"{chain['routing']}/api/v1/tickets/{ticket_id}/actions",
                         headers=bearer(chain, party), json=command)


def assigned_in_baiyun(chain, representative="rep-zhao-min", **fields):
    ticket_id = post_concern(chain, district="baiyun", community="tonghe",
                             requested_representative=representative, **fields)
    wait_until(lambda: ticket(chain, ticket_id, "congress:baiyun").get("status")
               in ("assigned", "forwarded"), what="the ticket routed")
    return ticket_id


def test_representative_resolves_a_ticket_directly(chain):
    ticket_id = assigned_in_baiyun(chain)
    answer = act(chain, ticket_id, "representative:rep-zhao-min", action="resolve",
                 result="已当面解释政策")
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "resolved" and answer.json()["result"] == "已当面解释政策"


def test_office_rejects_a_concern_out_of_scope_with_its_reason(chain):
    ticket_id = assigned_in_baiyun(chain)
    answer = act(chain, ticket_id, "congress:baiyun", action="reject", reason="属司法程序，不予受理")
    assert answer.json()["status"] == "rejected"
    assert answer.json()["timeline"][-1]["note"] == "属司法程序，不予受理"


def test_duplicate_is_merged_into_the_ticket_it_joins(chain):
    first, second = assigned_in_baiyun(chain), assigned_in_baiyun(chain)
    answer = act(chain, second, "representative:rep-zhao-min", action="merge", into=first)
    assert answer.json()["status"] == "merged"
    assert first in answer.json()["timeline"][-1]["note"]
    assert answer.json()["merged_into"] == first
    assert ticket(chain, second, "congress:baiyun")["merged_into"] == first
    assert ticket(chain, first, "congress:baiyun")["merged_into"] is None
    shown = wait_until(lambda: requests.get(
        f"{chain['intake']}/api/v1/concerns/{second}", headers=bearer(chain, "frontend:baiyun")
    ).json().get("merged_into"), what="the front-end sees which ticket it joined")
    assert shown == first


def test_nothing_merges_into_a_merged_ticket(chain):
    first, second, third = (assigned_in_baiyun(chain) for _ in range(3))
    assert act(chain, second, "congress:baiyun", action="merge", into=first).status_code == 200
    answer = act(chain, third, "congress:baiyun", action="merge", into=second)
    assert answer.status_code == 400
    assert answer.json()["errors"]["into"] == [
        f"Ticket {second} is merged: merge into an open ticket."]


def test_a_representative_merges_only_into_tickets_they_may_see_or_their_likely_original(chain):
    zhao = "representative:rep-zhao-min"
    theirs = assigned_in_baiyun(chain, representative="rep-liu-hanli")
    closed_theirs = assigned_in_baiyun(chain, representative="rep-liu-hanli")
    assert act(chain, closed_theirs, "congress:baiyun", action="merge", into=theirs).status_code == 200
    mine, linked, also_mine = (assigned_in_baiyun(chain) for _ in range(3))

    def answer(into):
        refused = act(chain, mine, zhao, action="merge", into=into)
        return refused.status_code, refused.headers["Content-Type"], refused.content

    absent = answer("ZD20260101-00000000")
    assert absent[0] == 400 and json.loads(absent[2])["errors"] == {"into": ["No such ticket here."]}
    assert answer(theirs) == absent, "another representative's open ticket is not there for them"
    assert answer(closed_theirs) == absent, "nor is its status told"
    assert ticket(chain, mine, zhao)["status"] == "assigned"

    with psycopg.connect(settings().database_url, row_factory=dict_row) as conn:
        conn.execute("SET search_path TO routing")
        store.link_duplicate(conn, linked, Match(theirs, 0.5, ("下水道", "堵塞"), None, False))
    joined = act(chain, linked, zhao, action="merge", into=theirs)
    assert joined.status_code == 200 and joined.json()["merged_into"] == theirs
    own = act(chain, mine, zhao, action="merge", into=also_mine)
    assert own.status_code == 200 and own.json()["merged_into"] == also_mine


def test_the_office_merges_any_ticket_of_its_district_into_another(chain):
    first = assigned_in_baiyun(chain, representative="rep-liu-hanli")
    second = assigned_in_baiyun(chain)
    answer = act(chain, second, "congress:baiyun", action="merge", into=first)
    assert answer.status_code == 200 and answer.json()["merged_into"] == first


def test_crossed_merges_neither_deadlock_nor_answer_503(chain):
    pairs = [(assigned_in_baiyun(chain), assigned_in_baiyun(chain)) for _ in range(6)]
    pool = eventlet.GreenPool(12)
    answers = list(pool.imap(lambda job: act(chain, job[0], "admin", action="merge",
                                             into=job[1]).status_code,
                             [job for a, b in pairs for job in ((a, b), (b, a))]))
    assert sorted(set(answers)) == [200, 400], answers
    for a, b in pairs:
        statuses = {ticket(chain, a, "admin")["status"], ticket(chain, b, "admin")["status"]}
        assert statuses == {"merged", "assigned"}, "exactly one of each pair joined the other"


def test_a_reassigned_representative_gets_a_full_wait_of_their_own(chain):
    ticket_id = assigned_in_baiyun(chain)
    with psycopg.connect(settings().database_url) as conn:
        conn.execute("UPDATE routing.tickets SET status_since = now() - interval '3 days'"
                     " WHERE ticket_id = %s", (ticket_id,))
    answer = act(chain, ticket_id, "congress:baiyun", action="reassign",
                 representative="rep-liu-hanli")
    assert answer.status_code == 200, answer.text
    with psycopg.connect(settings().database_url) as conn:
        waited = conn.execute("SELECT extract(epoch FROM now() - status_since) FROM routing.tickets"
                              " WHERE ticket_id = %s", (ticket_id,)).fetchone()[0]
    assert waited < 60, "the new representative's deadline counts from the reassignment"


def test_office_reassigns_to_another_representative(chain):
    ticket_id = assigned_in_baiyun(chain)
    answer = act(chain, ticket_id, "congress:baiyun", action="reassign",
                 representative="rep-liu-hanli")
    assert answer.json()["representative"]["id"] == "rep-liu-hanli"
    assert act(chain, ticket_id, "congress:baiyun", action="reassign",
               representative="rep-li-guorong").status_code == 400


def test_office_dispatches_by_hand_to_a_lead_and_an_assisting_department(chain):
    ticket_id = assigned_in_baiyun(chain, description="想反映一个情况")  # no category
    assert ticket(chain, ticket_id, "congress:baiyun")["status"] == "forwarded"
    answer = act(chain, ticket_id, "congress:baiyun", action="dispatch",
                 departments={"lead": "baiyun-water", "assist": ["gz-housing"]},
                 due_at="2026-01-01T09:00:00+08:00", note="请水务局牵头")
    assert answer.status_code == 200, answer.text
    assert take_dispatch("baiyun-water", ticket_id)["role"] == "lead"
    assert take_dispatch("gz-housing", ticket_id)["role"] == "assist"
    overdue = requests.get(f"{chain['routing']}/api/v1/tickets?overdue=true",
                           headers=bearer(chain, "congress:baiyun")).json()["tickets"]
    assert ticket_id in [row["ticket_id"] for row in overdue]
    assert all(row["overdue"] and row["district"] == "baiyun" for row in overdue)


def test_a_representative_lists_only_their_own_tickets(chain):
    mine = assigned_in_baiyun(chain)
    listed = requests.get(f"{chain['routing']}/api/v1/tickets",
                          headers=bearer(chain, "representative:rep-zhao-min")).json()["tickets"]
    assert mine in [row["ticket_id"] for row in listed]
    assert {row["representative_id"] for row in listed} == {"rep-zhao-min"}
    other = requests.get(f"{chain['routing']}/api/v1/tickets?representative=rep-liu-hanli",
                         headers=bearer(chain, "representative:rep-zhao-min"))
    assert other.status_code == 403


def test_an_office_cannot_list_another_district(chain):
    answer = requests.get(f"{chain['routing']}/api/v1/tickets?district=tianhe",
                          headers=bearer(chain, "congress:baiyun"))
    assert answer.status_code == 403
    bad = requests.get(f"{chain['routing']}/api/v1/tickets?status=lost&limit=0",
                       headers=bearer(chain, "admin"))
    assert bad.status_code == 400 and {"status", "limit"} <= set(bad.json()["errors"])


def test_feedback_over_http_that_cannot_apply_is_refused_and_parked_too(chain):
    missing = str(uuid.uuid4())
    answer = requests.post(f"{chain['routing']}/api/v1/departments/conghua-water/feedback",
                           headers=bearer(chain, "department:conghua-water"),
                           json={"dispatch_id": missing, "status": "acknowledged"})
    assert answer.status_code == 409 and answer.json()["detail"] == "unknown dispatch"
    parked = rejected_feedback(missing)
    assert parked.headers["x-park-reason"] == "unknown dispatch"
    assert parked.headers["x-original-routing-key"] == "dept.conghua-water"


def test_feedback_over_http_for_another_department_is_forbidden(chain):
    answer = requests.post(f"{chain['routing']}/api/v1/departments/gz-housing/feedback",
                           headers=bearer(chain, "department:conghua-water"),
                           json={"dispatch_id": "x", "status": "acknowledged"})
    assert answer.status_code == 403


@pytest.mark.parametrize("body, content_type, reason", [
    (b"status=resolved&result=done", "text/plain",
     "undecodable message: its content type 'text/plain' is not application/json"),
    (b'{"status": "\xff\xfe"}', "application/json", "undecodable message: its body is not UTF-8 text")])
def test_an_undecodable_message_is_rejected_with_its_reason_and_its_body_not_logged(
        chain, caplog, body, content_type, reason):
    counted_before = rejected_count(chain)
    marker = str(uuid.uuid4())
    with confirmed_connection() as connection:
        Producer(connection.channel()).publish(
            body, exchange=FEEDBACK, routing_key="dept.conghua-water", content_type=content_type,
            content_encoding="utf-8", delivery_mode=2, message_id=marker, declare=[])
    wait_until(lambda: rejected_count(chain) == counted_before + 1,
               what="the undecodable message counted as rejected")
    found = drain(topology.FEEDBACK_REJECTED)
    (parked,) = [m for m in found if m.headers["x-original-message-id"] == marker]
    assert parked.headers["x-park-reason"] == reason
    assert base64.b64decode(json.loads(parked.body)["body_base64"]) == body
    assert body.decode("utf-8", "replace") not in caplog.text
    assert queued("zd.routing.feedback.parked") == 0
    ticket_id = post_concern(chain)
    dispatch = take_dispatch("conghua-water", ticket_id)
    publish_feedback("conghua-water", {"dispatch_id": dispatch["dispatch_id"], "status": "acknowledged"})
    wait_until(lambda: ticket(chain, ticket_id)["status"] == "in_progress",
               what="the queue goes on behind it")


def test_requests_that_fail_still_take_their_token(chain):
    with running("routing", ZD_RATE_LIMIT=1) as limited:
        statuses = [requests.get(f"{limited}/api/v1/tickets/ZD20260101-00000000", timeout=5,
                                 headers=bearer(chain, "representative:rep-wu-meifang")).status_code
                    for _ in range(5)]
    assert statuses[:2] == [404, 404] and statuses[-1] == 429, statuses


def test_the_time_each_ticket_spent_in_a_status_is_measured(chain):
    def stage_count(status):
        text = requests.get(f"{chain['routing']}/metrics", timeout=5).text
        return sum(sample.value for family in text_string_to_metric_families(text)
                   for sample in family.samples
                   if sample.name == "zd_ticket_stage_seconds_count"
                   and sample.labels.get("status") == status)
    before = stage_count("received")
    ticket_id = post_concern(chain)
    wait_until(lambda: ticket(chain, ticket_id).get("status") in ("assigned", "forwarded", "dispatched"),
               what="the ticket routed")
    assert stage_count("received") == before + 1
