"""The intake API against the real PostgreSQL and RabbitMQ (contract §5)."""
import psycopg
import pytest
import requests
from nameko.containers import ServiceContainer

from services.admin import operations as ops
from services.common.config import nameko_config, settings
from services.common.runner import service_class
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
    (_, event), = outbox_messages()
    assert event["reporter"] is None


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


def test_a_key_over_its_rate_is_told_to_slow_down(keys):
    with running("intake", ZD_RATE_LIMIT=1) as base:
        answers = [post(base, keys["frontend:baiyun"], concern(external_id=f"r-{n}"))
                   for n in range(4)]
    statuses = [answer.status_code for answer in answers]
    assert 429 in statuses and statuses[0] == 202
    refused = answers[statuses.index(429)]
    assert int(refused.headers["Retry-After"]) >= 1 and refused.json()["retry_after"] > 0


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
