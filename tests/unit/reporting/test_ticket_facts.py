"""Unit tests of services.reporting.domain: facts of events, merging them in any order,
and who may read which district. The events are built by their producers' code
(tests/support/ticket_life.py); where a test needs a snapshot that says less, or other
things, than routing's, it says what it changed."""
import itertools
from datetime import datetime, timezone

import pytest

from services.common.credentials import Party
from services.common.directory import load_directory
from services.common.errors import Forbidden
from services.reporting.domain import (
    MalformedEvent,
    TicketFacts,
    concern_facts,
    group_keys,
    merge,
    report_district,
    ticket_facts,
)
from tests.support.system import DEMO_DIRECTORY
from tests.support.ticket_life import TicketLife

DIRECTORY = load_directory([DEMO_DIRECTORY])


def at(hour, day=1):
    return datetime(2026, 5, day, hour, tzinfo=timezone.utc)


def life(category="drainage"):
    """Ticket ZD1 from its concern on: received at 01:00 on 1 May."""
    return TicketLife(DIRECTORY, "ZD1", at(1), category=category, description="元岗路下水道堵塞")


def assigned():
    """ZD1 assigned at once to rep-liu-hanli."""
    return life().assigned(at(1), "rep-liu-hanli")


def dispatched():
    """ZD1 dispatched at 02:00 to baiyun-water, due at 20:00."""
    return assigned().forwarded(at(2)).dispatched(at(2), "baiyun-water", due=at(20))


def concern(ticket):
    """The ``concern.received`` body of ``ticket``."""
    return ticket.events[0].body


def snapshot(ticket, change):
    """The ticket as its latest ``ticket.<change>`` event tells it."""
    return ticket.event(change).body["ticket"]


def facts(ticket, change):
    event = ticket.event(change)
    return ticket_facts(event.body["ticket"], event.body["entry"])


def fold(*facts):
    known = TicketFacts("ZD1")
    for seen in facts:
        known = merge(known, seen)
    return known


def test_concern_facts_never_keep_the_reporter():
    given = {**concern(life()),  # intake never sends it: read it if it were there
             "reporter": {"name": "王五", "phone": "+8613900000000", "email": "w@example.org"}}
    facts = concern_facts(given)
    assert "+8613900000000" not in repr(facts) and "王五" not in repr(facts)
    assert (facts.version, facts.status, facts.description) == (0, "received", "元岗路下水道堵塞")


def test_ticket_facts_read_dispatch_resolution_and_rating():
    ticket = assigned().forwarded(at(2)).dispatched(at(2), "baiyun-water", due=at(20),
                                                    assists=("gz-housing",))
    closed = facts(ticket.resolved(at(5)).rated(at(6), "satisfied").closed(at(6)), "closed")
    assert closed.dispatched and closed.first_dispatched_at == at(2)
    assert closed.departments == ("baiyun-water", "gz-housing")
    assert (closed.first_resolved_at, closed.lead_due_at) == (at(5), at(20))
    assert (closed.rating, closed.rating_version) == ("satisfied", 6)  # the closing's version
    assert closed.representative == "rep-liu-hanli"


def test_the_due_time_is_that_of_the_lead_holding_the_ticket_at_resolution():
    ticket = assigned().forwarded(at(2)).dispatched(at(2), "baiyun-water", due=at(4)) \
        .returned(at(5)).dispatched(at(6), "gz-housing", due=at(10)).resolved(at(8)) \
        .rated(at(11), "unsatisfied").reopened(at(11)).dispatched(at(12), "gz-transport", due=at(14))
    assert facts(ticket, "dispatched").lead_due_at == at(10)


def test_a_rating_bare_or_as_an_object_is_read_and_unknown_ratings_are_ignored():
    closed = snapshot(assigned().resolved(at(2)).rated(at(3), "basically_satisfied", "ok")
                      .closed(at(3)), "closed")
    assert closed["rating"] == {"rating": "basically_satisfied", "comment": "ok"}
    assert ticket_facts(closed).rating == "basically_satisfied"
    assert ticket_facts({**closed, "rating": "satisfied"}).rating == "satisfied"
    assert ticket_facts({**closed, "rating": "great"}).rating is None


def test_resolution_time_falls_back_to_the_entry_that_resolved():
    event = assigned().resolved(at(7)).event("resolved")
    told = {**event.body["ticket"], "resolved_at": None, "timeline": []}  # the entry only
    assert ticket_facts(told, event.body["entry"]).first_resolved_at == at(7)


def test_the_first_resolution_in_the_timeline_wins_over_a_later_resolved_at():
    ticket = assigned().resolved(at(3)).rated(at(4), "unsatisfied").reopened(at(4)) \
        .dispatched(at(5), "baiyun-water").resolved(at(9))
    told = {**snapshot(ticket, "resolved"), "resolved_at": at(9).isoformat()}
    assert ticket_facts(told).first_resolved_at == at(3)


def test_closing_a_ticket_is_not_taken_for_its_resolution():
    event = assigned().resolved(at(5)).closed(at(8)).event("closed")
    told = {**event.body["ticket"], "resolved_at": None, "timeline": []}  # the closing only
    assert ticket_facts(told, event.body["entry"]).first_resolved_at is None


