"""The office's follow-up call (回访) and the reminder to rate, on a fake of routing's store:
a call recorded once per resolution of a resolved (or merged and resolved) ticket by its
district's office only, sent to intake as ``rating.taken_by_phone``; the rating that
comes back as ``concern.rated`` written as the office's, naming who took it; a reporter
reminded once per resolution."""
import pytest

from services.common import events
from services.common.credentials import Party
from services.common.directory import load_directory
from services.common.errors import BadRequest, Conflict, Forbidden
from services.routing.schemas import RatingEventSchema
from services.routing.use_cases import actions, deadlines, workflow
from services.routing.use_cases.step import Person, Step
from tests.support.system import DEMO_DIRECTORY
from tests.unit.routing.test_workflow import OFFICE, SEWER, Routing, queued_event, resolve

WU = Person("office-baiyun-wu", "吴敏")
CHEN = Party("representative", "rep-chen-jianguo")
RECORDED_BY_WU = {"id": "office-baiyun-wu", "name": "吴敏"}


@pytest.fixture(scope="module")
def directory():
    return load_directory(DEMO_DIRECTORY)


class Office(Routing):
    """Routing with the office's follow-up calls, and ratings as intake sends them."""

    def follow_up(self, ticket_id, party=OFFICE, person=None, **command):
        with Step.acting(self.store, self.directory, person, party, now=self.clock) as step:
            return actions.perform(step, ticket_id, party, {"action": "follow_up", **command})

    def rated(self, ticket_id, rating, comment=None, taken_by="phone", recorded_by=None):
        """``concern.rated`` as intake emits it, loaded as routing's consumer loads it."""
        resolution = self.store.find_ticket(ticket_id)["reopen_count"]
        body = events.concern_rated(ticket_id, resolution, rating, comment, self.clock(),
                                    taken_by, recorded_by).body
        with self.step() as step:
            return workflow.rate(step, RatingEventSchema().load(body))


@pytest.fixture
def routing(directory):
    return Office(directory)


@pytest.fixture
def resolved(routing):
    """A baiyun ticket forwarded, dispatched and resolved by baiyun-water."""
    ticket = routing.receive(1, community="yuangang", description=SEWER)
    routing.act(ticket["ticket_id"], CHEN, action="forward")
    resolve(routing, ticket)
    return routing.store.find_ticket(ticket["ticket_id"])


def test_a_follow_up_call_is_recorded_and_sent_to_intake_changing_nothing(routing, resolved):
    ticket_id = resolved["ticket_id"]
    routing.clock.advance(days=1)
    ticket = routing.follow_up(ticket_id, person=WU, rating="unsatisfied", comment="还是有臭味")
    assert ticket == resolved and routing.store.find_ticket(ticket_id) == resolved
    assert routing.store.follow_up_calls[(ticket_id, 0)] == {
        "ticket_id": ticket_id, "resolution": 0, "rating": "unsatisfied", "comment": "还是有臭味",
        "person_id": "office-baiyun-wu", "person_name": "吴敏", "at": routing.clock()}
    assert routing.sent() == [queued_event(events.phone_rating(
        ticket_id, 0, "unsatisfied", "还是有臭味", routing.clock(), RECORDED_BY_WU))]


def test_a_call_recorded_with_the_office_s_key_names_the_office(routing, resolved):
    routing.follow_up(resolved["ticket_id"], rating="satisfied")
    (sent,) = routing.sent()
    assert sent["type"] == "rating.taken_by_phone"
    assert sent["body"]["recorded_by"] == {"id": "congress:baiyun", "name": "白云区人大常委会代表联络室"}
    assert sent["body"]["comment"] is None and sent["message_id"] == \
        f"phone-rating-{resolved['ticket_id']}-0"


def test_a_second_call_for_the_same_resolution_is_a_conflict(routing, resolved):
    routing.follow_up(resolved["ticket_id"], person=WU, rating="satisfied")
    routing.sent()
    with pytest.raises(Conflict) as refused:
        routing.follow_up(resolved["ticket_id"], rating="unsatisfied")
    assert refused.value.detail == (f"The follow-up call of resolution 0 of ticket"
                                    f" {resolved['ticket_id']} is recorded already.")
    assert refused.value.extra == {"allowed_statuses": ["closed", "forwarded"],
                                   "allowed_actions": ["forward"]}
    assert routing.store.follow_up_calls[(resolved["ticket_id"], 0)]["rating"] == "satisfied"
    assert routing.sent() == []


def test_a_ticket_not_resolved_has_no_call_to_record(routing):
    ticket_id = routing.receive(1, community="yuangang", description=SEWER)["ticket_id"]
    routing.sent()
    with pytest.raises(Conflict) as refused:
        routing.follow_up(ticket_id, rating="satisfied")
    assert refused.value.detail == (f"Ticket {ticket_id} is assigned: no resolution of it awaits"
                                    " a rating.")
    assert refused.value.extra["allowed_actions"] == ["forward", "resolve", "merge", "reject",
                                                      "reassign"]
    assert routing.store.follow_up_calls == {} and routing.sent() == []


@pytest.mark.parametrize("party", [CHEN, Party("admin")])
def test_only_the_office_records_a_follow_up_call(routing, resolved, party):
    with pytest.raises(Forbidden):
        routing.follow_up(resolved["ticket_id"], party=party, rating="satisfied")
    assert routing.store.follow_up_calls == {} and routing.sent() == []


