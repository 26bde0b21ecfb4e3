"""Unit tests of services.notify.domain for the people of the directory: who hears a
sign-in code, and how a department without a system of its own (web delivery) and its
staff hear of a dispatch. Events are built by their producers' code."""
from datetime import datetime, timedelta, timezone

import pytest

from services.common import events
from services.common.people import find_person
from services.notify import domain
from tests.support import events as made
from tests.support.events import T0

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
WU = {"id": "office-baiyun-wu", "name": "吴敏",
      "contact": {"phone": "+8613900000001", "email": "wu@rd.example", "wechat_openid": "o-wu"}}
LIANG = {"id": "street-liang", "name": "梁文", "contact": {"phone": "+8613900000021", "locale": "en"}}
MUTE = {"id": "street-mute", "name": "无联系", "contact": {}}
DIRECTORY = {
    "districts": {"baiyun": {"code": "baiyun", "name": "白云区", "communities": {},
                             "office": {"name": "白云区代表联络室",
                                        "contact": {"email": "office@baiyun.example"},
                                        "staff": [WU]}}},
    "representatives": {"rep-liu": {"id": "rep-liu", "name": "刘汉立", "district": "baiyun",
                                    "contact": {"email": "liu@example.org"}}},
    "categories": {},
    "departments": {
        "baiyun-street": {"code": "baiyun-street", "name": "景泰街道办", "delivery": "web",
                          "districts": ["baiyun"], "webhook": None,
                          "contact": {"email": "duty@street.example"}, "staff": [LIANG, MUTE]},
        "gz-power": {"code": "gz-power", "name": "广州供电局", "delivery": "webhook",
                     "districts": ["*"], "webhook": {"url": "http://127.0.0.1:9099/hooks/gz-power",
                                                     "secret": "whsec_x"},
                     "contact": {"email": "duty@power.example"},
                     "staff": [{"id": "power-zhou", "name": "周", "contact": {"email": "z@p.example"}}]},
    },
}


def sign_in(person_id="office-baiyun-wu", locale="zh-CN", minutes=10):
    event = events.sign_in_code(person_id, "482913", NOW + timedelta(minutes=minutes), locale)
    return domain.read_sign_in_code(event.body)


def told(sign_in_code):
    return domain.sign_in_code_notifications(
        sign_in_code, find_person(DIRECTORY, sign_in_code.person_id), NOW)


def heard(notifications):
    return sorted((n.recipient, n.channel, n.address, n.template, n.locale) for n in notifications)


# The sign-in code


def test_a_sign_in_code_goes_to_every_channel_of_the_persons_contact_in_the_events_locale():
    notices = told(sign_in(locale="en"))
    assert heard(notices) == [
        ("staff:office-baiyun-wu", channel, address, "staff.sign_in_code.staff", "en")
        for channel, address in (("email", "wu@rd.example"), ("sms", "+8613900000001"),
                                 ("wechat", "o-wu"))]
    assert notices[0].params == {"person_id": "office-baiyun-wu", "code": "482913",
                                 "expires_at": "2026-11-22T02:10:00+00:00", "valid_minutes": 10}


def test_a_representative_hears_their_code_like_staff():
    assert heard(told(sign_in("rep-liu"))) == [
        ("staff:rep-liu", "email", "liu@example.org", "staff.sign_in_code.staff", "zh-CN")]


def test_a_code_for_an_unknown_person_or_one_without_a_contact_is_told_to_nobody():
    assert told(sign_in("office-nobody")) == []
    assert told(sign_in("street-mute")) == []


def test_an_unknown_locale_reads_as_chinese_and_minutes_are_whole():
    body = {**events.sign_in_code("rep-liu", "1", NOW, "en").body, "locale": "fr",
            "expires_at": (NOW + timedelta(seconds=290)).isoformat()}
    code = domain.read_sign_in_code(body)
    assert code.locale == "zh-CN"
    assert told(code)[0].params["valid_minutes"] == 5


def test_the_code_is_not_in_what_a_read_code_shows():
    assert "482913" not in repr(sign_in())


