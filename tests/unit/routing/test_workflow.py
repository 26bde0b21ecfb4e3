"""Routing's workflow, step by step, on a fake of its store: no PostgreSQL, no broker.

Each step is opened as an entrypoint opens it (``Step``), on ``FakeStore`` with a
clock that moves only when a test moves it; the tests check the ticket, its timeline,
and what the step queued in the outbox. The events expected are built by the
producers' own code from the rows stored: ``services.routing.snapshots`` and
``services.common.events``.
"""
import inspect
from datetime import datetime, timedelta, timezone

import pytest

from services.common import events, topology
from services.common.credentials import Party
from services.common.directory import load_directory
from services.common.errors import Conflict
from services.routing import domain, snapshots, store
from services.routing.use_cases import actions, deadlines, inbound, workflow
from services.routing.use_cases.step import OUTBOX_PORT, STORE_PORT, Step
from tests.support import events as made
from tests.support.system import DEMO_DIRECTORY
from tests.unit.routing.fake_store import FakeStore

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # a Monday, 09:00 in Guangzhou
SEWER = "元岗路下水道堵塞，污水外溢"
OFFICE = Party("congress", "baiyun")


@pytest.fixture(scope="module")
def directory():
    return load_directory(DEMO_DIRECTORY)


class Clock:
    """The steps' clock: it moves when a test moves it."""

    def __init__(self):
        self.at = T0

    def __call__(self):
        return self.at

    def advance(self, **elapsed):
        self.at += timedelta(**elapsed)


class Routing:
    """Routing's rules on one fake store; each method is one step, as an entrypoint takes it."""

    def __init__(self, directory):
        self.directory, self.clock = directory, Clock()
        self.store = FakeStore(self.clock)

    def step(self):
        return Step(self.store, self.directory, now=self.clock)

    def receive(self, n, **fields):
        """A new concern, from intake's own event, as routing reads it."""
        row = made.concern_row(f"ZD20260302-{n:08d}", received_at=self.clock(), **fields)
        with self.step() as step:
            return workflow.receive_concern(
                step, inbound.checked_concern(events.concern_received(row).body, self.directory))

    def act(self, ticket_id, party, **command):
        with self.step() as step:
            return actions.perform(step, ticket_id, party, command)

    def feedback(self, department, **feedback):
        with self.step() as step:
            return workflow.apply_feedback(step, department, {"note": None, **feedback})

    def rate(self, ticket_id, rating, comment=None):
        resolution = self.store.find_ticket(ticket_id)["reopen_count"]
        with self.step() as step:
            return workflow.rate(step, {"ticket_id": ticket_id, "resolution": resolution,
                                        "rating": rating, "comment": comment})

    def timeline(self, ticket_id):
        """``(actor, action, from, to)`` of each entry."""
        return [(entry["actor"], entry["action"], entry["from_status"], entry["to_status"])
                for entry in self.store.timeline(ticket_id)]

    def sent(self):
        """What the steps queued in the outbox since the last call, in order."""
        queued, self.store.outbox = self.store.outbox, []
        return queued

    def announced(self, ticket_id, *changes):
        """``ticket.<change>`` as a step that made ``changes`` (``(change, index of its
        entry in the timeline)``) emits it: the ticket, its dispatches and timeline as
        stored now."""
        timeline = self.store.timeline(ticket_id)
        return queued_event(events.ticket_changed(
            snapshots.ticket_snapshot(self.store.find_ticket(ticket_id),
                                      self.store.dispatches_of(ticket_id), timeline, self.directory),
            [(change, snapshots.timeline_entry(timeline[index])) for change, index in changes]))

    def dispatch_message(self, record):
        """The department's message of a dispatch, on its queue of ``zd.dispatch``."""
        message = snapshots.dispatch_message(self.store.find_ticket(record["ticket_id"]), record,
                                             self.directory)
        return {"exchange": topology.DISPATCH.name,
                "routing_key": topology.department_routing_key(record["department"]),
                "type": "ticket.dispatched", "body": message, "message_id": record["dispatch_id"]}


def queued_event(event):
    """An event as the outbox queues it on ``zd.events``."""
    return {"exchange": topology.EVENTS.name, "routing_key": event.type, "type": event.type,
            "body": event.body, "message_id": event.message_id}


@pytest.fixture
def routing(directory):
    return Routing(directory)


@pytest.fixture
def dispatched(routing):
    """A baiyun ticket its representative forwarded and the rules dispatched (baiyun-water)."""
    ticket = routing.receive(1, community="yuangang", description=SEWER)
    routing.act(ticket["ticket_id"], Party("representative", "rep-chen-jianguo"), action="forward")
    routing.sent()
    return routing.store.find_ticket(ticket["ticket_id"])


