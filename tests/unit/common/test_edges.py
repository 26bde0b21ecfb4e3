"""The shared edges: keys, rate limits, request bodies, message identity."""
import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common.credentials import Party, hash_secret, new_key, split_key
from services.common.errors import (
    BadRequest,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from services.common.http import MAX_BODY_BYTES, as_problem, read_json
from services.common.messaging import Envelope


def request(data, content_type="application/json"):
    return Request(EnvironBuilder(method="POST", data=data, content_type=content_type).get_environ())


def test_issued_key_splits_into_its_id_and_a_secret_matching_the_hash():
    key, key_id, key_hash = new_key()
    found_id, secret = split_key(key)
    assert found_id == key_id and hash_secret(secret) == key_hash


def test_malformed_key_is_unauthorized():
    with pytest.raises(Unauthorized):
        split_key("not-a-key")


@pytest.mark.parametrize("text", ["frontend:baiyun", "representative:rep-x", "admin"])
def test_party_round_trips(text):
    assert str(Party.parse(text)) == text


@pytest.mark.parametrize("text", ["mayor:baiyun", "admin:baiyun", "frontend"])
def test_unknown_party_is_refused(text):
    with pytest.raises(ValueError):
        Party.parse(text)


def test_json_body_is_read():
    assert read_json(request('{"a": "元"}')) == {"a": "元"}


@pytest.mark.parametrize("data,content_type,error", [
    ("{}", "text/plain", UnsupportedMediaType),
    ("{not json", "application/json", BadRequest),
    ("[1, 2]", "application/json", BadRequest),
    ('{"a": "' + "x" * MAX_BODY_BYTES + '"}', "application/json", PayloadTooLarge)])
def test_bad_body_is_refused_with_its_reason(data, content_type, error):
    with pytest.raises(error):
        read_json(request(data, content_type))


def test_unexpected_error_becomes_a_500_without_internals():
    problem = as_problem(KeyError("secret internals"))
    assert problem.status == 500 and "secret" not in problem.detail


def test_message_without_id_is_known_by_its_content():
    first = Envelope("", "x", {"dispatch_id": "d", "status": "resolved"}, routing_key="dept.a")
    same = Envelope("", "x", {"status": "resolved", "dispatch_id": "d"}, routing_key="dept.a")
    other = Envelope("", "x", {"dispatch_id": "d", "status": "resolved"}, routing_key="dept.b")
    assert first.inbox_id == same.inbox_id != other.inbox_id
    assert Envelope("m-1", "x", {}).inbox_id == "m-1"


def test_a_message_from_outside_is_known_by_its_sender_id_and_body():
    def feedback(message_id, body, routing_key="dept.a"):
        return Envelope(message_id, "", body, queue="zd.routing.feedback", routing_key=routing_key,
                        from_outside=True)
    first = feedback("m-1", {"status": "acknowledged"})
    assert first.inbox_id == feedback("m-1", {"status": "acknowledged"}).inbox_id
    assert first.inbox_id != feedback("m-1", {"status": "resolved"}).inbox_id
    assert first.inbox_id != feedback("m-1", {"status": "acknowledged"}, "dept.b").inbox_id
    assert first.inbox_id != Envelope("m-1", "x", {"status": "acknowledged"}).inbox_id


def test_a_parked_body_keeps_everything_but_the_reporters_details():
    from services.common.messaging import withhold_contacts
    body = {"ticket_id": "T1", "contact": {"name": "王", "phone": "+8613900000000",
                                           "email": "w@example.org", "wechat_openid": "o-w",
                                           "locale": "en"},
            "dispatches": [{"reporter": {"name": "李", "phone": "+8613900000001"},
                            "representative": {"id": "rep-1", "name": "陈建国"}}],
            "email": None}
    assert withhold_contacts(body) == {
        "ticket_id": "T1", "contact": {"name": "(withheld)", "phone": "(withheld)",
                                       "email": "(withheld)", "wechat_openid": "(withheld)",
                                       "locale": "en"},
        "dispatches": [{"reporter": {"name": "(withheld)", "phone": "(withheld)"},
                        "representative": {"id": "rep-1", "name": "陈建国"}}],
        "email": None}


def test_department_queues_are_unlimited_explicitly_where_the_broker_would_limit_them():
    from services.common import topology
    on_three = dict(topology.policies("3.10.8"))
    on_four = dict(topology.policies("4.1.0"))
    assert topology.DEPARTMENT_QUEUE_POLICY not in on_three
    assert on_four[topology.DEPARTMENT_QUEUE_POLICY]["definition"] == {"delivery-limit": -1}
    for chosen in (on_three, on_four):
        service = chosen[topology.SERVICE_QUEUE_POLICY]
        assert service["definition"] == {"dead-letter-strategy": "at-least-once",
                                         "overflow": "reject-publish"}
        assert "zd\\.routing\\.feedback" in service["pattern"]