@pytest.mark.parametrize("change", [
    {"person_id": None}, {"person_id": ""}, {"code": 482913}, {"code": ""},
    {"expires_at": "soon"}, {"expires_at": "2026-11-22T02:10:00"}, {"expires_at": None}])
def test_an_unusable_sign_in_code_is_refused_without_showing_the_code(change):
    body = {**events.sign_in_code("rep-liu", "482913", NOW, "en").body, **change}
    with pytest.raises(domain.UnusableEvent) as raised:
        domain.read_sign_in_code(body)
    assert "482913" not in str(raised.value)
    with pytest.raises(domain.UnusableEvent):
        domain.read_sign_in_code(["not", "an", "object"])


def test_a_sign_in_code_is_a_secret_template():
    assert domain.SIGN_IN_CODE_TEMPLATE in domain.SECRET_TEMPLATES
    assert domain.SECRET_PARAMS == ("code",)


# A department with web delivery


def dispatched(department, reporter=None):
    ticket = made.ticket_row("T1", "dispatched", 4, representative="rep-liu",
                             feedback_requested=reporter is not None)
    event = made.department_dispatched(ticket, made.dispatch_row("T1", department, T0,
                                                                 dispatch_id="D-1"),
                                       DIRECTORY, reporter=reporter)
    return domain.read_event(event.message_id, event.type, event.body), event


def test_a_web_department_and_each_of_its_staff_hear_of_a_dispatch_on_their_channels():
    event, made_event = dispatched("baiyun-street", reporter={"name": "张三", "phone": "+8613900000000"})
    notices = domain.party_notifications(event, DIRECTORY)
    template = "department.dispatched.department"
    assert heard(notices) == [
        ("department:baiyun-street", "email", "duty@street.example", template, "zh-CN"),
        ("staff:street-liang", "sms", "+8613900000021", template, "en")]
    params = notices[0].params
    assert params["dispatch_id"] == "D-1" and params["ticket_id"] == "T1"
    assert params["due_at"] == made_event.body["due_at"] and params["role"] == "lead"
    assert "reporter" not in params and "张三" not in repr(params) and "+8613900000000" not in repr(params)


def test_a_webhook_departments_staff_hear_nothing_it_keeps_its_webhook_only():
    event, _ = dispatched("gz-power")
    assert [(n.recipient, n.channel) for n in domain.party_notifications(event, DIRECTORY)] == [
        ("department:gz-power", "webhook")]


def test_a_web_department_published_without_staff_is_told_on_its_own_contact():
    old = {**DIRECTORY, "departments": {"baiyun-street": {
        key: value for key, value in DIRECTORY["departments"]["baiyun-street"].items()
        if key != "staff"}}}
    event, _ = dispatched("baiyun-street")
    assert [n.recipient for n in domain.party_notifications(event, old)] == ["department:baiyun-street"]


def test_a_code_that_will_not_be_sent_is_kept_without_it_and_other_messages_as_they_are():
    (email, *_) = told(sign_in())
    kept = domain.without_secrets(email)
    assert "code" not in kept.params and kept.params["person_id"] == "office-baiyun-wu"
    assert email.params["code"] == "482913"  # the one to send is unchanged
    event, _ = dispatched("baiyun-street")
    (notice, *_) = domain.party_notifications(event, DIRECTORY)
    assert domain.without_secrets(notice) is notice


def test_only_the_code_of_a_channel_that_sends_is_recorded(monkeypatch):
    from services.notify.use_cases import notifications
    recorded = []
    monkeypatch.setattr(notifications.store, "record_notifications",
                        lambda conn, event, notices: recorded.extend(
                            (notice, status) for notice, _, status in notices) or set())
    event = domain.Event("m-1", events.STAFF_SIGN_IN_CODE, {}, {})
    notifications._record(None, event, told(sign_in()), channels={"sms"})
    assert sorted((n.channel, status, "code" in n.params) for n, status in recorded) == [
        ("email", "skipped", False), ("sms", "pending", True), ("wechat", "skipped", False)]
