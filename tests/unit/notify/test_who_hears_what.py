"""Unit tests of services.notify.domain: who hears what, on which channels
(docs/architecture.md#notifications-who-hears-what-and-how).

Every event is built by its producer's code (tests/support/events.py), read as the
notify consumer reads it.
"""
from datetime import timedelta

import pytest

from services.common import events
from services.notify import domain
from tests.support import events as made
from tests.support.events import T0

DIRECTORY = {
    "districts": {
        "baiyun": {"code": "baiyun", "name": "白云区", "communities": {},
                   "office": {"name": "白云区代表联络室",
                              "contact": {"email": "office@baiyun.example",
                                          "phone": "+862000000101"}}},
        "tianhe": {"code": "tianhe", "name": "天河区", "communities": {},
                   "office": {"name": "天河区代表联络室",
                              "contact": {"email": "office@tianhe.example", "locale": "en"}}},
    },
    "representatives": {
        "rep-liu": {"id": "rep-liu", "name": "刘汉立", "district": "baiyun",
                    "contact": {"email": "liu@example.org", "phone": "+8613800000001",
                                "wechat_openid": "o-liu"}},
        "rep-he": {"id": "rep-he", "name": "何丽华", "district": "tianhe",
                   "contact": {"email": "he@example.org", "locale": "en"}},
        "rep-mute": {"id": "rep-mute", "name": "无联系", "district": "tianhe", "contact": {}},
    },
    "categories": {},
    "departments": {
        "baiyun-water": {"code": "baiyun-water", "name": "白云区水务局", "delivery": "amqp",
                         "districts": ["baiyun"], "webhook": None,
                         "contact": {"email": "duty@water.example"}},
        "gz-power": {"code": "gz-power", "name": "广州供电局", "delivery": "webhook",
                     "districts": ["*"],
                     "webhook": {"url": "http://127.0.0.1:9099/hooks/gz-power",
                                 "secret": "whsec_x"},
                     "contact": {"email": "duty@power.example"}},
    },
}
REPORTER = {"name": "张三", "phone": "+8613900000000", "email": "zhang@example.org",
            "wechat_openid": "o-zhang", "locale": "en", "wants_feedback": True}
CONTACT = events.reporter_contact("T1", REPORTER).body["contact"]


def read(event):
    return domain.read_event(event.message_id, event.type, event.body)


def concern_event(reporter=REPORTER):
    (received,) = [e for e in made.concern_events("T1", reporter=reporter)
                   if e.type == "concern.received"]
    return read(received)


def ticket_event(change, status=None, representative="rep-liu", district="baiyun", dispatches=(),
                 actor="system", action=None, **fields):
    status = status or change
    ticket = made.ticket_row("T1", status, 3, representative=representative, district=district,
                             **fields)
    timeline = [made.entry(T0, actor, action or change, "assigned", status, "备注")]
    return read(made.ticket_event(change, ticket, DIRECTORY, dispatches, timeline))


def heard(notifications):
    return sorted((n.recipient, n.channel, n.address, n.template) for n in notifications)


def everyone_hears(event, contact=CONTACT):
    return heard(domain.party_notifications(event, DIRECTORY)
                 + domain.reporter_notifications(event, contact))


def reporter_on_every_channel(template):
    return [("reporter", "email", "zhang@example.org", template),
            ("reporter", "sms", "+8613900000000", template),
            ("reporter", "wechat", "o-zhang", template)]


def test_the_rule_is_one_table_naming_every_recipient_kind():
    assert {kind for _, kind in domain.WHO_HEARS_WHAT} == {
        "reporter", "representative", "office", "department", "staff"}
    assert ("ticket.resolved", "reporter") in domain.WHO_HEARS_WHAT


# The reporter