def test_a_concern_without_a_category_is_categorised_and_assigned_to_its_station(routing):
    ticket = routing.receive(1, community="yuangang", category=None, description=SEWER)
    ticket_id = ticket["ticket_id"]
    assert (ticket["status"], ticket["category"], ticket["representative_id"]) == (
        "assigned", "drainage", "rep-chen-jianguo")
    assert routing.timeline(ticket_id) == [("channel:wechat", "receive", None, "received"),
                                           ("system", "categorise", "received", "received"),
                                           ("system", "assign", "received", "assigned")]
    assert routing.store.timeline(ticket_id)[2]["note"] == \
        "陈建国 (rep-chen-jianguo): liaison station of yuangang"
    assert routing.sent() == [routing.announced(ticket_id, ("assigned", 2))]


def test_a_named_representative_is_locked_before_she_is_assigned(routing):
    """Her row is locked with a count, so with the batch's station representatives set
    aside for the first count, in one order: never by the assignment's trigger alone,
    while another batch holds the others and waits for her."""
    counted = []
    counts = routing.store.open_counts
    routing.store.open_counts = lambda ids: counted.append(list(ids)) or counts(ids)
    ticket = routing.receive(1, community="yuangang", requested_representative="rep-liu-hanli")
    assert ticket["representative_id"] == "rep-liu-hanli"
    assert counted == [["rep-liu-hanli"]]


def test_a_full_station_s_concern_goes_to_its_next_representative(routing):
    for n in range(3):  # rep-chen-jianguo takes three
        routing.receive(n, community="yuangang")
    assert routing.receive(3, community="yuangang")["representative_id"] == "rep-liu-hanli"


def test_a_concern_no_category_matches_is_left_to_the_office(routing):
    ticket = routing.receive(1, community="yuangang", category=None, title=None,
                             description="想了解一下政策")
    ticket_id = ticket["ticket_id"]
    assert (ticket["status"], ticket["category"]) == ("forwarded", None)
    assert routing.timeline(ticket_id)[2:] == [("system", "assign", "received", "assigned"),
                                               ("system", "undecided", "assigned", "forwarded")]
    assert routing.sent() == [routing.announced(ticket_id, ("assigned", 2), ("undecided", 3))]


def test_a_one_click_district_s_concern_is_dispatched_at_once_and_announced_once(routing):
    ticket = routing.receive(1, district="conghua", community="jiekou", description="街口路下水道堵塞")
    ticket_id = ticket["ticket_id"]
    (record,) = routing.store.dispatches_of(ticket_id)
    assert (ticket["status"], record["department"], record["role"]) == (
        "dispatched", "conghua-water", "lead")
    assert record["due_at"] == domain.due_at(T0, 96, routing.directory["districts"]["conghua"]["policy"])
    assert routing.timeline(ticket_id)[1:] == [("system", "assign", "received", "assigned"),
                                               ("system", "forward", "assigned", "forwarded"),
                                               ("system", "dispatch", "forwarded", "dispatched")]
    assert routing.sent() == [routing.dispatch_message(record), routing.announced(
        ticket_id, ("assigned", 1), ("forwarded", 2), ("dispatched", 3))]


def test_a_forwarded_ticket_is_dispatched_by_the_category_rules(routing):
    ticket_id = routing.receive(1, community="yuangang", description=SEWER)["ticket_id"]
    routing.sent()
    ticket = routing.act(ticket_id, Party("representative", "rep-chen-jianguo"), action="forward",
                         note="请联络室处理")
    (record,) = routing.store.dispatches_of(ticket_id)
    assert (ticket["status"], record["department"]) == ("dispatched", "baiyun-water")
    assert routing.timeline(ticket_id)[-2:] == [
        ("representative:rep-chen-jianguo", "forward", "assigned", "forwarded"),
        ("system", "dispatch", "forwarded", "dispatched")]
    assert routing.sent() == [routing.dispatch_message(record),
                              routing.announced(ticket_id, ("forwarded", 2), ("dispatched", 3))]


