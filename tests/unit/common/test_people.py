"""Unit tests of services.common.people: the persons who sign in, and the party each acts for."""
from pathlib import Path

import pytest

from services.common.credentials import Party
from services.common.directory import load_directory
from services.common.people import Person, find_person, people

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "directory.yaml"


@pytest.fixture(scope="module")
def demo():
    return load_directory(DEMO)


def test_a_representative_signs_in_for_themselves(demo):
    person = find_person(demo, "rep-liu-hanli")
    assert person == Person("rep-liu-hanli", "刘汉立", "representative", "rep-liu-hanli",
                            demo["representatives"]["rep-liu-hanli"]["contact"])
    assert person.party == "representative:rep-liu-hanli"


def test_an_office_staff_member_acts_for_the_districts_office(demo):
    person = find_person(demo, "office-baiyun-wu")
    assert (person.name, person.role, person.scope, person.party) == (
        "吴敏", "congress", "baiyun", "congress:baiyun")
    assert person.contact["phone"].startswith("+86139")


def test_a_department_staff_member_acts_for_the_department(demo):
    person = find_person(demo, "street-jingtai-liang")
    assert person.party == "department:baiyun-jingtai-street"
    assert demo["departments"]["baiyun-jingtai-street"]["delivery"] == "web"


def test_the_party_is_written_as_credentials_write_it(demo):
    for person in people(demo):
        assert str(Party.parse(person.party)) == person.party


def test_nobody_of_an_unknown_id(demo):
    assert find_person(demo, "office-nobody") is None
    assert find_person(demo, "baiyun") is None  # a district's code is no person's id


def test_every_person_of_the_demo_once_representatives_first(demo):
    found = people(demo)
    ids = [person.id for person in found]
    assert len(ids) == len(set(ids))
    assert ids[:len(demo["representatives"])] == list(demo["representatives"])
    offices = {person.scope for person in found if person.role == "congress"}
    assert offices == set(demo["districts"])  # every office of the demo has its staff
    assert {"water-baiyun-he", "street-jingtai-liang"} <= set(ids)


def test_a_snapshot_without_staff_has_its_representatives_only(demo):
    old = {"representatives": demo["representatives"],
           "districts": {code: {**district, "office": {"name": district["office"]["name"]}}
                         for code, district in demo["districts"].items()},
           "departments": {code: {key: value for key, value in department.items() if key != "staff"}
                           for code, department in demo["departments"].items()}}
    assert [person.role for person in people(old)] == ["representative"] * len(demo["representatives"])
    assert find_person(old, "office-baiyun-wu") is None
