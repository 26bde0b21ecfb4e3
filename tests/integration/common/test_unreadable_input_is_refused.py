"""Input that cannot be stored or computed with is a 400 naming the field, never a 500:
NUL in a path, a query or a key, a date at the end of the calendar, a lone surrogate in
a JSON body. Intake and reporting on the real database and broker; nothing is logged
at ERROR."""
import json
import logging

import pytest
import requests

from tests.support.services import RunningServices, running
from tests.support.system import fresh_system

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def intake_and_reporting():
    keys, _, _ = fresh_system()
    with running("intake") as intake, running("reporting") as reporting:
        yield RunningServices(keys, intake=intake, reporting=reporting)


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def refused(answer, field):
    assert answer.status_code == 400, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"] == PROBLEM
    assert field in answer.json()["errors"], answer.json()
    return answer.json()


@pytest.fixture
def no_errors_logged(caplog):
    caplog.set_level(logging.INFO)
    yield
    assert [record.getMessage() for record in caplog.records
            if record.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("path", ["/api/v1/concerns/ZD%00", "/open311/v2/requests/%00.json",
                                  "/open311/v2/tokens/a%00b.xml", "/nowhere/%00"])
def test_a_path_holding_nul_is_refused(intake_and_reporting, no_errors_logged, path):
    key = intake_and_reporting.keys["frontend:baiyun"]
    refused(requests.get(f"{intake_and_reporting.intake}{path}", headers=bearer(key), timeout=10), "path")


def test_a_path_holding_another_control_character_names_nothing(intake_and_reporting, no_errors_logged):
    answer = requests.get(f"{intake_and_reporting.intake}/api/v1/concerns/%1B[31m", timeout=10,
                          headers=bearer(intake_and_reporting.keys["frontend:baiyun"]))
    assert answer.status_code == 404 and answer.headers["Content-Type"] == PROBLEM


@pytest.mark.parametrize("query, field", [({"status": "open\x01"}, "status"),
                                          ({"since": "\x00"}, "since"),
                                          ({"\x00": "1"}, "\\u0000"),
                                          ({"status": "\uffff"}, "status")])
def test_a_control_character_in_a_query_is_refused(intake_and_reporting, no_errors_logged, query, field):
    key = intake_and_reporting.keys["frontend:baiyun"]
    refused(requests.get(f"{intake_and_reporting.intake}/api/v1/concerns", params=query, headers=bearer(key),
                         timeout=10), field)


@pytest.mark.parametrize("query, field", [
    ({"service_code": "\x00"}, "service_code"),
    ({"api_key": "zd_0123456789ab.\x00"}, "api_key"),
    ({"api_key": "zd_\x00.secret"}, "api_key"),
    ({"service_request_id": "ZD\x00"}, "service_request_id"),
])
def test_a_control_character_in_an_open311_query_is_refused_in_its_format(
        intake_and_reporting, no_errors_logged, query, field):
    key = intake_and_reporting.keys["frontend:baiyun"]
    answer = requests.get(f"{intake_and_reporting.intake}/open311/v2/requests.json", timeout=10,
                          params=query if "api_key" in query else {**query, "api_key": key})
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()
    assert error["code"] == 400 and f"{field}: " in error["description"]


def test_an_open311_key_holding_nul_is_refused_not_looked_up(intake_and_reporting, no_errors_logged):
    answer = requests.get(f"{intake_and_reporting.intake}/open311/v2/requests/ZD20260101-00000000.json",
                          params={"api_key": "zd_0123\x0056789ab.secret"}, timeout=10)
    assert answer.status_code == 403 and "malformed" in answer.text


def test_a_bearer_key_holding_nul_is_malformed_not_looked_up(intake_and_reporting, no_errors_logged):
    answer = requests.get(f"{intake_and_reporting.intake}/api/v1/concerns/ZD20260101-00000000", timeout=10,
                          headers={"Authorization": "Bearer zd_0123\x0056789ab.secret"})
    assert answer.status_code == 401 and answer.json()["detail"] == "The API key is malformed."


@pytest.mark.parametrize("field, value", [
    ("start_date", "9999-12-31T00:00:00Z"),
    ("end_date", "0001-01-01T00:00:00Z"),
    ("start_date", "0001-01-01T00:00:00+08:00"),
    ("end_date", "9999-12-31T23:59:59-12:00"),
    ("start_date", "2026-01-01T00:00:00+23:00"),
])
def test_an_open311_date_at_the_end_of_the_calendar_is_refused_with_its_name(
        intake_and_reporting, no_errors_logged, field, value):
    answer = requests.get(f"{intake_and_reporting.intake}/open311/v2/requests.json", params={field: value},
                          timeout=10)
    assert answer.status_code == 400, answer.text
    (error,) = answer.json()
    assert error["code"] == 400 and field in error["description"]


@pytest.mark.parametrize("report", ["summary", "trend", "by-category"])
@pytest.mark.parametrize("field, value", [("to", "0001-01-01"), ("from", "9999-12-31"),
                                          ("to", "0001-01-01T00:00:00Z"),
                                          ("from", "9999-12-31T23:59:59-12:00")])
def test_a_report_window_at_the_end_of_the_calendar_is_refused_with_its_name(
        intake_and_reporting, no_errors_logged, report, field, value):
    refused(requests.get(f"{intake_and_reporting.reporting}/api/v1/reports/{report}", params={field: value},
                         headers=bearer(intake_and_reporting.keys["admin"]), timeout=10), field)


@pytest.mark.parametrize("raw, field", [
    ('{"description": "\\ud800 sewer"}', "description"),
    ('{"reporter": {"name": "\\udfff"}}', "reporter"),
    ('{"\\ud800": 1}', "\\ud800"),
])
def test_a_lone_surrogate_in_a_json_body_is_refused(intake_and_reporting, no_errors_logged, raw, field):
    key = intake_and_reporting.keys["frontend:baiyun"]
    body = {"external_id": "s-1", "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "description": "元岗路下水道堵塞", **json.loads(raw)}
    data = json.dumps(body).encode()  # json escapes the surrogate as \ud800: valid UTF-8
    problem = refused(requests.post(f"{intake_and_reporting.intake}/api/v1/concerns", data=data, timeout=10,
                                    headers={**bearer(key), "Content-Type": "application/json"}),
                      field)
    assert "surrogate" in json.dumps(problem["errors"])  # the message says why
