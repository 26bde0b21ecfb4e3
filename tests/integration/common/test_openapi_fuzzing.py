"""Schemathesis against every service's OpenAPI document, on the real database and
broker: no answer is a 5xx, every answer is documented (status, media type, headers,
body), data that breaks the document is refused, and a call without a key is refused.

The operations come from each service's ``SPEC``, and the fixture first proves that
the document the running service serves is that same document. A concern is posted
and routed first, so half of the schema-valid cases can name a real ticket, a real
notification, the key's own department (``use_real_values``).
"""
import collections
import uuid
from typing import NamedTuple

import pytest
import requests
import schemathesis

from services.intake.openapi import SPEC as INTAKE_SPEC
from services.notify.openapi import SPEC as NOTIFY_SPEC
from services.reporting.openapi import SPEC as REPORTING_SPEC
from services.routing.openapi import SPEC as ROUTING_SPEC
from tests.support.fuzzing import CHECKS, FUZZ_SETTINGS, bearer_keys, use_real_values
from tests.support.services import RunningServices, running, wait_until
from tests.support.system import fresh_system

UNLIMITED = {"ZD_RATE_LIMIT": 1_000_000}  # the rate limit has its own tests
DEPARTMENT = "baiyun-water"


class ServicesWithATicket(NamedTuple):
    """The four services running, and a ticket routed with a notification of it."""
    services: RunningServices
    ticket_id: str
    notification_id: int


def served_document(base):
    return requests.get(f"{base}/openapi.json", timeout=10).json()


@pytest.fixture(scope="module")
def targets():
    keys, _, _ = fresh_system()
    KEYS.update(keys)
    with running("intake", **UNLIMITED) as intake, running("routing", **UNLIMITED) as routing, \
            running("notify", **UNLIMITED) as notify, running("reporting", **UNLIMITED) as reporting:
        services = RunningServices(keys, intake, routing, notify, reporting)
        specs = {"intake": INTAKE_SPEC, "routing": ROUTING_SPEC, "notify": NOTIFY_SPEC,
                 "reporting": REPORTING_SPEC}
        for service, spec in specs.items():
            assert served_document(services.base(service)) == spec, f"{service} serves its SPEC"
        ticket_id = _routed_ticket(intake, routing, keys)
        notification_id = wait_until(lambda: _a_notification(notify, keys, ticket_id),
                                     what="a notification of the ticket")
        yield ServicesWithATicket(services, ticket_id, notification_id)


def _routed_ticket(intake, routing, keys):
    body = {"external_id": str(uuid.uuid4()), "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "description": "元岗路下水道堵塞，污水外溢",
            "reporter": {"name": "陈女士", "phone": "13912340001", "wants_feedback": True}}
    answer = requests.post(f"{intake}/api/v1/concerns", json=body, timeout=10,
                           headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"})
    assert answer.status_code == 202, answer.text
    ticket_id = answer.json()["ticket_id"]
    wait_until(lambda: requests.get(f"{routing}/api/v1/tickets/{ticket_id}", timeout=5, headers={
        "Authorization": f"Bearer {keys['admin']}"}).status_code == 200, what="the ticket routed")
    return ticket_id


def _a_notification(notify, keys, ticket_id):
    answer = requests.get(f"{notify}/api/v1/notifications", params={"ticket_id": ticket_id},
                          headers={"Authorization": f"Bearer {keys['admin']}"}, timeout=5).json()
    return answer["notifications"][0]["id"] if answer["notifications"] else None


def fuzz(case, targets, service, **real):
    use_real_values(case, **real)
    case.call_and_validate(base_url=targets.services.base(service), checks=CHECKS)


#: the keys of the running system, by party (filled by the fixture; schemathesis asks
#: already while it collects the tests, before there is a system)
KEYS = collections.defaultdict(lambda: "zd_collecting.no-key-yet")
intake_schema = schemathesis.openapi.from_dict(INTAKE_SPEC)
routing_schema = schemathesis.openapi.from_dict(ROUTING_SPEC)
notify_schema = schemathesis.openapi.from_dict(NOTIFY_SPEC)
reporting_schema = schemathesis.openapi.from_dict(REPORTING_SPEC)
bearer_keys(intake_schema, lambda case: KEYS["frontend:baiyun"])
bearer_keys(routing_schema, lambda case: KEYS[f"department:{DEPARTMENT}"]
            if "{department}" in case.operation.path else KEYS["admin"]
            if case.operation.path == "/api/v1/category-report" else KEYS["congress:baiyun"])
bearer_keys(notify_schema, lambda case: KEYS["admin"])
bearer_keys(reporting_schema, lambda case: KEYS["admin"])


@intake_schema.parametrize()
@FUZZ_SETTINGS
def test_intake_answers_as_documented(case, targets):
    ticket_id = targets.ticket_id
    fuzz(case, targets, "intake", ticket_id=ticket_id, request_id=ticket_id,
         token=ticket_id, code="drainage", service_code="drainage", district="baiyun",
         jurisdiction_id="baiyun", community="yuangang", lat="23.2", long="113.3",
         **{"attribute[community]": "yuangang"},
         api_key=targets.services.keys["frontend:baiyun"])


@routing_schema.parametrize()
@FUZZ_SETTINGS
def test_routing_answers_as_documented(case, targets):
    fuzz(case, targets, "routing", ticket_id=targets.ticket_id, department=DEPARTMENT,
         district="baiyun")


@notify_schema.parametrize()
@FUZZ_SETTINGS
def test_notify_answers_as_documented(case, targets):
    fuzz(case, targets, "notify", ticket_id=targets.ticket_id,
         notification_id=targets.notification_id)


@reporting_schema.parametrize()
@FUZZ_SETTINGS
def test_reporting_answers_as_documented(case, targets):
    fuzz(case, targets, "reporting", district="baiyun", department=DEPARTMENT)
