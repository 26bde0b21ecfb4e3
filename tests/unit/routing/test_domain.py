"""Routing's rules, with a directory in memory and no broker or database."""
from datetime import datetime, timezone

import pytest

from services.common.directory import load_directory
from services.routing import domain
from services.routing.categories import categoriser
from tests.support.system import DEMO_DIRECTORY


@pytest.fixture(scope="module")
def directory():
    return load_directory(DEMO_DIRECTORY)


def categorised(text, directory):
    return categoriser(directory["categories"]).categorise(text).category


def test_category_comes_from_chinese_keywords(directory):
    assert categorised("小区门口下水道堵塞，污水外溢", directory) == "drainage"


def test_category_comes_from_english_keywords(directory):
    assert categorised("The drain on our street is BLOCKED", directory) == "drainage"


def test_concern_matching_no_keyword_has_no_category(directory):
    assert categorised("想了解一下政策", directory) is None


def counted(counts, asked=None):
    """What the store gives ``choose_representative``: the open tickets of the ids asked."""
    def open_counts(rep_ids):
        if asked is not None:
            asked.append(list(rep_ids))
        return {rep: counts.get(rep, 0) for rep in rep_ids}
    return open_counts


def test_representative_named_by_reporter_is_chosen(directory):
    rep, reason = domain.choose_representative(directory, "baiyun", "yuangang",
                                               "rep-zhao-min", counted({}))
    assert rep == "rep-zhao-min" and "reporter" in reason


def test_representative_of_another_district_cannot_be_named(directory):
    first = directory["districts"]["baiyun"]["communities"]["yuangang"]["representatives"][0]
    rep, _ = domain.choose_representative(directory, "baiyun", "yuangang", "rep-li-guorong", counted({}))
    assert rep == first


def test_first_station_representative_below_max_open_is_chosen(directory):
    station = directory["districts"]["baiyun"]["communities"]["yuangang"]["representatives"]
    first, second = station[0], station[1]
    full = {first: directory["representatives"][first]["max_open"]}
    asked = []
    assert domain.choose_representative(directory, "baiyun", "yuangang", None,
                                        counted(full, asked))[0] == second
    assert asked == [station]  # the station's room is enough: the district is not counted


def test_least_loaded_district_representative_when_station_is_full(directory):
    station = directory["districts"]["baiyun"]["communities"]["yuangang"]["representatives"]
    counts = {rep: 1000 for rep in station}
    rep, reason = domain.choose_representative(directory, "baiyun", "yuangang", None,
                                               counted(counts))
    assert rep not in station and directory["representatives"][rep]["district"] == "baiyun"
    assert "fewest" in reason


def test_district_department_is_preferred_to_city_wide(directory):
    assert domain.choose_department(directory, "baiyun", "drainage") == "baiyun-water"


def test_department_that_handed_back_is_not_chosen_again(directory):
    again = domain.choose_department(directory, "baiyun", "drainage", exclude=("baiyun-water",))
    assert again != "baiyun-water"


def test_without_a_calendar_due_time_counts_the_department_hours_round_the_clock():
    start = datetime(2026, 11, 22, 9, tzinfo=timezone.utc)
    round_the_clock = {"calendar": None, "timezone": "Asia/Shanghai"}
    assert domain.due_at(start, 72, round_the_clock) == datetime(2026, 11, 25, 9, tzinfo=timezone.utc)


@pytest.mark.parametrize("current,wanted", [
    ("received", "assigned"), ("assigned", "forwarded"), ("assigned", "resolved"),
    ("forwarded", "dispatched"), ("dispatched", "in_progress"), ("in_progress", "resolved"),
    ("dispatched", "forwarded"), ("resolved", "forwarded"), ("resolved", "closed")])
def test_lifecycle_allows(current, wanted):
    domain.check_transition(current, wanted)


@pytest.mark.parametrize("current,wanted", [
    ("received", "resolved"), ("closed", "forwarded"), ("merged", "assigned"),
    ("rejected", "forwarded"), ("assigned", "dispatched")])
def test_lifecycle_refuses_and_lists_what_is_allowed(current, wanted):
    with pytest.raises(domain.IllegalTransition) as refused:
        domain.check_transition(current, wanted)
    assert refused.value.allowed == domain.TRANSITIONS[current]


def dispatch(**overrides):
    return {"department": "baiyun-water", "status": "sent", "role": "lead", **overrides}


def test_feedback_for_unknown_dispatch_cannot_apply():
    assert domain.feedback_problem(None, "baiyun-water", None, "resolved") == "unknown dispatch"


def test_feedback_for_another_department_cannot_apply():
    problem = domain.feedback_problem(dispatch(), "gz-housing", "dispatched", "acknowledged")
    assert problem == "dispatch belongs to department baiyun-water, not gz-housing"


def test_feedback_on_a_withdrawn_dispatch_cannot_apply():
    assert "no longer active" in domain.feedback_problem(
        dispatch(status="withdrawn"), "baiyun-water", "forwarded", "resolved")


def test_resolution_of_a_closed_ticket_cannot_apply():
    assert domain.feedback_problem(dispatch(status="in_progress"), "baiyun-water",
                                   "closed", "resolved") == "a closed ticket does not take resolved feedback"


def test_acknowledgement_after_progress_is_late_not_wrong():
    late = dispatch(status="in_progress")
    assert domain.feedback_problem(late, "baiyun-water", "in_progress", "acknowledged") is None
    assert domain.is_late_progress(late, "acknowledged")
    assert not domain.is_late_progress(late, "resolved")


def test_a_concern_naming_no_community_goes_to_the_office():
    from services.common.directory import load_directory
    from services.routing.domain import choose_representative
    from tests.support.system import DEMO_DIRECTORY
    directory = load_directory([DEMO_DIRECTORY])
    assert choose_representative(directory, "baiyun", None, None, counted({})) == (
        None, "no community named: the liaison office assigns it")
    assert choose_representative(directory, "baiyun", None, "rep-zhao-min",
                                 counted({}))[0] == "rep-zhao-min"


def test_a_representative_merges_only_into_their_own_ticket_or_its_likely_original():
    def row(ticket_id, representative_id="rep-a", district="d1"):
        return {"ticket_id": ticket_id, "representative_id": representative_id,
                "district": district}
    mine = row("T1")
    may = domain.may_merge_into
    assert may("representative", "rep-a", mine, row("T2"), None)
    assert not may("representative", "rep-a", mine, row("T2", "rep-b"), None)
    assert may("representative", "rep-a", mine, row("T2", "rep-b"), "T2")
    assert not may("representative", "rep-a", mine, row("T3", "rep-b"), "T2")
    assert not may("representative", "rep-a", mine, None, None)
    assert not may("representative", "rep-a", mine, mine, "T1")
    assert may("congress", "d1", mine, row("T2", "rep-b"), None)
    assert not may("congress", "d1", mine, row("T2", "rep-b", "d2"), None)
    assert not may("admin", None, mine, row("T2", "rep-b", "d2"), "T2")
