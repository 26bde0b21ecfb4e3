"""An Open311 form is read into a concern and checked by the concern schema, as the JSON
API's body is; a refused field is named by its form name."""
import pytest

from services.common.directory import load_directory
from services.common.directory_schema import OPEN311_PUBLIC
from services.common.errors import BadRequest
from services.intake.open311.requests import PUBLIC_FIELDS, concern_from_form, public_service_request
from tests.support.system import DEMO_DIRECTORY

FORM = {"service_code": "drainage", "lat": "23.1925", "long": "113.2721",
        "address_string": "元岗路12号", "description": "沙井盖下陷，污水外溢",
        "email": "smith@residents.example", "phone": "+8613912340009",
        "first_name": "john", "last_name": "smith", "attribute[community]": "yuangang",
        "media_url": "https://photos.residents.example/manhole.jpg"}


@pytest.fixture(scope="module")
def directory():
    return load_directory(DEMO_DIRECTORY)


def refused(directory, **fields):
    with pytest.raises(BadRequest) as bad:
        concern_from_form({**FORM, **fields}, directory, "baiyun")
    return bad.value.errors


def test_the_specification_example_is_a_concern(directory):
    concern = concern_from_form(FORM, directory, "baiyun")
    assert concern["community"] == "yuangang" and concern["channel"] == "open311"
    assert concern["attachments"] == [{"url": FORM["media_url"], "kind": "photo"}]
    assert concern["reporter"] == {"name": "john smith", "email": FORM["email"],
                                   "phone": FORM["phone"], "wants_feedback": True, "locale": "zh-CN"}
    assert concern["location"] == {"lat": 23.1925, "lon": 113.2721, "address": "元岗路12号"}


def test_a_request_naming_no_community_is_a_concern_without_one(directory):
    form = {key: value for key, value in FORM.items() if key != "attribute[community]"}
    assert concern_from_form({**form, "address_string": "某路1号"}, directory, "baiyun")[
        "community"] is None


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "file:///etc/passwd",
                                 "ftp://photos.residents.example/a.jpg", "data:image/png;base64,AAAA",
                                 "photos.residents.example/a.jpg"])
def test_media_url_is_http_or_https_only(directory, url):
    assert refused(directory, media_url=url) == {"media_url": ["Not a valid URL."]}


@pytest.mark.parametrize("fields, errors", [
    ({"email": "<smith@residents.example>"}, {"email": ["Not a valid email address."]}),
    ({"email": "史密斯@residents.example"}, {"email": ["Not a valid email address."]}),
    ({"phone": "+86 123"}, {"phone": ["Not a phone number."]}),
    ({"phone": "12", "email": "x@"}, {"phone": ["Not a phone number."],
                                      "email": ["Not a valid email address."]}),
])
def test_a_contact_is_checked_as_the_json_api_checks_it(directory, fields, errors):
    assert refused(directory, **fields) == errors


def test_form_checks_and_schema_checks_are_answered_together(directory):
    errors = refused(directory, service_code="weather", media_url="file:///x", phone="1")
    assert set(errors) == {"service_code", "media_url", "phone"}


SHOWN = {"service_request_id": "ZD20261205-0000AAAA", "status": "open", "status_notes": "已派单",
         "service_name": "排水", "service_code": "drainage", "description": "元岗路12号沙井盖下陷",
         "agency_responsible": "白云区水务局", "service_notice": None,
         "requested_datetime": "2026-12-05T08:00:00+08:00", "updated_datetime": "2026-12-05T09:00:00+08:00",
         "expected_datetime": "2026-12-08T09:00:00+08:00", "address": "元岗路12号", "address_id": None,
         "zipcode": None, "lat": 23.19254, "long": 113.27216, "media_url": "https://p.example/1.jpg"}


def test_a_keyless_reader_sees_what_the_default_policy_publishes(directory):
    public = public_service_request(SHOWN, directory["policy"]["open311_public"])
    assert public.keys() == SHOWN.keys()
    hidden = {field for field, value in public.items() if value is None and SHOWN[field] is not None}
    assert hidden == {"description", "address", "media_url"}
    assert (public["lat"], public["long"]) == (23.193, 113.272)
    assert public["status_notes"] == "已派单" and public["agency_responsible"] == "白云区水务局"


def test_a_district_that_publishes_nothing_shows_the_request_id_alone():
    public = public_service_request(SHOWN, [])
    assert {field for field, value in public.items() if value is not None} == {"service_request_id"}


def test_a_district_may_publish_the_description_address_and_photo():
    public = public_service_request(SHOWN, ["description", "address", "media"])
    assert (public["description"], public["address"], public["media_url"]) == (
        SHOWN["description"], SHOWN["address"], SHOWN["media_url"])
    assert public["status"] is None and public["lat"] is None


def test_every_name_the_policy_accepts_shows_some_field():
    assert set(PUBLIC_FIELDS) == set(OPEN311_PUBLIC)
    assert all(set(fields) <= SHOWN.keys() for fields in PUBLIC_FIELDS.values())