def test_reporter_who_asked_hears_of_receipt_on_every_channel_in_their_language():
    notices = domain.reporter_notifications(concern_event(), CONTACT)
    assert heard(notices) == reporter_on_every_channel("concern.received.reporter")
    assert {n.locale for n in notices} == {"en"}
    assert notices[0].params["ticket_id"] == "T1"


def test_reporter_without_a_locale_hears_in_chinese():
    contact = events.reporter_contact("T1", {"phone": "+8613900000000", "wants_feedback": True})
    notices = domain.reporter_notifications(concern_event(), contact.body["contact"])
    assert [(n.channel, n.locale) for n in notices] == [("sms", "zh-CN")]


def test_reporter_without_feedback_request_hears_nothing():
    assert domain.reporter_notifications(concern_event(reporter=None), None) == []
    assert domain.reporter_notifications(ticket_event("resolved", result="已疏通"), None) == []


def test_reporter_hears_the_result_of_a_resolution():
    notices = domain.reporter_notifications(
        ticket_event("resolved", actor="department:baiyun-water", result="已疏通"), CONTACT)
    assert {n.template for n in notices} == {"ticket.resolved.reporter"}
    assert notices[0].params["result"] == "已疏通"


def test_reporter_hears_which_department_took_the_dispatch():
    lead = made.dispatch_row("T1", "baiyun-water", T0)
    notices = domain.reporter_notifications(ticket_event("dispatched", dispatches=[lead]), CONTACT)
    assert {n.template for n in notices} == {"ticket.dispatched.reporter"}
    assert notices[0].params["departments"] == ["白云区水务局"]
    assert notices[0].params["due_at"] == (T0 + timedelta(hours=72)).isoformat()


def test_a_dispatch_after_a_hand_back_names_only_the_new_department():
    old = made.dispatch_row("T1", "gz-power", T0, status="withdrawn")
    new = made.dispatch_row("T1", "baiyun-water", T0 + timedelta(hours=1))
    notices = domain.reporter_notifications(ticket_event("dispatched", dispatches=[old, new]),
                                            CONTACT)
    assert notices[0].params["departments"] == ["白云区水务局"]


@pytest.mark.parametrize("change", ["assigned", "forwarded", "undecided", "in_progress",
                                    "merged", "rejected", "returned", "feedback"])
def test_reporter_does_not_hear_internal_steps(change):
    assert domain.reporter_notifications(ticket_event(change, status="forwarded"), CONTACT) == []


def test_reporter_hears_a_reminder_to_rate_the_result_and_nobody_else_does():
    event = ticket_event("reminded", status="resolved", action="remind", result="已疏通",
                         resolved_at=T0)
    assert everyone_hears(event) == reporter_on_every_channel("ticket.reminded.reporter")
    notices = domain.reporter_notifications(event, CONTACT)
    assert {n.locale for n in notices} == {"en"}
    assert notices[0].params == {"ticket_id": "T1", "title": "下水道堵塞", "status": "resolved",
                                 "result": "已疏通", "resolved_at": T0.isoformat()}


def test_reporter_params_never_keep_the_page_token():
    contact = events.reporter_contact("T1", REPORTER, page_token="Xq3-9fT_k2").body["contact"]
    assert contact["page_token"] == "Xq3-9fT_k2"
    for event in (concern_event(), ticket_event("resolved", result="已疏通")):
        notices = domain.reporter_notifications(event, contact)
        assert notices and all("Xq3-9fT_k2" not in repr(notice) for notice in notices)


def test_reporter_params_carry_no_contact_details():
    for event in (concern_event(), ticket_event("resolved", result="已疏通")):
        for notice in domain.reporter_notifications(event, CONTACT):
            shown = repr(notice.params)
            assert "张三" not in shown and "+86139" not in shown and "zhang@" not in shown


# The representative

def test_representative_is_told_on_every_channel_of_their_contact():
    assert heard(domain.party_notifications(ticket_event("assigned"), DIRECTORY)) == [
        ("representative:rep-liu", "email", "liu@example.org", "ticket.assigned.representative"),
        ("representative:rep-liu", "sms", "+8613800000001", "ticket.assigned.representative"),
        ("representative:rep-liu", "wechat", "o-liu", "ticket.assigned.representative")]