def test_the_lead_department_s_resolution_resolves_the_ticket(routing, dispatched):
    routing.clock.advance(hours=5)
    (record,) = routing.store.dispatches_of(dispatched["ticket_id"])
    ticket = routing.feedback("baiyun-water", dispatch_id=record["dispatch_id"], status="resolved",
                              result="已疏通")
    assert (ticket["status"], ticket["result"], ticket["resolved_at"]) == ("resolved", "已疏通",
                                                                           routing.clock())
    assert routing.store.dispatch(record["dispatch_id"])["status"] == "resolved"
    assert routing.timeline(ticket["ticket_id"])[-1] == (
        "department:baiyun-water", "resolve", "dispatched", "resolved")
    assert routing.sent() == [routing.announced(ticket["ticket_id"], ("resolved", 4))]


def test_feedback_on_another_department_s_dispatch_is_rejected_and_changes_nothing(
        routing, dispatched):
    (record,) = routing.store.dispatches_of(dispatched["ticket_id"])
    with pytest.raises(workflow.FeedbackRejected,
                       match="dispatch belongs to department baiyun-water, not tianhe-water"):
        routing.feedback("tianhe-water", dispatch_id=record["dispatch_id"], status="resolved",
                         result="已疏通")
    assert routing.store.find_ticket(dispatched["ticket_id"]) == dispatched
    assert routing.sent() == []


def resolve(routing, ticket):
    (record, *_) = routing.store.dispatches_of(ticket["ticket_id"])[::-1]
    routing.feedback(record["department"], dispatch_id=record["dispatch_id"], status="resolved",
                     result="已疏通")
    routing.sent()


def test_a_satisfied_rating_closes_the_ticket(routing, dispatched):
    resolve(routing, dispatched)
    ticket = routing.rate(dispatched["ticket_id"], "satisfied", "很快")
    assert (ticket["status"], ticket["rating"], ticket["rating_comment"]) == ("closed", "satisfied", "很快")
    assert routing.timeline(ticket["ticket_id"])[-1] == ("reporter", "rate", "resolved", "closed")
    assert routing.sent() == [routing.announced(ticket["ticket_id"], ("closed", 5))]


def test_an_unsatisfied_rating_reopens_the_ticket_and_the_rules_dispatch_it_again(
        routing, dispatched):
    ticket_id = dispatched["ticket_id"]
    resolve(routing, dispatched)
    ticket = routing.rate(ticket_id, "unsatisfied", "还是堵")
    first, again = routing.store.dispatches_of(ticket_id)
    assert (ticket["status"], ticket["reopen_count"], ticket["rating"]) == ("dispatched", 1, "unsatisfied")
    assert (first["status"], again["status"], again["department"]) == ("resolved", "sent", "baiyun-water")
    assert routing.timeline(ticket_id)[-2:] == [("reporter", "rate", "resolved", "forwarded"),
                                                ("system", "dispatch", "forwarded", "dispatched")]
    assert routing.store.timeline(ticket_id)[-2]["note"] == "unsatisfied: 还是堵: reopened"
    reopened, message, redispatched = routing.sent()
    # the reopening is announced by itself, as it was made; then the new dispatch
    assert (reopened["type"], reopened["body"]["ticket"]["status"]) == ("ticket.forwarded", "forwarded")
    assert reopened["body"]["changes"] == [{"change": "forwarded", "entry": snapshots.timeline_entry(
        routing.store.timeline(ticket_id)[-2])}]
    assert [record["dispatch_id"] for record in reopened["body"]["ticket"]["departments"]] == [
        first["dispatch_id"]]
    assert message == routing.dispatch_message(again)
    assert redispatched == routing.announced(ticket_id, ("dispatched", 6))


def test_an_unsatisfied_rating_at_the_reopen_limit_closes_the_ticket(routing, dispatched):
    resolve(routing, dispatched)
    routing.store.tickets[dispatched["ticket_id"]]["reopen_count"] = 2  # reopened twice before
    ticket = routing.rate(dispatched["ticket_id"], "unsatisfied")
    assert (ticket["status"], ticket["reopen_count"]) == ("closed", 2)
    assert routing.store.timeline(ticket["ticket_id"])[-1]["note"] == \
        "unsatisfied (reopen limit 2 reached)"


def test_a_rating_of_an_unresolved_ticket_is_refused(routing, dispatched):
    with pytest.raises(workflow.RatingRefused, match="the ticket is dispatched"):
        routing.rate(dispatched["ticket_id"], "satisfied")
    assert routing.sent() == []


def test_a_representative_who_does_not_act_in_time_is_passed_over(routing):
    ticket = routing.receive(1, community="yuangang", description=SEWER)
    routing.sent()
    routing.clock.advance(days=3)
    with routing.step() as step:
        deadlines.pass_over(step, ticket)
    assert routing.timeline(ticket["ticket_id"])[-2:] == [
        ("system", "forward", "assigned", "forwarded"), ("system", "dispatch", "forwarded", "dispatched")]
    (record,) = routing.store.dispatches_of(ticket["ticket_id"])
    assert routing.sent() == [routing.dispatch_message(record), routing.announced(
        ticket["ticket_id"], ("forwarded", 2), ("dispatched", 3))]


