"""Any JSON body posted as a concern is either accepted and stored exactly as sent
(read back equal, its Open311 XML parsing) or refused with a 4xx problem document, and
then nothing is stored. Property-based (hypothesis), against intake on the real database and broker."""
import json
import uuid
from xml.etree import ElementTree

import psycopg
import pytest
import requests
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.common.config import settings as zd_settings
from tests.support.services import running
from tests.support.system import fresh_system

TEXT_FIELDS = ("external_id", "community", "channel", "description", "title", "category")
EXAMPLES = 150

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)

near_valid = st.fixed_dictionaries(
    {"external_id": st.one_of(st.text(min_size=1, max_size=40), st.just("")),
     "district": st.sampled_from(["baiyun", "baiyun", "tianhe", ""]),
     "community": st.sampled_from(["yuangang", "sanyuanli", "jiangpu", "nowhere"]),
     "channel": st.sampled_from(["wechat", "hotline", "open311", "fax"]),
     "description": st.text(min_size=0, max_size=60)},
    optional={"title": st.text(max_size=30) | st.none(),
              "category": st.sampled_from(["drainage", "parking", "unknown"]),
              "location": st.fixed_dictionaries({"lat": st.floats(-100, 100, allow_nan=False),
                                                 "lon": st.floats(-200, 200, allow_nan=False)}),
              "attachments": st.lists(st.fixed_dictionaries(
                  {"url": st.sampled_from(["https://p.example/a.jpg", "ftp://p.example/a",
                                           "not a url"]),
                   "kind": st.sampled_from(["photo", "video", "hologram"])}), max_size=2),
              "reporter": st.fixed_dictionaries({}, optional={
                  "name": st.text(max_size=10), "wants_feedback": st.booleans(),
                  "locale": st.sampled_from(["zh-CN", "en", "fr"])}),
              "extra": json_values})

any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                         blacklist_characters="\ufffe\uffff"), min_size=1, max_size=80)
valid = st.fixed_dictionaries(
    {"external_id": any_text.map(lambda text: text[:60]),
     "district": st.just("baiyun"),
     "community": st.sampled_from(["yuangang", "sanyuanli", "tonghe"]),
     "channel": st.sampled_from(["wechat", "hotline", "app", "grid_visit"]),
     "description": any_text.filter(lambda text: text.strip())},
    optional={"title": st.text(max_size=60), "category": st.sampled_from(["drainage", "parking"]),
              "location": st.fixed_dictionaries({"lat": st.floats(-90, 90), "lon": st.floats(-180, 180)}),
              "attachments": st.lists(st.fixed_dictionaries(
                  {"url": st.just("https://photos.example/1.jpg"),
                   "kind": st.sampled_from(["photo", "audio"])}), max_size=3)})

bodies = st.one_of(valid, near_valid, json_values)


@pytest.fixture(scope="module")
def intake():
    keys, _, _ = fresh_system()
    with running("intake", ZD_RATE_LIMIT=10000) as base:  # the rate limit has its own tests
        yield base, keys["frontend:baiyun"]


def stored_count():
    with psycopg.connect(zd_settings().database_url) as conn:
        return conn.execute("SELECT count(*) FROM intake.concerns").fetchone()[0]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, unique=st.booleans())
def test_a_body_is_stored_exactly_or_refused_with_nothing_stored(intake, body, unique):
    base, key = intake
    if unique and isinstance(body, dict) and isinstance(body.get("external_id"), str) and body["external_id"]:
        body = {**body, "external_id": f"{body['external_id'][:80]}-{uuid.uuid4().hex}"}
    before = stored_count()
    answer = requests.post(f"{base}/api/v1/concerns", data=json.dumps(body), timeout=10,
                           headers={"Authorization": f"Bearer {key}",
                                    "Content-Type": "application/json"})
    assert answer.status_code in (200, 202) or 400 <= answer.status_code < 500, answer.text
    event(f"answered {answer.status_code}")  # shown with --hypothesis-show-statistics
    if answer.status_code == 202:
        assert stored_count() == before + 1
        shown = requests.get(f"{base}{answer.json()['href']}", timeout=10,
                             headers={"Authorization": f"Bearer {key}"}).json()
        for field in TEXT_FIELDS:
            if field in body and body[field] is not None:
                assert shown[field] == body[field], field
        if "location" in body:
            assert (shown["location"]["lat"], shown["location"]["lon"]) == (
                body["location"]["lat"], body["location"]["lon"])
        assert shown["attachments"] == body.get("attachments", [])
        assert "reporter" not in shown
        as_xml = requests.get(f"{base}/open311/v2/requests/{answer.json()['ticket_id']}.xml",
                              params={"api_key": key}, timeout=10)
        assert ElementTree.fromstring(as_xml.content).find("request") is not None  # it parses
    elif answer.status_code == 200:  # the same external_id and body again: the same ticket
        assert stored_count() == before
    else:
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["status"] == answer.status_code and problem["detail"]
        assert stored_count() == before