def test_representative_is_told_in_the_language_of_their_contact():
    notices = domain.party_notifications(
        ticket_event("assigned", representative="rep-he", district="tianhe"), DIRECTORY)
    assert [(n.channel, n.locale) for n in notices] == [("email", "en")]


def test_representative_without_contact_hears_nothing():
    event = ticket_event("assigned", representative="rep-mute", district="tianhe")
    assert domain.party_notifications(event, DIRECTORY) == []


def test_representative_hears_the_department_result():
    event = ticket_event("resolved", actor="department:baiyun-water", result="已疏通")
    notices = domain.party_notifications(event, DIRECTORY)
    assert {(n.recipient, n.template) for n in notices} == {
        ("representative:rep-liu", "ticket.resolved.representative")}
    assert notices[0].params["result"] == "已疏通"
    assert everyone_hears(event)[:3] == reporter_on_every_channel("ticket.resolved.reporter")


def test_representative_hears_department_feedback():
    event = ticket_event("feedback", status="in_progress", actor="department:baiyun-water",
                         action="in_progress")
    assert {n.template for n in domain.party_notifications(event, DIRECTORY)} == {
        "ticket.feedback.representative"}


def test_representative_is_not_told_of_their_own_resolution():
    event = ticket_event("resolved", actor="representative:rep-liu", result="已解释")
    assert domain.party_notifications(event, DIRECTORY) == []


def test_representative_hears_a_rating_and_the_office_a_reopening():
    event = ticket_event("forwarded", actor="reporter", action="rate", rating="unsatisfied",
                         rating_comment="没修好")
    notices = domain.party_notifications(event, DIRECTORY)
    assert {(n.recipient, n.template) for n in notices} == {
        ("office:baiyun", "ticket.forwarded.office"),
        ("representative:rep-liu", "ticket.rated.representative")}
    rated = next(n for n in notices if n.template == "ticket.rated.representative")
    assert rated.params["rating"] == {"rating": "unsatisfied", "comment": "没修好"}


def test_representative_hears_an_escalation():
    event = ticket_event("escalated", status="forwarded", action="escalate")
    assert ("representative:rep-liu", "ticket.escalated.representative") in {
        (n.recipient, n.template) for n in domain.party_notifications(event, DIRECTORY)}


# The liaison office

def test_office_hears_a_forwarded_ticket_by_email_and_sms():
    event = ticket_event("forwarded", actor="representative:rep-liu", action="forward")
    assert heard(domain.party_notifications(event, DIRECTORY)) == [
        ("office:baiyun", "email", "office@baiyun.example", "ticket.forwarded.office"),
        ("office:baiyun", "sms", "+862000000101", "ticket.forwarded.office")]


def test_office_hears_an_undecided_category_in_its_language():
    event = ticket_event("undecided", status="forwarded", representative=None, district="tianhe",
                         category=None)
    assert [(n.recipient, n.channel, n.template, n.locale)
            for n in domain.party_notifications(event, DIRECTORY)] == [
        ("office:tianhe", "email", "ticket.undecided.office", "en")]


def test_office_hears_a_department_hand_back():
    event = ticket_event("returned", status="forwarded", actor="department:baiyun-water",
                         action="rejected")
    assert {n.template for n in domain.party_notifications(event, DIRECTORY)} == {
        "ticket.returned.office"}


def test_office_hears_of_an_overdue_ticket():
    lead = made.dispatch_row("T1", "baiyun-water", T0)
    event = ticket_event("overdue", status="dispatched", action="overdue", dispatches=[lead])
    assert {(n.recipient, n.template) for n in domain.party_notifications(event, DIRECTORY)} == {
        ("office:baiyun", "ticket.overdue.office")}