def test_an_office_that_does_not_dispatch_in_time_is_escalated(routing):
    ticket = routing.receive(1, community="yuangang", category=None, title=None,
                             description="想了解一下政策")
    routing.sent()
    routing.clock.advance(days=2)
    with routing.step() as step:
        deadlines.escalate(step, ticket, routing.clock())
    escalated = routing.store.find_ticket(ticket["ticket_id"])
    assert (escalated["status"], escalated["escalated_at"]) == ("forwarded", routing.clock())
    assert routing.store.timeline(ticket["ticket_id"])[-1]["note"] == "not dispatched within 8 hours"
    assert routing.sent() == [routing.announced(ticket["ticket_id"], ("escalated", 4))]


def test_a_lead_dispatch_past_its_due_time_is_flagged_overdue(routing, dispatched):
    (record,) = routing.store.dispatches_of(dispatched["ticket_id"])
    routing.clock.advance(days=10)
    with routing.step() as step:
        deadlines.flag_overdue(step, record, routing.clock())
    assert routing.store.dispatch(record["dispatch_id"])["overdue_at"] == routing.clock()
    assert routing.sent() == [routing.announced(dispatched["ticket_id"], ("overdue", 4))]


def test_resolving_an_original_resolves_the_tickets_merged_into_it_in_the_same_step(routing):
    original = routing.receive(1, community="yuangang", description=SEWER)["ticket_id"]
    repeat = routing.receive(2, community="yuangang", description=SEWER)["ticket_id"]
    assert routing.act(repeat, OFFICE, action="merge", into=original)["status"] == "merged"
    routing.sent()
    routing.act(original, OFFICE, action="resolve", result="已疏通")
    follower = routing.store.find_ticket(repeat)
    assert (follower["status"], follower["result"]) == ("merged", "已疏通")
    assert routing.timeline(repeat)[-1] == ("system", "resolve", "merged", "merged")
    assert routing.sent() == [routing.announced(original, ("resolved", 2)),
                              routing.announced(repeat, ("resolved", 3))]


def test_an_action_the_status_does_not_allow_is_a_conflict_naming_the_allowed_ones(routing):
    ticket_id = routing.receive(1, community="yuangang", description=SEWER)["ticket_id"]
    routing.sent()
    with pytest.raises(Conflict) as refused:
        routing.act(ticket_id, OFFICE, action="dispatch",
                    departments={"lead": "baiyun-water", "assist": []})
    assert refused.value.extra["allowed_actions"] == ["forward", "resolve", "merge", "reject",
                                                      "reassign"]
    assert routing.store.find_ticket(ticket_id)["status"] == "assigned"
    assert routing.sent() == []


def test_a_step_that_raises_announces_nothing(routing):
    ticket = routing.receive(1, community="yuangang", description=SEWER)
    routing.sent()
    with pytest.raises(RuntimeError), routing.step() as step:
        workflow.note(step, ticket, workflow.Note("system", "escalate", "by hand", event="escalated"))
        raise RuntimeError("the transaction is rolled back")
    assert routing.sent() == []


def test_a_step_announces_each_ticket_once_with_every_change_it_made(routing):
    ticket = routing.receive(1, community="yuangang", description=SEWER)
    routing.sent()
    with routing.step() as step:
        ticket = workflow.note(step, ticket, workflow.Note("system", "escalate", "first",
                                                           event="escalated"))
        workflow.change(step, ticket, workflow.Change("forwarded", "system", "forward", "then"))
        assert routing.sent() == []  # not before the step ends
    assert routing.sent() == [routing.announced(ticket["ticket_id"], ("escalated", 2),
                                                ("forwarded", 3))]


def parameters(function, bound=0):
    return list(inspect.signature(function).parameters.values())[bound:]


@pytest.mark.parametrize("name", STORE_PORT)
def test_the_fake_store_has_the_port_s_functions(name):
    """Each of the fake's methods takes what the real function takes after its connection."""
    assert parameters(getattr(FakeStore, name), 1) == parameters(getattr(store, name), 1)


@pytest.mark.parametrize("name", list(OUTBOX_PORT))
def test_the_fake_store_has_the_outbox_s_functions(name):
    assert parameters(getattr(FakeStore, name), 1) == parameters(OUTBOX_PORT[name], 1)
