"""An Open311 GeoReport v2 client, written from the specification's own examples
(http://wiki.open311.org/GeoReport_v2): form-encoded posts with ``api_key``,
``service_code``, ``lat``/``long``, ``media_url``, reporter fields and ``attribute[...]``,
read back in JSON and in XML (parsed with a real XML parser). Intake and routing on the
real broker and database; the resolution comes from routing's own event code."""
from datetime import datetime, timedelta, timezone
from typing import NamedTuple
from xml.etree import ElementTree

import psycopg
import pytest
import requests
from psycopg.types.json import Jsonb

from services.common.config import settings
from tests.support import events as made
from tests.support.proxy import CuttableProxy
from tests.support.services import running, wait_until
from tests.support.system import fresh_system

SPEC_EXAMPLE = {  # the specification's POST example, in Baiyun
    "service_code": "drainage", "lat": "23.1925", "long": "113.2721",
    "address_string": "元岗路12号", "email": "smith@residents.example", "device_id": "tt222111",
    "account_id": "123456", "first_name": "john", "last_name": "smith",
    "phone": "+8613912340009", "description": "沙井盖下陷，污水外溢 (a collapsed manhole, sewage)",
    "media_url": "http://photos.residents.example/manhole.jpg", "attribute[community]": "yuangang"}


class IntakeAndRouting(NamedTuple):
    """Intake (with a high rate limit) and routing running on a fresh system."""
    intake: str       #: base URLs
    routing: str
    keys: dict        #: every party's API key, by party
    directory: dict   #: the directory snapshot


@pytest.fixture(scope="module")
def intake_and_routing():
    keys, _, directory = fresh_system()
    # many calls with one key here; the rate limit has its own tests
    with running("intake", ZD_RATE_LIMIT=1000) as intake, running("routing") as routing:
        yield IntakeAndRouting(intake, routing, keys, directory)


def open311(base, path, **params):
    return requests.get(f"{base}/open311/v2/{path}", params=params, timeout=10)


def post(base, key, fmt="json", **fields):
    return requests.post(f"{base}/open311/v2/requests.{fmt}", data={"api_key": key, **fields},
                         timeout=10)


def own_view(base, key, ticket_id):
    return requests.get(f"{base}/api/v1/concerns/{ticket_id}", timeout=10,
                        headers={"Authorization": f"Bearer {key}"}).json()


def xml(answer):
    assert answer.headers["Content-Type"].startswith("text/xml"), answer.headers["Content-Type"]
    assert answer.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ElementTree.fromstring(answer.content)


