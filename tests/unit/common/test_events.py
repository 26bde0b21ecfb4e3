"""The shapes of the events: who gets which contact detail, and what a ticket event tells."""
from datetime import datetime, timezone

from services.common import events

AT = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
REPORTER = {"name": "王女士", "phone": "+8613900000000", "email": "wang@example.org",
            "wechat_openid": "o-wang", "locale": "en", "wants_feedback": True}


def concern(reporter):
    return {"ticket_id": "ZD20261122-0000AAAA", "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "category": None, "title": "下水道", "description": "堵了",
            "location": None, "attachments": [], "requested_representative": None,
            "submitted_at": AT, "received_at": AT, "reporter": reporter}


def test_concern_received_carries_no_contact_detail_only_whether_feedback_is_wanted():
    event = events.concern_received(concern(REPORTER))
    assert event.type == "concern.received" and event.message_id == "concern-ZD20261122-0000AAAA"
    assert event.body["feedback_requested"] is True and "reporter" not in event.body
    for detail in ("王女士", "+8613900000000", "wang@example.org", "o-wang"):
        assert detail not in repr(event.body)
    assert events.concern_received(concern(None)).body["feedback_requested"] is False


def test_notify_gets_every_contact_the_locale_and_the_page_token_routing_only_name_and_phone():
    for_notify = events.reporter_contact("T-1", REPORTER, "tok-1")
    assert for_notify.body == {"ticket_id": "T-1", "contact": {
        "name": "王女士", "phone": "+8613900000000", "email": "wang@example.org",
        "wechat_openid": "o-wang", "locale": "en", "page_token": "tok-1"}}
    for_routing = events.dispatch_contact("T-1", REPORTER)
    assert for_routing.body == {"ticket_id": "T-1",
                                "reporter": {"name": "王女士", "phone": "+8613900000000"}}
    assert events.reporter_contact("T-1", {"phone": "+86139", "wants_feedback": True}).body[
        "contact"]["locale"] == "zh-CN"


def test_contacts_travel_only_when_feedback_is_wanted():
    silent = {**REPORTER, "wants_feedback": False}
    assert events.reporter_contact("T-1", silent) is None
    assert events.dispatch_contact("T-1", silent) is None
    assert events.reporter_contact("T-1", None) is None


def test_a_step_is_named_by_its_last_change_and_keeps_every_change_in_order():
    first = {"at": "2026-03-02T01:00:00+00:00", "action": "assign"}
    last = {"at": "2026-03-02T01:00:01+00:00", "action": "dispatch"}
    snapshot = {"ticket_id": "T1", "version": 4, "timeline": [first, last]}
    event = events.ticket_changed(snapshot, [("assigned", first), ("dispatched", last)])
    assert event.type == "ticket.dispatched" and event.message_id == "ticket-T1-v4"
    assert event.body["entry"] == last
    assert events.step_changes(event.type, event.body) == [("assigned", first), ("dispatched", last)]
    older = {"ticket": snapshot, "entry": last}
    assert events.step_changes("ticket.dispatched", older) == [("dispatched", last)]


def test_a_sign_in_code_goes_to_notify_alone_under_an_id_not_made_from_the_code():
    from services.common import topology
    first = events.sign_in_code("office-baiyun-wu", "482913", AT, "en")
    again = events.sign_in_code("office-baiyun-wu", "482913", AT, "en")
    assert first.type == events.STAFF_SIGN_IN_CODE == "staff.sign_in_code"
    assert first.body == {"person_id": "office-baiyun-wu", "code": "482913",
                          "expires_at": "2026-11-22T02:00:00+00:00", "locale": "en"}
    assert first.message_id != again.message_id and "482913" not in first.message_id
    assert events.sign_in_code("rep-zhao-min", "1", AT, "fr").body["locale"] == "zh-CN"
    bound = {name: {b.routing_key for b in queue.bindings}
             for name, queue in topology.SERVICE_QUEUES.items()}
    assert [name for name, keys in bound.items() if first.type in keys] == ["notify"]
    assert events.SECRET_FIELDS[first.type] == ("code",)
