"""Unit tests of services.notify.domain: who hears what, on which channel (contract §8)."""
import pytest

from services.notify import domain

DIRECTORY = {
    "districts": {
        "baiyun": {"code": "baiyun", "name": "白云区", "communities": {},
                   "office": {"name": "白云区代表联络室",
                              "contact": {"email": "office@baiyun.example",
                                          "phone": "+862000000101"}}},
        "tianhe": {"code": "tianhe", "name": "天河区", "communities": {},
                   "office": {"name": "天河区代表联络室",
                              "contact": {"email": "office@tianhe.example"}}},
    },
    "representatives": {
        "rep-liu": {"id": "rep-liu", "name": "刘汉立", "district": "baiyun",
                    "contact": {"email": "liu@example.org", "phone": "+8613800000001",
                                "wechat_openid": "o-liu"}},
        "rep-zhao": {"id": "rep-zhao", "name": "赵敏", "district": "baiyun",
                     "contact": {"email": "zhao@example.org", "phone": "+8613800000002"}},
        "rep-he": {"id": "rep-he", "name": "何丽华", "district": "tianhe",
                   "contact": {"email": "he@example.org"}},
        "rep-mute": {"id": "rep-mute", "name": "无联系", "district": "tianhe", "contact": {}},
    },
    "categories": {},
    "departments": {
        "baiyun-water": {"code": "baiyun-water", "name": "白云区水务局", "delivery": "amqp",
                         "webhook": None, "contact": {"email": "duty@water.example"}},
        "gz-power": {"code": "gz-power", "name": "广州供电局", "delivery": "webhook",
                     "webhook": {"url": "http://127.0.0.1:9099/hooks/gz-power",
                                 "secret": "whsec_x"},
                     "contact": {"email": "duty@power.example"}},
    },
}
REPORTER = {"name": "张三", "phone": "+8613900000000", "email": "zhang@example.org"}


def concern_event(reporter=REPORTER):
    return domain.read_event("concern-T1", "concern.received", {
        "ticket_id": "T1", "district": "baiyun", "community": "yuangang", "channel": "wechat",
        "title": "下水道堵塞", "description": "元岗路下水道堵塞", "received_at": "2026-03-02T01:00:00Z",
        "reporter": reporter})


def dispatch(code, name, role="lead", status="dispatched", dispatch_id=None):
    return {"dispatch_id": dispatch_id or f"D-{code}", "department": code, "name": name,
            "role": role, "status": status, "dispatched_at": "2026-03-02T02:00:00Z",
            "due_at": "2026-03-05T02:00:00Z", "resolved_at": None}


def ticket_event(change, representative="rep-liu", district="baiyun", departments=(),
                 actor="system", action=None, result=None, message_id=None):
    ticket = {"ticket_id": "T1", "version": 3, "status": change, "district": district,
              "community": "yuangang", "category": "drainage", "channel": "wechat",
              "title": "下水道堵塞",
              "representative": {"id": representative, "name": "代表"} if representative else None,
              "departments": list(departments), "received_at": "2026-03-02T01:00:00Z",
              "first_dispatched_at": None, "resolved_at": None, "result": result, "timeline": []}
    entry = {"at": "2026-03-02T02:00:00Z", "actor": actor, "action": action or change,
             "from_status": None, "to_status": change, "note": "备注"}
    return domain.read_event(message_id or f"m-{change}", f"ticket.{change}",
                             {"ticket": ticket, "entry": entry})


def heard(notifications):
    return sorted((n.recipient, n.channel, n.address, n.template) for n in notifications)


def everyone_hears(event, reporter=REPORTER):
    return heard(domain.party_notifications(event, DIRECTORY)
                 + domain.reporter_notifications(event, reporter))


# The reporter

def test_reporter_who_asked_hears_of_receipt_by_sms_and_email():
    event = concern_event()
    notices = domain.reporter_notifications(event, domain.feedback_contact(event))
    assert heard(notices) == [
        ("reporter", "email", "zhang@example.org", "concern.received.reporter"),
        ("reporter", "sms", "+8613900000000", "concern.received.reporter")]
    assert all(n.locale == "zh-CN" for n in notices)


def test_reporter_without_feedback_request_hears_nothing():
    event = concern_event(reporter=None)
    assert domain.feedback_contact(event) is None
    assert domain.reporter_notifications(event, None) == []
    assert domain.reporter_notifications(ticket_event("resolved", result="已疏通"), None) == []


def test_reporter_with_phone_only_gets_sms():
    notices = domain.reporter_notifications(ticket_event("closed"), {"phone": "+8613900000000"})
    assert heard(notices) == [("reporter", "sms", "+8613900000000", "ticket.closed.reporter")]


def test_reporter_hears_the_result_of_a_resolution():
    notices = domain.reporter_notifications(ticket_event("resolved", result="已疏通"), REPORTER)
    assert {n.template for n in notices} == {"ticket.resolved.reporter"}
    assert notices[0].params["result"] == "已疏通"


def test_reporter_hears_which_department_took_the_dispatch():
    event = ticket_event("dispatched", departments=[dispatch("baiyun-water", "白云区水务局")])
    notices = domain.reporter_notifications(event, REPORTER)
    assert {n.template for n in notices} == {"ticket.dispatched.reporter"}
    assert notices[0].params["departments"] == ["白云区水务局"]
    assert notices[0].params["due_at"] == "2026-03-05T02:00:00Z"


@pytest.mark.parametrize("change", ["assigned", "forwarded", "undecided", "in_progress",
                                    "merged", "rejected", "returned", "feedback"])
def test_reporter_does_not_hear_internal_steps(change):
    assert domain.reporter_notifications(ticket_event(change), REPORTER) == []