def test_discovery_names_the_endpoint_in_both_formats(intake_and_routing):
    intake = intake_and_routing.intake
    found = open311(intake, "discovery.json").json()
    (endpoint,) = found["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and "application/json" in endpoint["formats"]
    root = xml(open311(intake, "discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.iter("format")] == ["text/xml", "application/json"]


def test_the_services_are_the_categories(intake_and_routing):
    intake, directory = intake_and_routing.intake, intake_and_routing.directory
    services = open311(intake, "services.json").json()
    assert [s["service_code"] for s in services] == list(directory["categories"])
    drainage = next(s for s in services if s["service_code"] == "drainage")
    assert drainage["service_name"] == "排水" and "下水道" in drainage["keywords"].split(",")
    assert drainage["metadata"] is True and drainage["type"] == "realtime"
    assert drainage["group"] == "白云区水务局"
    root = xml(open311(intake, "services.xml"))
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == list(directory["categories"])
    assert root.find("service").findtext("metadata") == "true"


def test_a_service_definition_offers_the_communities_of_the_jurisdiction(intake_and_routing):
    intake, directory = intake_and_routing.intake, intake_and_routing.directory
    definition = open311(intake, "services/drainage.json", jurisdiction_id="baiyun").json()
    (attribute,) = definition["attributes"]
    assert attribute["code"] == "community" and attribute["datatype"] == "singlevaluelist"
    assert attribute["required"] is False
    assert [v["key"] for v in attribute["values"]] == list(directory["districts"]["baiyun"]["communities"])
    root = xml(open311(intake, "services/drainage.xml", jurisdiction_id="baiyun"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "drainage"
    assert root.find("attributes/attribute/values/value/name").text == "元岗社区"
    every = open311(intake, "services/drainage.json").json()["attributes"][0]["values"]
    assert "conghua:jiangpu" in [v["key"] for v in every]
    missing = open311(intake, "services/no-such-service.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


def test_the_specification_example_is_posted_and_read_back(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    key = keys["frontend:baiyun"]
    before = datetime.now(timezone.utc).replace(microsecond=0)
    answer = post(intake, key, **SPEC_EXAMPLE)
    after = datetime.now(timezone.utc)
    assert answer.status_code == 201, answer.text
    ((created),) = answer.json()
    ticket_id = created["service_request_id"]
    assert ticket_id.startswith("ZD") and created["service_notice"] is None
    (shown,) = open311(intake, f"requests/{ticket_id}.json", api_key=key).json()
    assert shown["service_request_id"] == ticket_id and shown["status"] == "open"
    assert shown["service_code"] == "drainage" and shown["service_name"] == "排水"
    assert shown["description"] == SPEC_EXAMPLE["description"]
    assert (shown["lat"], shown["long"]) == (23.1925, 113.2721)
    assert shown["address"] == "元岗路12号" and shown["media_url"] == SPEC_EXAMPLE["media_url"]
    assert before <= datetime.fromisoformat(shown["requested_datetime"]) <= after  # with its offset
    concern = own_view(intake, key, ticket_id)
    assert concern["channel"] == "open311" and concern["community"] == "yuangang"
    root = xml(open311(intake, f"requests/{ticket_id}.xml", api_key=key))
    request = root.find("request")
    assert root.tag == "service_requests" and request.findtext("service_request_id") == ticket_id
    assert request.findtext("description") == SPEC_EXAMPLE["description"]
    assert "13912340009" not in open311(intake, f"requests/{ticket_id}.json", api_key=key).text


def test_an_xml_post_naming_a_community_in_its_address_goes_to_that_community(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    key = keys["frontend:baiyun"]
    answer = post(intake, key, "xml", service_code="roads-traffic", address_string="三元里大道88号门口",
                  description="路面坑洼，电动车容易摔倒")
    assert answer.status_code == 201, answer.text
    ticket_id = xml(answer).find("request").findtext("service_request_id")
    assert own_view(intake, key, ticket_id)["community"] == "sanyuanli"
    (shown,) = open311(intake, f"requests/{ticket_id}.json", api_key=key).json()
    assert shown["address"] == "三元里大道88号门口" and shown["lat"] is None


def test_a_request_naming_no_community_goes_to_the_liaison_office(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    key = keys["frontend:baiyun"]
    answer = post(intake, key, service_code="drainage", lat="23.2", long="113.3",
                  description="河涌发臭")
    (created,) = answer.json()
    assert created["service_notice"] == "No community named: the liaison office assigns it."
    ticket_id = created["service_request_id"]
    wait_until(lambda: own_view(intake, key, ticket_id)["status"] not in ("received",),
               what="the request routed")
    concern = own_view(intake, key, ticket_id)
    assert concern["community"] is None and concern["representative"] is None
    (forwarded,) = [e for e in concern["timeline"] if e["action"] == "forward"]
    assert forwarded["to_status"] == "forwarded"
    assert forwarded["note"] == "no community named: the liaison office assigns it"
    (shown,) = open311(intake, f"requests/{ticket_id}.json", api_key=key).json()
    assert shown["status"] == "open"


def resolved_request(intake_and_routing, description, result, due=None):
    """A request posted, then resolved by baiyun-water (its dispatch ``due`` then) as
    routing announces it: ``(its id, the request shown once closed)``."""
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    directory = intake_and_routing.directory
    key = keys["frontend:baiyun"]
    (created,) = post(intake, key, **{**SPEC_EXAMPLE, "description": description}).json()
    ticket_id = created["service_request_id"]
    at = datetime.now(timezone.utc)
    ticket = made.ticket_row(ticket_id, "resolved", 99, received_at=at, result=result, resolved_at=at)
    dispatch = made.dispatch_row(ticket_id, "baiyun-water", at, status="resolved", resolved_at=at,
                                 due_at=due)
    made.publish(made.ticket_event("resolved", ticket, directory, dispatches=[dispatch]))
    (shown,) = wait_until(lambda: [r for r in open311(intake, f"requests/{ticket_id}.json",
                                                      api_key=key).json() if r["status"] == "closed"],
                          what="the request closed")
    return ticket_id, shown


def test_a_resolved_request_is_closed_with_the_result_and_its_agency(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    key = keys["frontend:baiyun"]
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=3)
    ticket_id, shown = resolved_request(intake_and_routing, "井盖缺失", "已更换井盖", due)
    assert shown["status_notes"] == "已更换井盖"
    assert shown["agency_responsible"] == "白云区水务局"
    assert datetime.fromisoformat(shown["expected_datetime"]) == due  # the lead's due time
    listed = open311(intake, "requests.json", api_key=key, status="closed").json()
    assert ticket_id in [r["service_request_id"] for r in listed]
    assert ticket_id not in [r["service_request_id"] for r in
                             open311(intake, "requests.json", api_key=key, status="open").json()]


def test_requests_are_listed_by_id_code_and_date_within_the_district(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    key = keys["frontend:baiyun"]
    first = post(intake, key, **SPEC_EXAMPLE).json()[0]["service_request_id"]
    second = post(intake, key, **{**SPEC_EXAMPLE, "service_code": "roads-traffic"}).json()[0][
        "service_request_id"]
    other = post(intake, keys["frontend:conghua"], service_code="drainage", lat="23.5",
                 long="113.5", description="从化的下水道").json()[0]["service_request_id"]
    both = open311(intake, "requests.json", api_key=key, service_request_id=f"{first},{second}")
    assert sorted(r["service_request_id"] for r in both.json()) == sorted([first, second])
    roads = open311(intake, "requests.json", api_key=key, service_code="roads-traffic").json()
    assert second in [r["service_request_id"] for r in roads]
    assert first not in [r["service_request_id"] for r in roads]
    listed = [r["service_request_id"] for r in open311(intake, "requests.json", api_key=key).json()]
    assert first in listed and other not in listed
    now = datetime.now(timezone.utc)
    old = open311(intake, "requests.json", api_key=key, start_date=(now - timedelta(days=150)).isoformat(),
                  end_date=(now - timedelta(days=100)).isoformat())
    assert old.status_code == 200 and old.json() == []
    assert open311(intake, f"tokens/{first}.json", api_key=key).json() == [
        {"service_request_id": first, "token": first}]


@pytest.mark.parametrize("fields, status, word", [
    ({"lat": "23.1", "long": "113.2", "description": "无类别"}, 400, "service_code"),
    ({"service_code": "drainage", "description": "没有位置"}, 400, "lat"),
    ({"service_code": "drainage", "lat": "91", "long": "113", "description": "x"}, 400, "lat"),
    ({"service_code": "drainage", "lat": "23", "long": "113", "description": "x" * 4001}, 400,
     "description"),
    ({"service_code": "drainage", "lat": "23", "long": "113", "description": "a\x00b"}, 400,
     "description"),
    ({"service_code": "drainage", "lat": "23", "long": "113", "description": "a\uffffb"}, 400,
     "description"),
    ({**SPEC_EXAMPLE, "media_url": "javascript:alert(document.cookie)"}, 400, "media_url"),
    ({**SPEC_EXAMPLE, "media_url": "file:///etc/passwd"}, 400, "media_url"),
    ({**SPEC_EXAMPLE, "email": "<smith@residents.example>"}, 400, "email"),
    ({**SPEC_EXAMPLE, "email": "史密斯@residents.example"}, 400, "email"),
    ({**SPEC_EXAMPLE, "phone": "+86 123"}, 400, "phone"),
    ({**SPEC_EXAMPLE, "address_string": "元岗路\x1b[31m12号"}, 400, "address_string"),
    ({"service_code": "drainage", "lat": "23", "long": "113", "description": "x",
      "attribute[community]": "jiangpu"}, 400, "attribute[community]"),
    ({"service_code": "drainage", "lat": "23", "long": "113", "description": "x",
      "jurisdiction_id": "conghua"}, 403, "jurisdiction"),
])
def test_a_bad_request_is_answered_the_specifications_way_and_stores_nothing(
        intake_and_routing, fields, status, word):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    key = keys["frontend:baiyun"]
    before = len(open311(intake, "requests.json", api_key=key).json())
    for fmt in ("json", "xml"):
        answer = post(intake, key, fmt, **fields)
        assert answer.status_code == status, answer.text
        if fmt == "json":
            ((error),) = answer.json()
            assert error["code"] == status and word in error["description"]
        else:
            root = xml(answer)
            assert root.tag == "errors" and root.findtext("error/code") == str(status)
    assert len(open311(intake, "requests.json", api_key=key).json()) == before


def test_a_refused_field_is_named_by_its_form_name_with_its_message(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    answer = post(intake, keys["frontend:baiyun"], **{**SPEC_EXAMPLE, "media_url": "file:///etc/passwd",
                                                       "phone": "12"})
    assert answer.status_code == 400, answer.text
    ((error),) = answer.json()
    assert "media_url: Not a valid URL." in error["description"]
    assert "phone: Not a phone number." in error["description"]


#: what intake took before it refused the characters XML 1.0 forbids
STORED_BEFORE = "旧\uffff数据\ufffe\x01\x0b\x1b[31m"


def test_requests_xml_parses_with_rows_stored_before_forbidden_characters_were_refused(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    key = keys["frontend:baiyun"]
    (created,) = post(intake, key, **SPEC_EXAMPLE).json()
    with psycopg.connect(settings().database_url) as conn:
        conn.execute(
            "INSERT INTO intake.concerns (ticket_id, key_id, external_id, fingerprint, district,"
            " community, channel, category, title, description, attachments, submitted_at, received_at)"
            " SELECT 'ZD20200101-0000FFFF', key_id, 'stored-before', fingerprint, district, community,"
            " channel, category, %(text)s, %(text)s, %(attachments)s, submitted_at, received_at"
            " FROM intake.concerns WHERE ticket_id = %(id)s",
            {"text": STORED_BEFORE, "id": created["service_request_id"],
             "attachments": Jsonb([{"url": "https://p.example/\uffff.jpg", "kind": "photo"}])})
        at = datetime.now(timezone.utc)
        conn.execute("INSERT INTO intake.ticket_views (ticket_id, version, ticket) VALUES (%s, 1, %s)",
                     ("ZD20200101-0000FFFF", Jsonb({"status": "in_progress", "timeline": [
                         {"at": at.isoformat(), "note": STORED_BEFORE}]})))
    shown = STORED_BEFORE.replace("\uffff", "\ufffd").replace("\ufffe", "\ufffd").replace(
        "\x01", "\ufffd").replace("\x0b", "\ufffd").replace("\x1b", "\ufffd")
    for path in ("requests.xml", "requests/ZD20200101-0000FFFF.xml"):
        answer = open311(intake, path, api_key=key)
        assert answer.status_code == 200, answer.text
        (request,) = [r for r in xml(answer).iter("request")
                      if r.findtext("service_request_id") == "ZD20200101-0000FFFF"]
        assert request.findtext("description") == shown
        assert request.findtext("address") == shown and request.findtext("status_notes") == shown
        assert request.findtext("media_url") == "https://p.example/\ufffd.jpg"


def test_requests_are_read_without_a_key_as_the_district_publishes_them(intake_and_routing):
    intake = intake_and_routing.intake
    ticket_id, whole = resolved_request(intake_and_routing, "元岗路沙井盖下陷", "已更换沙井盖")
    (public,) = open311(intake, f"requests/{ticket_id}.json").json()
    published = ("service_request_id", "status", "status_notes", "service_code", "service_name",
                 "agency_responsible", "requested_datetime", "updated_datetime", "expected_datetime")
    assert {field: public[field] for field in published} == {field: whole[field] for field in published}
    assert (public["lat"], public["long"]) == (23.192, 113.272), "the point, to 3 decimals (about 100 m)"
    assert public["description"] is public["address"] is public["media_url"] is None
    for text in (open311(intake, f"requests/{ticket_id}.json").text,
                 open311(intake, f"requests/{ticket_id}.xml").text):
        assert "13912340009" not in text and "smith@residents.example" not in text
        assert "沙井盖下陷" not in text, "the description is not published by default"
    assert xml(open311(intake, f"requests/{ticket_id}.xml")).find("request").findtext("status") == "closed"
    listed = open311(intake, "requests.json", service_request_id=ticket_id).json()
    assert [r["service_request_id"] for r in listed] == [ticket_id]
    assert open311(intake, f"tokens/{ticket_id}.json").json() == [
        {"service_request_id": ticket_id, "token": ticket_id}]


def test_a_keyless_read_covers_every_district_or_the_jurisdiction_named(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    baiyun = post(intake, keys["frontend:baiyun"], **SPEC_EXAMPLE).json()[0]["service_request_id"]
    tianhe = post(intake, keys["frontend:tianhe"], **{**SPEC_EXAMPLE, "attribute[community]": "shipai"}
                  ).json()[0]["service_request_id"]
    every = {r["service_request_id"] for r in open311(intake, "requests.json").json()}
    only_tianhe = {r["service_request_id"] for r in open311(intake, "requests.json",
                                                            jurisdiction_id="tianhe").json()}
    assert {baiyun, tianhe} <= every and tianhe in only_tianhe and baiyun not in only_tianhe
    unknown = open311(intake, "requests.json", jurisdiction_id="atlantis")
    assert unknown.status_code == 404 and unknown.json()[0]["code"] == 404
    other = open311(intake, "requests.json", api_key=keys["frontend:baiyun"], jurisdiction_id="tianhe")
    assert other.status_code == 403, "a key reads its own jurisdiction only"


def test_keyless_reads_are_limited_per_client_address(intake_and_routing):
    with running("intake", ZD_RATE_LIMIT=1) as strict:  # a burst of 2, then 1 a second
        answers = [open311(strict, "requests.json").status_code for _ in range(6)]
        keyed = open311(strict, "requests.json", api_key=intake_and_routing.keys["frontend:baiyun"])
    assert answers[:2] == [200, 200] and 429 in answers
    assert keyed.status_code == 200, "a front-end's key has a bucket of its own"


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(intake_and_routing):
    def read_as(intake, address):
        return requests.get(f"{intake}/open311/v2/requests.json", timeout=10,
                            headers={"X-Forwarded-For": address}).status_code

    with running("intake", ZD_RATE_LIMIT=1, ZD_TRUSTED_PROXIES=1) as proxied:
        first = [read_as(proxied, "203.0.113.7") for _ in range(4)]
        second = [read_as(proxied, "203.0.113.8") for _ in range(2)]
    assert 429 in first and second == [200, 200], "one resident's reads do not use another's"
    with running("intake", ZD_RATE_LIMIT=1) as direct:
        spoofed = [read_as(direct, f"203.0.113.{n}") for n in range(4)]
    assert 429 in spoofed, "without a trusted proxy, a forwarded address sent by anyone counts for nothing"


def test_a_missing_or_wrong_key_is_403(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    assert post(intake, "", service_code="drainage").status_code == 403
    answer = open311(intake, "requests.json", api_key="zd_nobody.nothing")
    assert answer.status_code == 403 and answer.json()[0]["code"] == 403
    assert open311(intake, "requests.json", api_key=keys["congress:baiyun"]).status_code == 403


def test_a_date_range_over_90_days_is_refused(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    now = datetime.now(timezone.utc)
    answer = open311(intake, "requests.json", api_key=keys["frontend:baiyun"],
                     start_date=(now - timedelta(days=120)).isoformat(), end_date=now.isoformat())
    assert answer.status_code == 400 and "90 days" in answer.json()[0]["description"]


def test_the_status_filter_applies_before_the_thousand_request_limit(intake_and_routing):
    intake, keys = intake_and_routing.intake, intake_and_routing.keys
    key = keys["frontend:baiyun"]
    closed_id, _ = resolved_request(intake_and_routing, "路灯不亮", "已修复")
    with psycopg.connect(settings().database_url) as conn:  # 1000 open requests after it
        conn.execute(
            "INSERT INTO intake.concerns (ticket_id, key_id, external_id, fingerprint, district,"
            " community, channel, category, description, submitted_at, received_at)"
            " SELECT 'ZDLIMIT-' || n, key_id, 'limit-' || n, fingerprint, district, community,"
            " channel, category, description, submitted_at, received_at + n * interval '1 microsecond'"
            " FROM intake.concerns, generate_series(1, 1000) AS n WHERE ticket_id = %s", (closed_id,))
    newest = open311(intake, "requests.json", api_key=key).json()
    assert len(newest) == 1000 and closed_id not in [r["service_request_id"] for r in newest]
    closed = open311(intake, "requests.json", api_key=key, status="closed").json()
    assert closed_id in [r["service_request_id"] for r in closed]
    assert {r["status"] for r in closed} == {"closed"}
    opened = open311(intake, "requests.json", api_key=key, status="open").json()
    assert len(opened) == 1000 and {r["status"] for r in opened} == {"open"}


def test_a_database_outage_is_503_with_retry_after_and_stores_nothing(intake_and_routing):
    keys = intake_and_routing.keys
    key = keys["frontend:baiyun"]
    with CuttableProxy(5432) as proxy, running(
            "intake", ZD_DATABASE_URL=proxy.url_for(settings().database_url)) as intake:
        count = "SELECT count(*) FROM intake.concerns"
        with psycopg.connect(settings().database_url) as conn:
            before = conn.execute(count).fetchone()[0]
        proxy.cut()
        answers = [post(intake, key, fmt, **SPEC_EXAMPLE) for fmt in ("json", "xml")] + [
            open311(intake, f"requests.{fmt}", api_key=key) for fmt in ("json", "xml")] + [
            open311(intake, "services.json")]
        proxy.restore()
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert int(answer.headers["Retry-After"]) >= 1
            assert answer.json()["retry_after"] == int(answer.headers["Retry-After"])
            assert "127.0.0.1" not in answer.text and str(proxy.port) not in answer.text
        with psycopg.connect(settings().database_url) as conn:
            assert conn.execute(count).fetchone()[0] == before
        assert wait_until(lambda: post(intake, key, **SPEC_EXAMPLE).status_code == 201,
                          timeout=30, what="intake taking requests again")
