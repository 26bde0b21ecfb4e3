"""The intake API against the real PostgreSQL and RabbitMQ (docs/reference.md#intake-api)."""
import json
import time

import eventlet
import psycopg
import pytest
import requests
from nameko.containers import ServiceContainer

from services.admin.use_cases import operations as ops
from services.common.config import nameko_config, settings
from services.common.runner import service_class
from services.common.topology import SERVICE_QUEUES
from tests.support.services import running, wait_until
from tests.support.system import free_port, fresh_system


@pytest.fixture
def keys():
    keys, _, _ = fresh_system()
    return keys


@pytest.fixture
def intake(keys):
    with running("intake") as base:
        yield base


def concern(**overrides):
    body = {"external_id": "mp-1001", "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "description": "元岗路下水道堵塞，污水外溢"}
    body.update(overrides)
    return body


def post(base, key, body, **kwargs):
    return requests.post(f"{base}/api/v1/concerns", json=body,
                         headers={"Authorization": f"Bearer {key}"}, timeout=15, **kwargs)


def stored_concerns():
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.concerns").fetchone()[0]


def outbox_messages():
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT type, body FROM intake.outbox ORDER BY id").fetchall()


def test_concern_is_accepted_and_readable(keys, intake):
    answer = post(intake, keys["frontend:baiyun"], concern())
    assert answer.status_code == 202, answer.text
    ticket_id = answer.json()["ticket_id"]
    shown = requests.get(f"{intake}/api/v1/concerns/{ticket_id}",
                         headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"}).json()
    assert shown["status"] == "received"
    assert shown["description"].startswith("元岗路")
    assert [message_type for message_type, _ in outbox_messages()] == ["concern.received"]


def test_reporter_contacts_are_not_shown_back_and_travel_only_on_request(keys, intake):
    reporter = {"name": "李女士", "phone": "+8613700000000", "wants_feedback": False}
    ticket_id = post(intake, keys["frontend:baiyun"], concern(reporter=reporter)).json()["ticket_id"]
    shown = requests.get(f"{intake}/api/v1/concerns/{ticket_id}",
                         headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"}).text
    assert "+8613700000000" not in shown and "李女士" not in shown
    (message_type, event), = outbox_messages()
    assert message_type == "concern.received" and event["feedback_requested"] is False
    assert "+8613700000000" not in repr(event) and "李女士" not in repr(event)


def test_a_reporter_who_asks_for_feedback_has_contacts_sent_to_notify_and_routing_only(keys, intake):
    reporter = {"name": "李女士", "phone": "+8613700000000", "email": "li@example.org",
                "wechat_openid": "o-li-123", "locale": "en", "wants_feedback": True}
    post(intake, keys["frontend:baiyun"], concern(reporter=reporter))
    sent = dict(outbox_messages())
    assert set(sent) == {"reporter.contact", "reporter.dispatch_contact", "concern.received"}
    token = sent["reporter.contact"]["contact"]["page_token"]
    assert sent["reporter.contact"]["contact"] == {
        "name": "李女士", "phone": "+8613700000000", "email": "li@example.org",
        "wechat_openid": "o-li-123", "locale": "en", "page_token": token}
    assert len(token) == 22, "the reporter's page: 128 random bits"
    assert token not in repr(sent["concern.received"]) + repr(sent["reporter.dispatch_contact"])
    assert sent["reporter.dispatch_contact"]["reporter"] == {"name": "李女士", "phone": "+8613700000000"}
    public = repr(sent["concern.received"])
    assert sent["concern.received"]["feedback_requested"] is True
    assert all(detail not in public for detail in ("李女士", "+8613700000000", "li@", "o-li-123"))
    bindings = {queue: {b.routing_key for b in q.bindings} for queue, q in SERVICE_QUEUES.items()}
    assert [queue for queue, keys_ in bindings.items() if "reporter.contact" in keys_] == ["notify"]
    assert [queue for queue, keys_ in bindings.items()
            if "reporter.dispatch_contact" in keys_] == ["routing"]


@pytest.mark.parametrize("reporter, field", [
    ({"locale": "fr"}, "locale"), ({"wechat_openid": "o id with spaces"}, "wechat_openid")])
def test_a_bad_locale_or_openid_is_refused(keys, intake, reporter, field):
    answer = post(intake, keys["frontend:baiyun"], concern(reporter=reporter))
    assert answer.status_code == 400
    assert field in answer.json()["errors"]["reporter"]
    assert outbox_messages() == []


def test_same_external_id_and_body_returns_the_same_ticket(keys, intake):
    first = post(intake, keys["frontend:baiyun"], concern())
    again = post(intake, keys["frontend:baiyun"], concern())
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    assert stored_concerns() == 1 and len(outbox_messages()) == 1


def test_same_external_id_with_another_body_is_a_conflict(keys, intake):
    post(intake, keys["frontend:baiyun"], concern())
    clash = post(intake, keys["frontend:baiyun"], concern(description="另一件事"))
    assert clash.status_code == 409
    assert clash.headers["Content-Type"] == "application/problem+json"
    assert stored_concerns() == 1


def test_bad_fields_are_named_and_nothing_is_stored(keys, intake):
    answer = post(intake, keys["frontend:baiyun"], concern(channel="fax", community="nowhere",
                                                            location={"lat": 200, "lon": 0}))
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert {"channel", "location"} <= set(answer.json()["errors"])
    assert stored_concerns() == 0 and outbox_messages() == []


def test_community_outside_the_district_is_a_field_error(keys, intake):
    answer = post(intake, keys["frontend:baiyun"], concern(community="shipai"))
    assert answer.status_code == 400 and "community" in answer.json()["errors"]


@pytest.mark.parametrize("headers,status", [
    ({}, 401), ({"Authorization": "Bearer zd_000000000000.nope"}, 401),
    ({"Authorization": "Basic abc"}, 401)])
def test_missing_or_unknown_key_is_unauthorized(intake, headers, status):
    answer = requests.post(f"{intake}/api/v1/concerns", json=concern(), headers=headers)
    assert answer.status_code == status and answer.json()["status"] == status


def test_key_of_another_district_is_forbidden(keys, intake):
    assert post(intake, keys["frontend:tianhe"], concern()).status_code == 403


def test_key_of_another_role_is_forbidden(keys, intake):
    assert post(intake, keys["congress:baiyun"], concern()).status_code == 403


def test_concern_of_another_district_is_not_found(keys, intake):
    ticket_id = post(intake, keys["frontend:baiyun"], concern()).json()["ticket_id"]
    answer = requests.get(f"{intake}/api/v1/concerns/{ticket_id}",
                          headers={"Authorization": f"Bearer {keys['frontend:tianhe']}"})
    assert answer.status_code == 404


def test_revoked_key_is_refused(keys, intake):
    key = keys["frontend:baiyun"]
    admin = ops.Admin.open()
    try:
        ops.revoke_key(admin, key[3:].partition(".")[0])
    finally:
        admin.close()
    wait_until(lambda: post(intake, key, concern()).status_code == 401, what="revocation applied")


def test_body_over_64_kib_is_refused(keys, intake):
    answer = post(intake, keys["frontend:baiyun"], concern(description="堵" * 30000))
    assert answer.status_code == 413


def test_body_that_is_not_json_is_refused(keys, intake):
    answer = requests.post(f"{intake}/api/v1/concerns", data="external_id=1",
                           headers={"Authorization": f"Bearer {keys['frontend:baiyun']}",
                                    "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 415


def test_malformed_json_is_a_bad_request(keys, intake):
    answer = requests.post(f"{intake}/api/v1/concerns", data="{broken",
                           headers={"Authorization": f"Bearer {keys['frontend:baiyun']}",
                                    "Content-Type": "application/json"})
    assert answer.status_code == 400 and "JSON" in answer.json()["detail"]


def test_a_key_over_its_rate_is_told_to_slow_down_until_its_bucket_refills(keys):
    with running("intake", ZD_RATE_LIMIT=1) as base:
        answers = [post(base, keys["frontend:baiyun"], concern(external_id=f"r-{n}"))
                   for n in range(4)]
        statuses = [answer.status_code for answer in answers]
        assert statuses[:2] == [202, 202] and 429 in statuses, "a burst of two, then refused"
        refused = answers[statuses.index(429)]
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["retry_after"] == int(refused.headers["Retry-After"]), \
            "whole seconds in both"
        time.sleep(refused.json()["retry_after"])
        assert post(base, keys["frontend:baiyun"], concern(external_id="r-after")).status_code == 202
    assert stored_concerns() == statuses.count(202) + 1, "a refused concern is not stored"


def test_the_rate_of_a_key_holds_across_intake_instances(keys):
    with running("intake", ZD_RATE_LIMIT=2) as first, running("intake", ZD_RATE_LIMIT=2) as second:
        time.sleep(2)  # both buckets full: 4 tokens for the key, whichever instance it calls
        answers = [requests.get(f"{base}/api/v1/concerns/ZD20260101-00000000", timeout=5,
                                headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"})
                   for _ in range(10) for base in (first, second)]
    served = [answer.status_code for answer in answers if answer.status_code != 429]
    assert set(served) == {404}
    assert len(served) <= 6, f"{len(served)} served: a burst of 4, and a token or two refilled"


def test_unreachable_database_is_503_and_health_says_why(keys):
    port = free_port()
    config = nameko_config("intake", {"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                                      "ZD_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    container = ServiceContainer(service_class("intake"), config)
    container.start()
    try:
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=15)
        answer = post(f"http://127.0.0.1:{port}", keys["frontend:baiyun"], concern())
    finally:
        container.kill()
    assert health.status_code == 503 and health.json()["checks"]["database"] == "down"
    assert answer.status_code == 503
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Retry-After"] == "5" and answer.json()["retry_after"] == 5
    for text in (answer.text, health.text):
        assert "127.0.0.1" not in text and "port" not in text.lower() and "none" not in text, text


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/no/such/path", 404), ("GET", "/api/v1/concern", 404),
    ("DELETE", "/api/v1/concerns", 405), ("PUT", "/health", 405)])
def test_an_unknown_path_or_method_is_a_problem_document(keys, intake, method, path, status):
    answer = requests.request(method, f"{intake}{path}", timeout=5,
                              headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"})
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == status and "<html" not in answer.text.lower()
    if status == 405:
        assert "GET" in answer.headers["Allow"] or "POST" in answer.headers["Allow"]


def test_a_ticket_id_already_drawn_is_drawn_again(keys, intake, monkeypatch):
    from services.intake import domain
    first = post(intake, keys["frontend:baiyun"], concern(external_id="id-1")).json()["ticket_id"]
    draws = iter([first, first, "ZD20261122-0000BEEF"])
    monkeypatch.setattr(domain, "new_ticket_id", lambda now: next(draws))
    answer = post(intake, keys["frontend:baiyun"], concern(external_id="id-2"))
    assert answer.status_code == 202, answer.text
    assert answer.json()["ticket_id"] == "ZD20261122-0000BEEF" and stored_concerns() == 2


@pytest.mark.parametrize("field, value, path", [
    ("description", "下水道\x00堵塞", ("description",)),
    ("title", "bell\x07", ("title",)),
    ("reporter", {"name": "王\x1b[31m", "wants_feedback": True}, ("reporter", "name")),
    ("description", "line\r\nbreak", ("description",)),
])
def test_control_characters_other_than_tab_and_newline_are_refused(keys, intake, field, value, path):
    answer = post(intake, keys["frontend:baiyun"], concern(**{field: value}))
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    errors = answer.json()["errors"]
    for key in path:
        errors = errors[key]
    assert errors == ["Control characters other than tab and newline are not allowed."]
    assert stored_concerns() == 0 and outbox_messages() == []


@pytest.mark.parametrize("raw, path", [
    ('"title": "\\uffff"', ("title",)),
    ('"description": "下水道\\ufffe堵塞"', ("description",)),
    ('"description": "lone \\ud800 surrogate"', ("description",)),
    ('"reporter": {"name": "\\udfff"}', ("reporter", "name")),
])
def test_characters_xml_forbids_are_refused_naming_the_field(keys, intake, raw, path):
    body = json.dumps(concern())[:-1] + ", " + raw + "}"  # as escapes: a JSON parser decodes them
    answer = requests.post(f"{intake}/api/v1/concerns", data=body.encode(), timeout=15,
                           headers={"Authorization": f"Bearer {keys['frontend:baiyun']}",
                                    "Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    errors = answer.json()["errors"]
    for key in path:
        errors = errors[key]
    assert errors == ["U+FFFE, U+FFFF and lone surrogates are not text: not allowed."]
    assert stored_concerns() == 0 and outbox_messages() == []


@pytest.mark.parametrize("reporter, field", [
    ({"email": "<li@example.org>"}, "email"),  # Address(addr_spec=...) raises HeaderParseError
    ({"email": "李@example.org"}, "email"),  # a local part no mail server here takes
    ({"phone": "+86 123"}, "phone"),
    ({"phone": "12345"}, "phone"),
])
def test_a_contact_no_message_could_reach_is_refused(keys, intake, reporter, field):
    answer = post(intake, keys["frontend:baiyun"], concern(reporter={**reporter, "wants_feedback": True}))
    assert answer.status_code == 400, answer.text
    assert list(answer.json()["errors"]["reporter"]) == [field]
    assert stored_concerns() == 0 and outbox_messages() == []


@pytest.mark.parametrize("phone", ["+8613912340001", "13912340001", "139 1234 0001",
                                   "020-12345678", "+1 202 555 0143"])
def test_a_phone_as_people_write_it_is_stored_as_sent(keys, intake, phone):
    reporter = {"phone": phone, "email": "o'hara+zd@mail.example.org", "wants_feedback": True}
    answer = post(intake, keys["frontend:baiyun"], concern(reporter=reporter))
    assert answer.status_code == 202, answer.text
    (contact,) = [body for kind, body in outbox_messages() if kind == "reporter.contact"]
    assert contact["contact"]["phone"] == phone


def test_tabs_and_newlines_are_stored_exactly_as_sent(keys, intake):
    text = "第一行\n\t第二行：元岗路下水道堵塞"
    answer = post(intake, keys["frontend:baiyun"], concern(description=text))
    assert answer.status_code == 202, answer.text
    shown = requests.get(f"{intake}{answer.json()['href']}", timeout=5,
                         headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"}).json()
    assert shown["description"] == text


def test_a_revocation_seen_before_its_issue_still_wins(keys, intake):
    from services.common.credentials import new_key
    from services.common.events import Event
    from tests.support.events import publish

    def answers(key):
        return requests.get(f"{intake}/api/v1/concerns/ZD20260101-00000000", timeout=5,
                            headers={"Authorization": f"Bearer {key}"}).status_code

    revoked_first, revoked_id, revoked_hash = new_key()
    issued_only, issued_id, issued_hash = new_key()
    publish(Event("credential.revoked", {"key_id": revoked_id}, f"credential-revoked-{revoked_id}"),
            Event("credential.issued", {"key_id": revoked_id, "party": "frontend:baiyun",
                                        "key_hash": revoked_hash}, f"credential-issued-{revoked_id}"),
            Event("credential.issued", {"key_id": issued_id, "party": "frontend:baiyun",
                                        "key_hash": issued_hash}, f"credential-issued-{issued_id}"))
    wait_until(lambda: answers(issued_only) == 404, what="the later key known")
    assert answers(revoked_first) == 401


def test_twenty_identical_posts_at_once_make_one_ticket(keys):
    with running("intake", ZD_RATE_LIMIT=1000) as base:  # the rate limit has its own tests
        body = concern(external_id="mp-burst")
        answers = list(eventlet.GreenPool(20).imap(
            lambda _: post(base, keys["frontend:baiyun"], body), range(20)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(202) == 1 and statuses.count(200) == 19, statuses
    assert len({answer.json()["ticket_id"] for answer in answers}) == 1
    assert stored_concerns() == 1
    assert [message_type for message_type, _ in outbox_messages()] == ["concern.received"]