def test_office_is_not_told_of_its_own_action():
    event = ticket_event("forwarded", actor="congress:baiyun", action="forward")
    assert domain.party_notifications(event, DIRECTORY) == []


def test_office_hears_of_department_feedback_that_could_not_apply():
    ticket = made.ticket_row("T1", "dispatched", 4)
    rejected = events.feedback_rejected("baiyun-water", "D-1", ticket, "invalid feedback", "m-9")
    notices = domain.party_notifications(read(rejected), DIRECTORY)
    assert {(n.recipient, n.template) for n in notices} == {
        ("office:baiyun", "feedback.rejected.office")}
    assert notices[0].params == {"ticket_id": "T1", "title": "下水道堵塞",
                                 "department": "baiyun-water", "department_name": "白云区水务局",
                                 "dispatch": "D-1",
                                 "reason": "invalid feedback"}


def test_feedback_naming_no_ticket_tells_the_offices_of_the_districts_its_department_serves():
    rejected = events.feedback_rejected("baiyun-water", None, None,
                                        "undecodable message: its body is not JSON", "m-8")
    notices = domain.party_notifications(read(rejected), DIRECTORY)
    assert heard(notices) == [
        ("office:baiyun", "email", "office@baiyun.example", "feedback.rejected.office"),
        ("office:baiyun", "sms", "+862000000101", "feedback.rejected.office")]
    assert {notice.locale for notice in notices} == {"zh-CN"}
    assert notices[0].params == {"ticket_id": None, "title": None, "department": "baiyun-water",
                                 "department_name": "白云区水务局", "dispatch": None,
                                 "reason": "undecodable message: its body is not JSON"}


def test_feedback_for_an_unknown_dispatch_of_a_city_wide_department_tells_every_office():
    rejected = events.feedback_rejected("gz-power", "D-x", None, "unknown dispatch", "m-7")
    notices = domain.party_notifications(read(rejected), DIRECTORY)
    assert heard(notices) == [
        ("office:baiyun", "email", "office@baiyun.example", "feedback.rejected.office"),
        ("office:baiyun", "sms", "+862000000101", "feedback.rejected.office"),
        ("office:tianhe", "email", "office@tianhe.example", "feedback.rejected.office")]
    assert [notice.locale for notice in notices] == ["zh-CN", "zh-CN", "en"]
    assert {notice.params["dispatch"] for notice in notices} == {"D-x"}
    assert domain.party_notifications(read(rejected), DIRECTORY) == notices, "the same every time"


def test_feedback_naming_no_ticket_from_a_department_not_in_the_directory_tells_nobody():
    rejected = events.feedback_rejected("gz-unknown", None, None, "unknown dispatch", "m-6")
    assert domain.party_notifications(read(rejected), DIRECTORY) == []


# Departments

def test_webhook_department_gets_the_dispatch_message_routing_made():
    ticket = made.ticket_row("T1", "dispatched", 4, representative="rep-liu", feedback_requested=True)
    dispatch = made.dispatch_row("T1", "gz-power", T0, dispatch_id="D-gz")
    event = made.department_dispatched(ticket, dispatch, DIRECTORY,
                                       reporter={"name": "张三", "phone": "+8613900000000"})
    notices = domain.party_notifications(read(event), DIRECTORY)
    assert heard(notices) == [("department:gz-power", "webhook",
                               "http://127.0.0.1:9099/hooks/gz-power",
                               "ticket.dispatched.department")]
    assert notices[0].params == event.body
    assert notices[0].params["reporter"] == {"name": "张三", "phone": "+8613900000000"}


def test_amqp_departments_and_ticket_events_reach_no_department():
    lead = made.dispatch_row("T1", "gz-power", T0)
    event = ticket_event("dispatched", actor="congress:baiyun", dispatches=[lead])
    assert not [n for n in domain.party_notifications(event, DIRECTORY)
                if n.recipient.startswith("department")]
    amqp = made.department_dispatched(made.ticket_row("T1", "dispatched", 4, representative="rep-liu"),
                                      made.dispatch_row("T1", "baiyun-water", T0), DIRECTORY)
    assert domain.party_notifications(read(amqp), DIRECTORY) == []


