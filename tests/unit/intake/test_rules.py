"""Intake's schema and directory rules, with no broker or database."""
import pytest
from marshmallow import ValidationError

from services.common.directory import load_directory
from services.common.errors import BadRequest, Forbidden
from services.intake import domain
from services.intake.schemas import ConcernSchema
from tests.support.system import DEMO_DIRECTORY


@pytest.fixture(scope="module")
def directory():
    return load_directory(DEMO_DIRECTORY)


def concern(**overrides):
    body = {"external_id": "x-1", "district": "baiyun", "community": "yuangang",
            "channel": "hotline", "description": "路灯不亮"}
    body.update(overrides)
    return body


def test_minimal_concern_loads():
    assert ConcernSchema().load(concern())["channel"] == "hotline"


@pytest.mark.parametrize("field,value", [
    ("channel", "fax"), ("description", ""), ("description", "   "), ("description", "x" * 5001),
    ("external_id", ""), ("location", {"lat": 91, "lon": 0}), ("location", {"lat": 0, "lon": 181}),
    ("attachments", [{"url": "ftp://example.org/a.jpg", "kind": "photo"}]),
    ("attachments", [{"url": "https://example.org/a.jpg", "kind": "hologram"}]),
    ("attachments", [{"url": "https://example.org/a.jpg", "kind": "photo"}] * 11),
    ("submitted_at", "yesterday"), ("title", "t" * 201), ("unexpected", 1)])
def test_bad_field_is_reported_by_name(field, value):
    with pytest.raises(ValidationError) as invalid:
        ConcernSchema().load(concern(**{field: value}))
    assert field in invalid.value.messages


@pytest.mark.parametrize("email", [
    "<li@example.org>",  # email.headerregistry.Address raises HeaderParseError
    "li@@example.org", "李@example.org", "li@", "li@example.org>", "li@[1.2.3.4"])
def test_an_email_address_mail_cannot_be_sent_to_is_refused(email):
    with pytest.raises(ValidationError) as invalid:
        ConcernSchema().load(concern(reporter={"email": email}))
    assert invalid.value.messages == {"reporter": {"email": ["Not a valid email address."]}}


@pytest.mark.parametrize("phone", ["+86 123", "12345", "+86139", "1-800-FLOWERS", "+8613912340001x"])
def test_a_number_no_message_could_reach_is_refused(phone):
    with pytest.raises(ValidationError) as invalid:
        ConcernSchema().load(concern(reporter={"phone": phone}))
    assert invalid.value.messages == {"reporter": {"phone": ["Not a phone number."]}}


@pytest.mark.parametrize("phone", ["+8613912340001", "13912340001", "139 1234 0001",
                                   "+86 139-1234-0001", "020-12345678", "+442079460958"])
@pytest.mark.parametrize("email", ["li@example.org", "o'hara+zd@mail.example.org", "li@例子.中国"])
def test_contacts_as_people_write_them_load_unchanged(phone, email):
    reporter = ConcernSchema().load(concern(reporter={"phone": phone, "email": email}))["reporter"]
    assert (reporter["phone"], reporter["email"]) == (phone, email)


def test_missing_required_fields_are_all_reported():
    with pytest.raises(ValidationError) as invalid:
        ConcernSchema().load({})
    assert set(invalid.value.messages) == {"external_id", "district", "community", "channel",
                                           "description"}


def test_concern_for_another_district_is_forbidden(directory):
    with pytest.raises(Forbidden):
        domain.check_concern(concern(district="tianhe"), directory, "baiyun")


def test_community_of_another_district_is_a_field_error(directory):
    with pytest.raises(BadRequest) as bad:
        domain.check_concern(concern(community="shipai"), directory, "baiyun")
    assert "community" in bad.value.errors


def test_unknown_category_and_foreign_representative_are_field_errors(directory):
    with pytest.raises(BadRequest) as bad:
        domain.check_concern(concern(category="weather", requested_representative="rep-li-guorong"),
                             directory, "baiyun")
    assert set(bad.value.errors) == {"category", "requested_representative"}


def test_same_body_has_same_fingerprint_whatever_the_key_order():
    assert domain.fingerprint({"a": 1, "b": "二"}) == domain.fingerprint({"b": "二", "a": 1})