def test_a_follow_up_call_is_not_taken_on_many_tickets_at_once(directory):
    with pytest.raises(BadRequest) as refused:
        actions.act_on_many(None, ["ZD-1"], OFFICE, {"action": "follow_up", "rating": "satisfied"},
                            directory)
    assert list(refused.value.errors) == ["action"]


def test_a_merged_ticket_resolved_with_its_original_takes_a_call_once_rated_no_more(routing):
    original = routing.receive(1, community="yuangang", description=SEWER)["ticket_id"]
    repeat = routing.receive(2, community="yuangang", description=SEWER)["ticket_id"]
    routing.act(repeat, OFFICE, action="merge", into=original)
    with pytest.raises(Conflict):
        routing.follow_up(repeat, rating="satisfied")  # nothing resolved yet
    routing.act(original, OFFICE, action="resolve", result="已疏通")
    routing.sent()
    routing.follow_up(repeat, person=WU, rating="satisfied", comment="好了")
    assert [sent["type"] for sent in routing.sent()] == ["rating.taken_by_phone"]
    ticket = routing.rated(repeat, "satisfied", "好了", recorded_by=RECORDED_BY_WU)
    assert (ticket["status"], ticket["rating"]) == ("merged", "satisfied")
    entry = routing.store.timeline(repeat)[-1]
    assert (entry["actor"], entry["action"], entry["person_name"]) == ("congress:baiyun", "rate", "吴敏")


def test_a_rating_taken_by_phone_is_the_office_s_entry_naming_who_took_it(routing, resolved):
    ticket = routing.rated(resolved["ticket_id"], "satisfied", "修好了", recorded_by=RECORDED_BY_WU)
    assert (ticket["status"], ticket["rating"], ticket["rating_comment"]) == ("closed", "satisfied",
                                                                              "修好了")
    entry = routing.store.timeline(resolved["ticket_id"])[-1]
    assert (entry["actor"], entry["action"], entry["from_status"], entry["to_status"]) == (
        "congress:baiyun", "rate", "resolved", "closed")
    assert (entry["person_id"], entry["person_name"]) == ("office-baiyun-wu", "吴敏")
    assert entry["note"] == "taken by phone on a follow-up call: satisfied: 修好了"
    (closed,) = routing.sent()
    assert closed["type"] == "ticket.closed"
    assert closed["body"]["entry"]["person"] == RECORDED_BY_WU


def test_an_unsatisfied_rating_by_phone_reopens_as_the_reporter_s_own_does(routing, resolved):
    ticket = routing.rated(resolved["ticket_id"], "unsatisfied", None,
                           recorded_by={"id": "congress:baiyun", "name": "白云区人大常委会代表联络室"})
    assert (ticket["status"], ticket["reopen_count"]) == ("dispatched", 1)
    reopening = routing.store.timeline(resolved["ticket_id"])[-2]
    assert (reopening["actor"], reopening["to_status"], reopening["person_id"]) == (
        "congress:baiyun", "forwarded", None)  # the office's key: no person beside the office
    assert reopening["note"] == "taken by phone on a follow-up call: unsatisfied: reopened"
    assert [sent["type"] for sent in routing.sent()] == ["ticket.forwarded", "ticket.dispatched",
                                                         "ticket.dispatched"]


@pytest.mark.parametrize("taken_by", [None, "frontend", "page"])
def test_a_rating_the_reporter_gave_stays_the_reporter_s(routing, resolved, taken_by):
    body = events.concern_rated(resolved["ticket_id"], 0, "satisfied", None, routing.clock()).body
    if taken_by is None:  # as intake sent it before ratings said how they came
        del body["taken_by"], body["recorded_by"]
    else:
        body["taken_by"] = taken_by
    with routing.step() as step:
        workflow.rate(step, RatingEventSchema().load(body))
    entry = routing.store.timeline(resolved["ticket_id"])[-1]
    assert (entry["actor"], entry["person_id"], entry["note"]) == ("reporter", None, "satisfied")


def test_a_rating_event_that_says_it_came_another_way_is_invalid(resolved):
    body = events.concern_rated(resolved["ticket_id"], 0, "satisfied", None, resolved["received_at"],
                                "carrier-pigeon", {"id": ""}).body
    assert set(RatingEventSchema().validate(body)) == {"taken_by", "recorded_by"}


def test_a_reporter_is_reminded_once_per_resolution(routing, resolved):
    ticket_id = resolved["ticket_id"]
    routing.clock.advance(days=3)
    with routing.step() as step:
        deadlines.remind_to_rate(step, routing.store.find_ticket(ticket_id), routing.clock())
    reminded = routing.store.find_ticket(ticket_id)
    assert (reminded["status"], reminded["reminded_at"]) == ("resolved", routing.clock())
    entry = routing.store.timeline(ticket_id)[-1]
    assert (entry["actor"], entry["action"], entry["to_status"]) == ("system", "remind", "resolved")
    assert entry["note"] == "not rated within 3 days: the reporter is reminded to rate the result"
    assert routing.sent() == [routing.announced(ticket_id, ("reminded", len(
        routing.store.timeline(ticket_id)) - 1))]
    routing.rated(ticket_id, "unsatisfied", taken_by="frontend")
    assert routing.store.find_ticket(ticket_id)["reminded_at"] is None, "a new resolution is reminded again"