# Reading events

@pytest.mark.parametrize("event_type, body", [
    ("concern.withdrawn", {"ticket_id": "T1"}),
    ("ticket.teleported", {"ticket": {"ticket_id": "T1"}, "entry": {}}),
    ("ticket.assigned", {"entry": {}}),
    ("ticket.assigned", ["not", "an", "object"]),
    ("concern.received", {"district": "baiyun"}),
])
def test_unusable_events_are_refused(event_type, body):
    with pytest.raises(domain.UnusableEvent):
        domain.read_event("m-1", event_type, body)


def test_merged_and_rejected_tickets_tell_no_one():
    for change in ("merged", "rejected", "in_progress"):
        assert domain.party_notifications(ticket_event(change), DIRECTORY) == []


def test_one_step_of_several_changes_tells_each_party_of_its_own_change():
    """A concern assigned, forwarded and dispatched in one step is one ticket.dispatched
    event: the representative hears of the assignment, the office of the forward and the
    reporter of the dispatch, each with the entry of its own change."""
    dispatch = made.dispatch_row("T1", "baiyun-water", T0)
    ticket = made.ticket_row("T1", "dispatched", 4, representative="rep-liu", first_dispatched_at=T0)
    timeline = [made.entry(T0, "channel:wechat", "receive", None, "received"),
                made.entry(T0, "system", "assign", "received", "assigned", "刘汉立 (rep-liu)"),
                made.entry(T0, "system", "forward", "assigned", "forwarded", "policy"),
                made.entry(T0, "system", "dispatch", "forwarded", "dispatched", "rules")]
    event = made.ticket_event("dispatched", ticket, DIRECTORY, [dispatch], timeline,
                              changes=["assigned", "forwarded"])
    told = domain.read_events(event.message_id, event.type, event.body)
    assert [(one.type, one.entry["action"]) for one in told] == [
        ("ticket.assigned", "assign"), ("ticket.forwarded", "forward"),
        ("ticket.dispatched", "dispatch")]
    assert len({one.id for one in told}) == 3 and all(one.ticket["version"] == 4 for one in told)
    heard_of = [everyone_hears(one) for one in told]
    assert {(recipient, template) for recipient, _, _, template in heard_of[0]} == {
        ("representative:rep-liu", "ticket.assigned.representative")}
    assert {(recipient, template) for recipient, _, _, template in heard_of[1]} == {
        ("office:baiyun", "ticket.forwarded.office")}
    assert heard_of[2] == reporter_on_every_channel("ticket.dispatched.reporter")


def test_a_single_change_keeps_the_message_id_and_an_event_without_changes_is_its_own():
    single = made.ticket_event("assigned", made.ticket_row("T1", "assigned", 2), DIRECTORY)
    (told,) = domain.read_events(single.message_id, single.type, single.body)
    assert told.id == single.message_id and told.type == "ticket.assigned"
    older = {key: value for key, value in single.body.items() if key != "changes"}
    (told,) = domain.read_events("m-1", "ticket.assigned", older)
    assert told.id == "m-1" and told.entry == single.body["entry"]


@pytest.mark.parametrize("changes", [
    [{"change": "teleported", "entry": {}}, {"change": "assigned", "entry": {}}],
    [{"change": "forwarded", "entry": "not an entry"}, {"change": "assigned", "entry": {}}],
])
def test_a_step_with_a_change_notify_cannot_read_is_refused(changes):
    event = made.ticket_event("assigned", made.ticket_row("T1", "assigned", 2), DIRECTORY)
    with pytest.raises(domain.UnusableEvent):
        domain.read_events("m-1", event.type, {**event.body, "changes": changes})