def test_reporter_params_carry_no_contact_details():
    for event in (concern_event(), ticket_event("resolved", result="已疏通")):
        for notice in domain.reporter_notifications(event, REPORTER):
            shown = repr(notice.params)
            assert "张三" not in shown and "+86139" not in shown and "zhang@" not in shown


# The representative

def test_representative_prefers_wechat():
    assert heard(domain.party_notifications(ticket_event("assigned"), DIRECTORY)) == [
        ("representative:rep-liu", "wechat", "o-liu", "ticket.assigned.representative")]


def test_representative_without_wechat_gets_sms_then_email():
    sms = domain.party_notifications(ticket_event("assigned", representative="rep-zhao"), DIRECTORY)
    email = domain.party_notifications(
        ticket_event("assigned", representative="rep-he", district="tianhe"), DIRECTORY)
    assert heard(sms) == [("representative:rep-zhao", "sms", "+8613800000002",
                           "ticket.assigned.representative")]
    assert heard(email) == [("representative:rep-he", "email", "he@example.org",
                             "ticket.assigned.representative")]


def test_representative_without_contact_hears_nothing():
    event = ticket_event("assigned", representative="rep-mute", district="tianhe")
    assert domain.party_notifications(event, DIRECTORY) == []


def test_representative_hears_the_department_result():
    event = ticket_event("resolved", actor="department:baiyun-water", result="已疏通")
    assert everyone_hears(event) == [
        ("reporter", "email", "zhang@example.org", "ticket.resolved.reporter"),
        ("reporter", "sms", "+8613900000000", "ticket.resolved.reporter"),
        ("representative:rep-liu", "wechat", "o-liu", "ticket.resolved.representative")]


def test_representative_hears_department_feedback():
    event = ticket_event("feedback", actor="department:baiyun-water")
    assert heard(domain.party_notifications(event, DIRECTORY)) == [
        ("representative:rep-liu", "wechat", "o-liu", "ticket.feedback.representative")]


def test_representative_is_not_told_of_their_own_resolution():
    event = ticket_event("resolved", actor="representative:rep-liu", result="已解释")
    assert domain.party_notifications(event, DIRECTORY) == []


def test_representative_hears_a_rating_and_the_office_a_reopening():
    event = ticket_event("forwarded", actor="reporter", action="rate")
    assert heard(domain.party_notifications(event, DIRECTORY)) == [
        ("office:baiyun", "email", "office@baiyun.example", "ticket.forwarded.office"),
        ("office:baiyun", "sms", "+862000000101", "ticket.forwarded.office"),
        ("representative:rep-liu", "wechat", "o-liu", "ticket.rated.representative")]


def test_representative_hears_an_escalation():
    event = ticket_event("forwarded", actor="system", action="escalate")
    assert ("representative:rep-liu", "wechat", "o-liu", "ticket.escalated.representative") in \
        heard(domain.party_notifications(event, DIRECTORY))


# The liaison office

def test_office_hears_a_forwarded_ticket_by_email_and_sms():
    event = ticket_event("forwarded", actor="representative:rep-liu", action="forward")
    assert heard(domain.party_notifications(event, DIRECTORY)) == [
        ("office:baiyun", "email", "office@baiyun.example", "ticket.forwarded.office"),
        ("office:baiyun", "sms", "+862000000101", "ticket.forwarded.office")]


def test_office_without_phone_gets_email_only():
    event = ticket_event("undecided", representative=None, district="tianhe")
    assert heard(domain.party_notifications(event, DIRECTORY)) == [
        ("office:tianhe", "email", "office@tianhe.example", "ticket.undecided.office")]


def test_office_hears_a_department_rejection():
    event = ticket_event("returned", actor="department:baiyun-water", action="rejected")
    assert {n.template for n in domain.party_notifications(event, DIRECTORY)} == {
        "ticket.returned.office"}


def test_office_hears_of_an_overdue_ticket():
    event = ticket_event("feedback", actor="system", action="overdue",
                         departments=[dispatch("baiyun-water", "白云区水务局")])
    assert {(n.recipient, n.template) for n in domain.party_notifications(event, DIRECTORY)} == {
        ("office:baiyun", "ticket.overdue.office"),
        ("representative:rep-liu", "ticket.feedback.representative")}


def test_office_is_not_told_of_its_own_action():
    event = ticket_event("forwarded", actor="congress:baiyun", action="forward")
    assert domain.party_notifications(event, DIRECTORY) == []


# Departments

def test_webhook_department_is_told_of_its_dispatch():
    event = ticket_event("dispatched", actor="congress:baiyun", action="dispatch",
                         departments=[dispatch("gz-power", "广州供电局")])
    notices = domain.party_notifications(event, DIRECTORY)
    assert heard(notices) == [("department:gz-power", "webhook",
                               "http://127.0.0.1:9099/hooks/gz-power",
                               "ticket.dispatched.department")]
    params = notices[0].params
    assert params["dispatch_id"] == "D-gz-power" and params["role"] == "lead"
    assert "reporter" not in params


def test_amqp_department_gets_no_notification():
    event = ticket_event("dispatched", departments=[dispatch("baiyun-water", "白云区水务局")])
    assert domain.party_notifications(event, DIRECTORY) == []


def test_only_new_dispatches_are_told():
    event = ticket_event("dispatched", departments=[
        dict(dispatch("gz-power", "广州供电局", status="rejected", dispatch_id="D-old"),
             dispatched_at="2026-03-01T00:00:00Z"),
        dispatch("gz-power", "广州供电局", dispatch_id="D-new")])
    notices = domain.party_notifications(event, DIRECTORY)
    assert [n.params["dispatch_id"] for n in notices] == ["D-new"]


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
