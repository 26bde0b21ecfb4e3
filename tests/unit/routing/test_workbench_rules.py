"""The rules the workbench's pages rely on, on a fake of routing's store: the person who
acted named beside the party, an action refused when the ticket changed since its
version, a department that answers in the page (``delivery: web``), who may keep
internal notes, saved replies that do not fit, and when the office takes a ticket over
from its representative (in the district's working hours)."""
import copy
from datetime import datetime, timedelta, timezone

import pytest

from services.common import topology
from services.common.credentials import Party
from services.common.directory import load_directory
from services.common.errors import BadRequest, Conflict, NotFound
from services.routing.use_cases import actions, deadlines, notes, replies
from services.routing.use_cases.step import Person, Step
from tests.support.system import DEMO_DIRECTORY
from tests.unit.routing.fake_store import FakeStore
from tests.unit.routing.test_workflow import OFFICE, SEWER, T0, Routing

WANG = Person("staff-wang", "王芳")
CHEN = Party("representative", "rep-chen-jianguo")


@pytest.fixture(scope="module")
def directory():
    return load_directory(DEMO_DIRECTORY)


class SignedIn(Routing):
    """Routing whose actions are taken by a person signed in for their party."""

    def act_as(self, person, ticket_id, party, **command):
        with Step.acting(self.store, self.directory, person, party, now=self.clock) as step:
            return actions.perform(step, ticket_id, party, command)


@pytest.fixture
def routing(directory):
    return SignedIn(directory)


def test_the_person_is_named_on_their_party_s_entries_and_in_the_event(routing):
    ticket_id = routing.receive(1, community="yuangang", description=SEWER)["ticket_id"]
    routing.sent()
    routing.act_as(WANG, ticket_id, CHEN, action="forward", note="请联络室处理")
    forward, dispatch = routing.store.timeline(ticket_id)[-2:]
    assert (forward["actor"], forward["person_id"], forward["person_name"]) == (
        "representative:rep-chen-jianguo", "staff-wang", "王芳")
    assert (dispatch["actor"], dispatch["person_id"]) == ("system", None)  # the rules, not her
    (_, event) = routing.sent()
    first, second = event["body"]["changes"]
    assert first["entry"]["person"] == {"id": "staff-wang", "name": "王芳"}
    assert first["entry"]["actor"] == "representative:rep-chen-jianguo"
    assert "person" not in second["entry"]
    assert "person" not in event["body"]["ticket"]["timeline"][0]


def test_a_step_without_a_person_names_none(routing):
    ticket_id = routing.receive(1, community="yuangang", description=SEWER)["ticket_id"]
    routing.act(ticket_id, CHEN, action="escalate")
    assert routing.store.timeline(ticket_id)[-1]["person_id"] is None


def test_an_action_decided_on_an_older_version_is_a_conflict_and_changes_nothing(routing):
    ticket = routing.receive(1, community="yuangang", description=SEWER)
    routing.clock.advance(minutes=5)
    routing.act_as(WANG, ticket["ticket_id"], OFFICE, action="escalate")
    routing.sent()
    with pytest.raises(Conflict) as refused:
        routing.act(ticket["ticket_id"], CHEN, action="forward", version=ticket["version"])
    at = routing.clock().isoformat(timespec="seconds")
    assert refused.value.detail == (f"Ticket {ticket['ticket_id']} changed since you opened it (now"
                                    f" assigned, by 王芳 (congress:baiyun) at {at}).")
    assert refused.value.extra == {"current_version": ticket["version"] + 1,
                                   "ticket_status": "assigned"}
    assert routing.store.find_ticket(ticket["ticket_id"])["status"] == "assigned"
    assert routing.sent() == []


def test_an_action_on_the_current_version_is_taken(routing):
    ticket = routing.receive(1, community="yuangang", description=SEWER)
    taken = routing.act(ticket["ticket_id"], CHEN, action="escalate", version=ticket["version"])
    assert taken["version"] == ticket["version"] + 1


def test_a_web_department_s_dispatch_goes_to_notify_and_on_no_queue(directory):
    web = copy.deepcopy(directory)
    web["departments"]["baiyun-water"]["delivery"] = "web"
    routing = SignedIn(web)
    ticket_id = routing.receive(1, community="yuangang", description=SEWER)["ticket_id"]
    routing.sent()
    routing.act(ticket_id, CHEN, action="forward")
    sent = routing.sent()
    assert [message["exchange"] for message in sent] == [topology.EVENTS.name] * 2
    (record,) = routing.store.dispatches_of(ticket_id)
    assert sent[0]["type"] == "department.dispatched"
    assert sent[0]["body"]["dispatch_id"] == record["dispatch_id"]


TICKET = {"ticket_id": "ZD20260302-00000001", "district": "baiyun",
          "representative_id": "rep-chen-jianguo"}


