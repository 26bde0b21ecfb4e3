"""Unit tests of the directory's people (docs/reference.md#the-directory): the staff of
offices and departments, every person's id once across the directory, web delivery."""
import copy

import pytest

from services.common.directory import parse_directory, with_current_defaults
from tests.unit.common.test_directory import dump, line_of, messages, problems, small

WU = {"id": "office-baiyun-wu", "name": "吴敏",
      "contact": {"phone": "+8613900000001", "email": "wu.min@rd.baiyun.example"}}
HE = {"id": "water-baiyun-he", "name": "何平", "contact": {"email": "he@water.baiyun.example"}}


def with_staff(office=(WU,), department=(HE,)):
    directory = small()
    directory["districts"][0]["office"]["staff"] = [dict(member) for member in office]
    directory["departments"][0]["staff"] = [dict(member) for member in department]
    return directory


def test_office_and_department_staff_are_kept_as_given():
    snapshot = parse_directory(dump(with_staff()))
    assert snapshot["districts"]["baiyun"]["office"]["staff"] == [WU]
    assert snapshot["departments"]["baiyun-water"]["staff"] == [HE]


def test_a_staff_member_without_a_contact_has_an_empty_one():
    snapshot = parse_directory(dump(with_staff(office=[{"id": "office-baiyun-li", "name": "李"}])))
    assert snapshot["districts"]["baiyun"]["office"]["staff"] == [
        {"id": "office-baiyun-li", "name": "李", "contact": {}}]


def test_an_unknown_key_of_a_staff_member_is_an_error_at_its_line():
    text = dump(with_staff(office=[{**WU, "mobile": "123"}]))
    assert problems(text) == [
        f"test.yaml:{line_of(text, 'mobile')}: unknown key 'mobile' in staff member"]


@pytest.mark.parametrize("member, message", [
    ({"name": "吴敏"}, "missing key 'id' in staff member"),
    ({"id": "office-baiyun-wu"}, "missing key 'name' in staff member"),
    ({"id": "Office Wu", "name": "吴敏"}, "id must be 1-32 of a-z 0-9 _ -, not 'Office Wu'"),
    ({**WU, "contact": {"email": "wu@"}}, "email 'wu@' is not an email address"),
])
def test_a_bad_staff_member_is_refused(member, message):
    assert messages(with_staff(office=[member])) == [message]


def test_staff_must_be_a_list():
    directory = small()
    directory["departments"][0]["staff"] = WU
    assert messages(directory) == ["staff must be a list"]


@pytest.mark.parametrize("where", ["office", "department", "both"])
def test_a_staff_id_given_twice_is_an_error_at_the_second(where):
    again = {**WU, "name": "又一个吴敏"}
    office = [WU, again] if where == "office" else [WU]
    department = [HE, {**HE, "name": "又一个何平"}] if where == "department" else [HE]
    if where == "both":
        department = [again]
    text = dump(with_staff(office, department))
    name = "又一个何平" if where == "department" else "又一个吴敏"
    first = line_of(text, "id: water-baiyun-he" if where == "department" else "id: office-baiyun-wu")
    second = next(number for number, row in enumerate(text.splitlines(), 1)
                  if name in row) - 1  # the id is written on the line above the name
    person = "water-baiyun-he" if where == "department" else "office-baiyun-wu"
    assert problems(text) == [
        f"test.yaml:{second}: person id {person!r} is given twice (first at test.yaml:{first})"]


def test_a_staff_id_that_is_a_representatives_is_an_error():
    directory = with_staff(department=[{**HE, "id": "rep-liu"}])
    text = dump(directory)
    first = line_of(text, "id: rep-liu")
    (problem,) = problems(text)
    assert problem.endswith(f"person id 'rep-liu' is given twice (first at test.yaml:{first})")
    assert int(problem.split(":")[1]) > first


def test_a_representative_given_twice_is_reported_once():
    directory = small()
    directory["representatives"].append(dict(directory["representatives"][0]))
    assert messages(directory) == ["duplicate representative 'rep-liu'"]


def test_person_ids_are_unique_across_files(tmp_path):
    from services.common.directory import DirectoryError, load_directory
    (tmp_path / "a.yaml").write_text(dump(with_staff()), encoding="utf-8")
    more = {"departments": [{"code": "baiyun-street", "name": "街道办", "districts": ["baiyun"],
                             "categories": ["drainage"], "delivery": "web",
                             "staff": [{"id": "office-baiyun-wu", "name": "吴敏"}]}]}
    (tmp_path / "b.yaml").write_text(dump(more), encoding="utf-8")
    with pytest.raises(DirectoryError) as raised:
        load_directory([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    first = line_of(dump(with_staff()), "id: office-baiyun-wu")
    (problem,) = raised.value.errors
    assert problem.startswith(f"{tmp_path / 'b.yaml'}:")
    assert problem.endswith(f"person id 'office-baiyun-wu' is given twice"
                            f" (first at {tmp_path / 'a.yaml'}:{first})")


# Web delivery


def test_web_delivery_is_a_third_mode():
    directory = with_staff()
    directory["departments"][0]["delivery"] = "web"
    department = parse_directory(dump(directory))["departments"]["baiyun-water"]
    assert department["delivery"] == "web" and department["webhook"] is None
    assert department["staff"] == [HE]


def test_a_webhook_for_web_delivery_is_refused():
    directory = small()
    directory["departments"][0].update(
        delivery="web", webhook={"url": "https://example.org/hook", "secret": "whsec_c2VjcmV0"})
    text = dump(directory)
    assert problems(text) == [
        f"test.yaml:{line_of(text, 'url: https')}: webhook is given but delivery is web"]


def test_an_unknown_delivery_names_the_three():
    directory = small()
    directory["departments"][0]["delivery"] = "fax"
    assert messages(directory) == ["delivery must be one of amqp, webhook, web, not 'fax'"]


# Snapshots published before staff existed


def test_a_snapshot_published_before_staff_existed_reads_with_none():
    published = parse_directory(dump(with_staff()))
    old = copy.deepcopy(published)
    del old["districts"]["baiyun"]["office"]["staff"]
    del old["departments"]["baiyun-water"]["staff"]
    read = with_current_defaults(old)
    assert read["districts"]["baiyun"]["office"]["staff"] == []
    assert read["departments"]["baiyun-water"]["staff"] == []
    assert "staff" not in old["departments"]["baiyun-water"]  # not changed in place
    assert with_current_defaults(published)["departments"] == published["departments"]
