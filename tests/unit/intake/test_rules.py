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