ASSIGNED = snapshot(assigned(), "assigned")


@pytest.mark.parametrize("body", [None, {"ticket_id": "ZD1", "status": "assigned"},
                                  {**ASSIGNED, "version": -1}, {**ASSIGNED, "version": "3"},
                                  {**ASSIGNED, "received_at": "yesterday"},
                                  {**ASSIGNED, "received_at": "2026-05-01T01:00:00"}])
def test_malformed_ticket_snapshots_are_refused(body):
    with pytest.raises(MalformedEvent):
        ticket_facts(body)


def test_an_older_version_arriving_late_does_not_overwrite_a_newer_one():
    ticket = dispatched().resolved(at(5))
    # the newer tells another community and nothing of the dispatch
    newer = ticket_facts({**snapshot(ticket, "resolved"), "community": "sanyuanli",
                          "departments": [], "first_dispatched_at": None})
    merged = fold(newer, facts(ticket, "dispatched"))
    assert (merged.version, merged.status, merged.community) == (5, "resolved", "sanyuanli")
    assert merged.dispatched and merged.first_dispatched_at == at(2)


def test_a_ticket_event_before_its_concern_keeps_the_ticket_status_and_gains_the_description():
    ticket = life(category=None).assigned(at(1), "rep-liu-hanli", category="drainage")
    assert concern(ticket)["category"] is None
    merged = fold(facts(ticket, "assigned"), concern_facts(concern(ticket)))
    assert (merged.version, merged.status) == (2, "assigned")
    assert merged.category == "drainage" and merged.description == "元岗路下水道堵塞"


def test_any_order_of_the_same_events_gives_the_same_ticket():
    ticket = dispatched().resolved(at(6)).rated(at(7), "unsatisfied").reopened(at(7)) \
        .dispatched(at(7, day=2), "gz-housing", due=at(12, day=3)).resolved(at(9, day=3))
    told = [ticket.ticket_events("dispatched")[0], *ticket.ticket_events("resolved"),
            ticket.event("forwarded")]  # the first dispatch, both resolutions, the reopening
    events = [concern_facts(concern(ticket)), facts(ticket, "assigned"),
              *(ticket_facts(event.body["ticket"], event.body["entry"]) for event in told)]
    outcomes = {fold(*order) for order in itertools.permutations(events)}
    assert len(outcomes) == 1
    (merged,) = outcomes
    assert (merged.version, merged.status) == (8, "resolved")
    assert (merged.first_resolved_at, merged.lead_due_at) == (at(6), at(20))
    # the rating stays on routing's ticket until the next one: the newest version telling it
    assert (merged.rating, merged.rating_version) == ("unsatisfied", 8)
    assert merged.departments == ("baiyun-water", "gz-housing")


def test_the_same_event_twice_changes_nothing():
    seen = facts(dispatched(), "dispatched")
    assert fold(seen, seen) == fold(seen)


def test_the_newest_rating_wins_whatever_the_order():
    ticket = dispatched().resolved(at(5)).rated(at(6), "unsatisfied").reopened(at(6)) \
        .dispatched(at(7), "baiyun-water").resolved(at(8)).rated(at(9), "satisfied").closed(at(9))
    first, second = facts(ticket, "forwarded"), facts(ticket, "closed")
    assert (first.rating, second.rating) == ("unsatisfied", "satisfied")
    assert fold(second, first).rating == fold(first, second).rating == "satisfied"


def test_an_admin_reads_any_district_or_all():
    admin = Party("admin")
    assert report_district(admin, None) is None
    assert report_district(admin, "tianhe") == "tianhe"


def test_a_liaison_office_reads_its_own_district_by_default():
    office = Party("congress", "baiyun")
    assert report_district(office, None) == "baiyun"
    assert report_district(office, "baiyun") == "baiyun"


def test_a_liaison_office_cannot_read_another_district():
    with pytest.raises(Forbidden):
        report_district(Party("congress", "baiyun"), "tianhe")


def test_groups_list_the_directory_in_scope_then_what_else_was_seen():
    directory = {"districts": {"baiyun": {}, "tianhe": {}}, "categories": {"drainage": {}}}
    assert group_keys(directory, "district", None, {"old-district"}) == ["baiyun", "tianhe",
                                                                         "old-district"]
    assert group_keys(directory, "district", "tianhe", {"tianhe"}) == ["tianhe"]
    assert group_keys(directory, "category", None, {None, "drainage", "parking"}) == [
        "drainage", "parking", None]


def test_representative_and_department_groups_follow_the_district_in_scope():
    directory = {"districts": {}, "categories": {},
                 "representatives": {"rep-liu": {"district": "baiyun"},
                                     "rep-huang": {"district": "tianhe"}},
                 "departments": {"baiyun-water": {"districts": ["baiyun"]},
                                 "tianhe-water": {"districts": ["tianhe"]},
                                 "gz-housing": {"districts": ["*"]}}}
    assert group_keys(directory, "representative", "baiyun", {None}) == ["rep-liu", None]
    assert group_keys(directory, "department", "baiyun", set()) == ["baiyun-water", "gz-housing"]
    assert group_keys(directory, "department", None, set()) == ["baiyun-water", "tianhe-water",
                                                                 "gz-housing"]
