"""Unit tests of services.reporting.domain: facts of events, merging them in any order,
and who may read which district."""
import itertools
from datetime import datetime, timezone

import pytest

from services.common.credentials import Party
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


def at(hour, day=1):
    return datetime(2026, 5, day, hour, tzinfo=timezone.utc)


def iso(hour, day=1):
    return at(hour, day).isoformat()


def concern(**overrides):
    body = {"ticket_id": "ZD1", "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "category": None, "title": "下水道堵塞",
            "description": "元岗路下水道堵塞", "received_at": iso(1),
            "reporter": {"name": "王五", "phone": "+8613900000000", "email": "w@example.org"}}
    return {**body, **overrides}


def ticket(version, status, **overrides):
    body = {"ticket_id": "ZD1", "version": version, "status": status, "district": "baiyun",
            "community": "yuangang", "category": "drainage", "channel": "wechat",
            "title": "下水道堵塞", "representative": {"id": "rep-liu-hanli", "name": "刘汉立"},
            "departments": [], "received_at": iso(1), "first_dispatched_at": None,
            "resolved_at": None, "result": None, "timeline": []}
    return {**body, **overrides}


def dispatch(department, hour, due_hour, role="lead", day=1, due_day=1):
    return {"dispatch_id": f"{department}-{hour}", "department": department, "name": department,
            "role": role, "status": "dispatched", "dispatched_at": iso(hour, day),
            "due_at": iso(due_hour, due_day), "resolved_at": None}


def fold(*facts):
    known = TicketFacts("ZD1")
    for seen in facts:
        known = merge(known, seen)
    return known


def test_concern_facts_never_keep_the_reporter():
    facts = concern_facts(concern())
    assert "+8613900000000" not in repr(facts) and "王五" not in repr(facts)
    assert (facts.version, facts.status, facts.description) == (0, "received", "元岗路下水道堵塞")


def test_ticket_facts_read_dispatch_resolution_and_rating():
    facts = ticket_facts(ticket(5, "closed", first_dispatched_at=iso(2), resolved_at=iso(5),
                                rating="satisfied",
                                departments=[dispatch("baiyun-water", 2, 20),
                                             dispatch("gz-housing", 2, 22, role="assist")]))
    assert facts.dispatched and facts.first_dispatched_at == at(2)
    assert facts.departments == ("baiyun-water", "gz-housing")
    assert (facts.first_resolved_at, facts.lead_due_at) == (at(5), at(20))
    assert (facts.rating, facts.rating_version) == ("satisfied", 5)
    assert facts.representative == "rep-liu-hanli"


def test_the_due_time_is_that_of_the_lead_holding_the_ticket_at_resolution():
    departments = [dispatch("baiyun-water", 2, 4), dispatch("gz-housing", 6, 10),
                   dispatch("gz-transport", 12, 14)]
    facts = ticket_facts(ticket(6, "resolved", resolved_at=iso(8), departments=departments))
    assert facts.lead_due_at == at(10)


def test_a_rating_given_as_an_object_is_read_and_unknown_ratings_are_ignored():
    rated = ticket_facts(ticket(3, "closed", rating={"rating": "basically_satisfied",
                                                     "comment": "ok"}))
    assert rated.rating == "basically_satisfied"
    assert ticket_facts(ticket(3, "closed", rating="great")).rating is None


def test_resolution_time_falls_back_to_the_entry_that_resolved():
    facts = ticket_facts(ticket(4, "resolved"), {"at": iso(7), "to_status": "resolved"})
    assert facts.first_resolved_at == at(7)


def test_the_first_resolution_in_the_timeline_wins_over_a_later_resolved_at():
    timeline = [{"at": iso(3), "to_status": "resolved"}, {"at": iso(4), "to_status": "forwarded"},
                {"at": iso(9), "to_status": "resolved"}]
    facts = ticket_facts(ticket(9, "resolved", resolved_at=iso(9), timeline=timeline))
    assert facts.first_resolved_at == at(3)


def test_closing_a_ticket_is_not_taken_for_its_resolution():
    facts = ticket_facts(ticket(7, "closed"), {"at": iso(8), "to_status": "closed"})
    assert facts.first_resolved_at is None


@pytest.mark.parametrize("body", [None, {"ticket_id": "ZD1", "status": "assigned"},
                                  ticket(-1, "assigned"), ticket("3", "assigned"),
                                  ticket(2, "assigned", received_at="yesterday"),
                                  ticket(2, "assigned", received_at="2026-05-01T01:00:00")])
def test_malformed_ticket_snapshots_are_refused(body):
    with pytest.raises(MalformedEvent):
        ticket_facts(body)


def test_an_older_version_arriving_late_does_not_overwrite_a_newer_one():
    newer = ticket_facts(ticket(4, "resolved", resolved_at=iso(5), community="sanyuanli"))
    older = ticket_facts(ticket(2, "dispatched", departments=[dispatch("baiyun-water", 2, 20)]))
    merged = fold(newer, older)
    assert (merged.version, merged.status, merged.community) == (4, "resolved", "sanyuanli")
    assert merged.dispatched and merged.first_dispatched_at == at(2)


def test_a_ticket_event_before_its_concern_keeps_the_ticket_status_and_gains_the_description():
    merged = fold(ticket_facts(ticket(1, "assigned")), concern_facts(concern()))
    assert (merged.version, merged.status) == (1, "assigned")
    assert merged.category == "drainage" and merged.description == "元岗路下水道堵塞"


def test_any_order_of_the_same_events_gives_the_same_ticket():
    events = [concern_facts(concern()),
              ticket_facts(ticket(1, "assigned")),
              ticket_facts(ticket(3, "dispatched", departments=[dispatch("baiyun-water", 2, 20)])),
              ticket_facts(ticket(5, "resolved", resolved_at=iso(6),
                                  departments=[dispatch("baiyun-water", 2, 20)])),
              ticket_facts(ticket(6, "forwarded", resolved_at=None, rating="unsatisfied",
                                  departments=[dispatch("baiyun-water", 2, 20)])),
              ticket_facts(ticket(8, "resolved", resolved_at=iso(9, day=3),
                                  departments=[dispatch("baiyun-water", 2, 20),
                                               dispatch("gz-housing", 7, 12, day=2, due_day=3)]))]
    outcomes = {fold(*order) for order in itertools.permutations(events)}
    assert len(outcomes) == 1
    (merged,) = outcomes
    assert (merged.version, merged.status) == (8, "resolved")
    assert (merged.first_resolved_at, merged.lead_due_at) == (at(6), at(20))
    assert (merged.rating, merged.rating_version) == ("unsatisfied", 6)
    assert merged.departments == ("baiyun-water", "gz-housing")


def test_the_same_event_twice_changes_nothing():
    facts = ticket_facts(ticket(3, "dispatched", departments=[dispatch("baiyun-water", 2, 20)]))
    assert fold(facts, facts) == fold(facts)


def test_the_newest_rating_wins_whatever_the_order():
    first = ticket_facts(ticket(5, "forwarded", rating="unsatisfied"))
    second = ticket_facts(ticket(9, "closed", rating="satisfied"))
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