@pytest.mark.parametrize(("party", "active", "may"), [
    (Party("congress", "baiyun"), False, True),
    (Party("congress", "tianhe"), False, False),
    (Party("representative", "rep-chen-jianguo"), False, True),
    (Party("representative", "rep-liu-hanli"), False, False),
    (Party("department", "baiyun-water"), True, True),
    (Party("department", "baiyun-water"), False, False),
    (Party("admin"), False, True),
    (Party("frontend", "baiyun"), False, False),
])
def test_who_may_keep_internal_notes(party, active, may):
    assert notes.may_keep_notes(TICKET, party, active) is may


def test_no_note_on_a_ticket_that_does_not_exist():
    with pytest.raises(NotFound):
        notes.add_internal_note(None, None, OFFICE, None, "x")


@pytest.mark.parametrize(("kind", "title", "text", "wrong"), [
    ("answer", "已疏通", "管道已疏通", {"kind"}),
    ("note", " ", "请派单", {"title"}),
    ("note", "t" * 101, "请派单", {"title"}),
    ("note", "派单", "", {"text"}),
    ("note", "派单", "x" * 2001, {"text"}),
    ("result", "已疏通", "x" * 5001, {"text"}),
])
def test_a_saved_reply_that_does_not_fit_is_refused(kind, title, text, wrong):
    with pytest.raises(BadRequest) as refused:
        replies.save(None, "baiyun", kind, title, text, WANG)
    assert set(refused.value.errors) == wrong


@pytest.mark.parametrize("count", [0, 101])
def test_one_action_on_too_many_or_no_tickets_is_refused(count):
    with pytest.raises(BadRequest) as refused:
        actions.act_on_many(None, [f"ZD20260302-{n:08d}" for n in range(count)], OFFICE,
                            {"action": "escalate"}, {})
    assert "ticket_ids" in refused.value.errors


def test_a_refusal_in_a_bulk_outcome_keeps_its_status_errors_and_members():
    refused = Conflict("a closed ticket cannot become assigned", allowed_actions=[])
    assert actions.problem_of(refused) == {"status": 409, "detail": str(refused),
                                           "allowed_actions": []}
    invalid = BadRequest("Cannot merge there.", errors={"into": ["No such ticket here."]})
    assert actions.problem_of(invalid)["errors"] == {"into": ["No such ticket here."]}


SHANGHAI = timezone(timedelta(hours=8))
CALENDAR = {"workdays": [1, 2, 3, 4, 5], "hours": "09:00-18:00", "holidays": [],
            "extra_workdays": [], "official_holidays": None}


def assigned(at, status="assigned"):
    return {"status": status, "status_since": at, "representative_id": "rep-chen-jianguo"}


def test_the_office_takes_over_after_the_representative_s_working_hours():
    friday_five = datetime(2026, 3, 6, 17, 0, tzinfo=SHANGHAI)  # a Friday
    policy = {"representative_hours": 24, "calendar": CALENDAR, "timezone": "Asia/Shanghai"}
    # Friday 17-18 (1), Monday (9), Tuesday (9), Wednesday 09-14 (5): 24 working hours
    assert deadlines.takes_over_at(assigned(friday_five), policy) == datetime(
        2026, 3, 11, 14, 0, tzinfo=SHANGHAI)


def test_the_office_takes_over_round_the_clock_without_a_calendar():
    policy = {"representative_hours": 48, "calendar": None, "timezone": "Asia/Shanghai"}
    assert deadlines.takes_over_at(assigned(T0), policy) == T0 + timedelta(hours=48)


def test_a_ticket_assigned_out_of_hours_waits_from_the_next_opening():
    saturday = datetime(2026, 3, 7, 10, 0, tzinfo=SHANGHAI)
    policy = {"representative_hours": 2, "calendar": CALENDAR, "timezone": "Asia/Shanghai"}
    assert deadlines.takes_over_at(assigned(saturday), policy) == datetime(
        2026, 3, 9, 11, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("status", ["received", "forwarded", "dispatched", "resolved", "closed"])
def test_a_ticket_not_waiting_for_its_representative_has_no_takeover(status):
    policy = {"representative_hours": 24, "calendar": None, "timezone": "Asia/Shanghai"}
    assert deadlines.takes_over_at(assigned(T0, status), policy) is None


def test_the_fake_store_writes_the_person_as_the_real_one_does():
    store = FakeStore(lambda: T0)
    store.insert_ticket({"ticket_id": "t", "received_at": T0, "submitted_at": T0})
    entry = store.add_timeline("t", "congress:baiyun", "escalate", "assigned", "assigned",
                               person=WANG)
    assert (entry["person_id"], entry["person_name"]) == ("staff-wang", "王芳")
