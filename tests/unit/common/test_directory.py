"""Unit tests of services.common.directory: the directory file (docs/reference.md#the-directory)."""
import datetime
import json
import textwrap
from pathlib import Path

import pytest
import yaml

from services.common.directory import (
    DirectoryError,
    load_directory,
    parse_directory,
    with_current_defaults,
)

#: the likely-duplicate, personal-data and Open311 policy, as every test directory leaves it
DUPLICATE_DEFAULTS = {"duplicates": "ignore", "duplicate_days": 14, "duplicate_radius_m": 200,
                      "duplicate_suggest": 0.35, "duplicate_auto_merge": 0.7,
                      "personal_data_days": 180,
                      "open311_public": ["status", "service", "times", "agency", "status_notes", "point"]}

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "directory.yaml"

SMALL = textwrap.dedent("""\
    districts:
      - code: baiyun
        name: 白云区
        communities:
          - code: yuangang
            name: 元岗社区
            representatives: [rep-liu, rep-zhao]
        office:
          name: 白云区人大常委会代表联络室
    representatives:
      - id: rep-liu
        name: 刘汉立
        district: baiyun
      - id: rep-zhao
        name: 赵敏
        district: baiyun
    categories:
      - code: drainage
        name: 排水
        keywords: [下水道, sewer]
    departments:
      - code: baiyun-water
        name: 白云区水务局
        districts: [baiyun]
        categories: [drainage]
    """)


def small():
    """The small directory above as data, for a test to change and dump."""
    return yaml.safe_load(SMALL)


def dump(directory):
    return yaml.safe_dump(directory, allow_unicode=True, sort_keys=False)


def problems(directory):
    """The error lines that parsing a directory (text or data) raises."""
    text = directory if isinstance(directory, str) else dump(directory)
    with pytest.raises(DirectoryError) as raised:
        parse_directory(text, source="test.yaml")
    assert str(raised.value) == "\n".join(raised.value.errors)
    return raised.value.errors


def messages(directory):
    """The error messages, without their "file:line: " prefix."""
    return [error.split(": ", 1)[1] for error in problems(directory)]


def reports(directory, fragment):
    """Whether some error message says fragment."""
    return any(fragment in message for message in messages(directory))


def line_of(text, fragment):
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def second_district(directory):
    directory["districts"].append({
        "code": "tianhe", "name": "天河区", "communities": [], "office": {"name": "天河区联络室"}})
    directory["representatives"].append({"id": "rep-huang", "name": "黄晓燕", "district": "tianhe"})
    return directory


# The demo directory shipped in deploy/


@pytest.fixture(scope="module")
def demo():
    return load_directory(DEMO)


def test_demo_directory_loads(demo):
    assert list(demo["districts"]) == ["baiyun", "tianhe", "conghua"]
    assert sum(len(d["communities"]) for d in demo["districts"].values()) >= 12
    assert len(demo["representatives"]) >= 8
    assert len(demo["departments"]) >= 10
    assert list(demo["categories"]) == [
        "drainage", "roads-traffic", "parking", "sanitation", "greening", "power-supply",
        "water-supply", "property-management", "elderly-care", "education", "public-security",
        "household-registration", "neighbourhood"]


def test_demo_snapshot_is_json_serialisable(demo):
    assert json.loads(json.dumps(demo)) == demo


def test_every_category_has_a_department_in_every_district(demo):
    for district in demo["districts"]:
        for category in demo["categories"]:
            assert any(category in department["categories"]
                       and (district in department["districts"] or department["districts"] == ["*"])
                       for department in demo["departments"].values()), (district, category)


def test_demo_communities_list_one_or_two_representatives_of_their_district(demo):
    for district in demo["districts"].values():
        for community in district["communities"].values():
            assert 1 <= len(community["representatives"]) <= 2
            for rep_id in community["representatives"]:
                assert demo["representatives"][rep_id]["district"] == district["code"]


def test_demo_shows_overflow_webhook_and_auto_forward(demo):
    assert any(rep["max_open"] <= 5 for rep in demo["representatives"].values())
    webhooks = [d for d in demo["departments"].values() if d["delivery"] == "webhook"]
    assert webhooks and webhooks[0]["webhook"]["url"].startswith("http://127.0.0.1:8025/webhooks/")
    assert demo["districts"]["conghua"]["policy"]["auto_forward"] is True
    assert demo["districts"]["baiyun"]["policy"]["auto_forward"] is False
    assert demo["policy"]["calendar"]["hours"] == "09:00-18:00"
    assert demo["policy"]["calendar"]["official_holidays"] == "CN"


def test_demo_keywords_are_chinese_first_then_english(demo):
    for category in demo["categories"].values():
        assert not category["keywords"][0].isascii()
        assert any(keyword.isascii() for keyword in category["keywords"])
    assert {"违停", "乱停车"} <= set(demo["categories"]["parking"]["keywords"])


# Normalized snapshot and defaults


def test_small_directory_is_normalized_with_defaults():
    directory = parse_directory(SMALL)
    assert directory["districts"]["baiyun"]["communities"]["yuangang"] == {
        "code": "yuangang", "name": "元岗社区", "representatives": ["rep-liu", "rep-zhao"]}
    assert directory["districts"]["baiyun"]["office"] == {"name": "白云区人大常委会代表联络室", "contact": {},
                                                          "staff": []}
    assert directory["representatives"]["rep-liu"] == {
        "id": "rep-liu", "name": "刘汉立", "district": "baiyun", "max_open": 50, "contact": {}}
    assert directory["departments"]["baiyun-water"] == {
        "code": "baiyun-water", "name": "白云区水务局", "districts": ["baiyun"],
        "categories": ["drainage"], "due_hours": 72, "delivery": "amqp", "webhook": None,
        "contact": {}, "staff": []}
    defaults = {"representative_hours": 24, "congress_hours": 8, "auto_forward": False,
                "auto_dispatch": True, "reopen_limit": 2, "timezone": "Asia/Shanghai",
                "calendar": None, "category_confidence": 0.6, **DUPLICATE_DEFAULTS}
    assert directory["policy"] == defaults
    assert directory["districts"]["baiyun"]["policy"] == defaults


def test_community_without_representatives_is_allowed():
    directory = small()
    del directory["districts"][0]["communities"][0]["representatives"]
    assert parse_directory(dump(directory))["districts"]["baiyun"]["communities"]["yuangang"][
        "representatives"] == []


def test_contact_keeps_the_channels_given():
    directory = small()
    contact = {"email": "liu@rd.example", "phone": "+8613800000001", "wechat_openid": "o-liu",
               "locale": "en"}
    directory["representatives"][0]["contact"] = contact
    assert parse_directory(dump(directory))["representatives"]["rep-liu"]["contact"] == contact


def test_contact_locale_must_be_one_notify_speaks():
    directory = small()
    directory["representatives"][0]["contact"] = {"email": "liu@rd.example", "locale": "fr"}
    (problem,) = problems(dump(directory))
    assert problem.endswith("locale 'fr' is not one of zh-CN, en")


# Line numbers and reporting


def test_unknown_key_is_reported_with_its_line():
    text = SMALL.replace("    district: baiyun\n  - id: rep-zhao",
                         "    district: baiyun\n    mobile: 123\n  - id: rep-zhao")
    line = line_of(text, "mobile")
    assert problems(text) == [f"test.yaml:{line}: unknown key 'mobile' in representative"]


def test_unknown_top_level_key_is_reported():
    assert problems(SMALL + "settings: {}\n") == [
        f"test.yaml:{len(SMALL.splitlines()) + 1}: unknown key 'settings' in directory"]


def test_missing_required_key_is_reported_at_its_mapping():
    text = SMALL.replace("    name: 排水\n", "")
    line = line_of(text, "code: drainage")
    assert problems(text) == [f"test.yaml:{line}: missing key 'name' in category"]


def test_empty_value_is_reported_at_its_key_line():
    text = SMALL.replace("name: 赵敏", "name:")
    line = next(number for number, row in enumerate(text.splitlines(), 1) if row.endswith("name:"))
    assert problems(text) == [f"test.yaml:{line}: name must be a non-empty string, not nothing"]


def test_every_problem_is_reported_at_once_in_line_order():
    text = SMALL.replace("code: yuangang", "code: Yuangang")
    text = text.replace("name: 排水", "name: 排水\n    color: red")
    errors = problems(text)
    assert len(errors) == 2
    assert errors[0].startswith(f"test.yaml:{line_of(text, 'Yuangang')}: code must be")
    assert errors[1] == f"test.yaml:{line_of(text, 'color')}: unknown key 'color' in category"


def test_yaml_syntax_error_is_reported_with_its_line():
    errors = problems("districts:\n  - code: [baiyun\n    name: x\n")
    assert len(errors) == 1 and errors[0].startswith("test.yaml:") and "invalid YAML" in errors[0]


def test_empty_file_is_rejected():
    assert problems("") == ["test.yaml:1: the directory file is empty"]


def test_duplicate_key_in_a_mapping_is_rejected():
    text = SMALL.replace("    name: 刘汉立\n", "    name: 刘汉立\n    name: 汉立\n")
    line = line_of(text, "name: 汉立")
    assert problems(text) == [f"test.yaml:{line}: duplicate key 'name' in representative"]


# Codes and references


@pytest.mark.parametrize("code", ["Baiyun", "bai yun", "白云", "a" * 33, "", 42])
def test_bad_code_is_rejected(code):
    directory = small()
    directory["districts"][0]["code"] = code
    assert reports(directory, "code must be")


def test_duplicate_codes_are_rejected():
    directory = small()
    directory["categories"].append(dict(directory["categories"][0]))
    directory["representatives"].append(dict(directory["representatives"][0]))
    directory["departments"].append(dict(directory["departments"][0]))
    errors = problems(directory)
    assert len(errors) == 3
    assert any("duplicate category 'drainage'" in error for error in errors)
    assert any("duplicate representative 'rep-liu'" in error for error in errors)
    assert any("duplicate department 'baiyun-water'" in error for error in errors)


def test_community_codes_are_unique_within_their_district_only():
    directory = second_district(small())
    directory["districts"][1]["communities"] = [{"code": "yuangang", "name": "天河元岗"}]
    assert "yuangang" in parse_directory(dump(directory))["districts"]["tianhe"]["communities"]
    directory["districts"][0]["communities"].append({"code": "yuangang", "name": "又一个"})
    assert messages(directory) == ["duplicate community 'yuangang'"]


def test_representative_of_another_district_is_rejected():
    directory = second_district(small())
    directory["districts"][0]["communities"][0]["representatives"].append("rep-huang")
    assert messages(directory) == [
        "representative 'rep-huang' belongs to district 'tianhe', not 'baiyun'"]


def test_unknown_representative_in_a_community_is_rejected():
    directory = small()
    directory["districts"][0]["communities"][0]["representatives"] = ["rep-liu", "rep-nobody"]
    assert messages(directory) == ["unknown representative 'rep-nobody'"]


def test_representative_listed_twice_in_a_community_is_rejected():
    directory = small()
    directory["districts"][0]["communities"][0]["representatives"] = ["rep-liu", "rep-liu"]
    assert reports(directory, "listed twice")


def test_representative_of_unknown_district_is_rejected():
    directory = small()
    directory["representatives"][1]["district"] = "haizhu"
    assert messages(directory) == ["unknown district 'haizhu'"]


def test_district_needs_an_office_with_a_name():
    directory = small()
    del directory["districts"][0]["office"]
    assert messages(directory) == ["missing key 'office' in district"]
    directory = small()
    directory["districts"][0]["office"] = {"contact": {"email": "office@rd.example"}}
    assert messages(directory) == ["missing key 'name' in office"]


def test_category_needs_non_empty_keywords():
    directory = small()
    directory["categories"][0]["keywords"] = []
    assert messages(directory) == ["keywords must not be empty"]
    directory["categories"][0]["keywords"] = ["下水道", ""]
    assert reports(directory, "each keyword must be a non-empty string")


def test_department_references_must_exist():
    directory = small()
    directory["departments"][0].update(districts=["haizhu"], categories=["drainage", "noise"])
    assert sorted(messages(directory)) == [
        "unknown category 'noise'", "unknown district 'haizhu'"]


def test_city_wide_department_uses_a_lone_star():
    directory = small()
    directory["departments"][0]["districts"] = ["*"]
    assert parse_directory(dump(directory))["departments"]["baiyun-water"]["districts"] == ["*"]
    directory["departments"][0]["districts"] = ["*", "baiyun"]
    assert reports(directory, "'*' must be the only entry")


def test_department_needs_districts_and_categories():
    directory = small()
    directory["departments"][0].update(districts=[], categories=[])
    assert sorted(messages(directory)) == [
        "categories must not be empty", "districts must not be empty"]


# Delivery


def test_webhook_delivery_requires_url_and_secret():
    directory = small()
    directory["departments"][0]["delivery"] = "webhook"
    assert reports(directory, "requires webhook")
    directory["departments"][0]["webhook"] = {"url": "http://127.0.0.1:9099/hooks/water"}
    assert messages(directory) == ["missing key 'secret' in webhook"]
    directory["departments"][0]["webhook"]["secret"] = "whsec_c2VjcmV0"
    assert parse_directory(dump(directory))["departments"]["baiyun-water"]["webhook"] == {
        "url": "http://127.0.0.1:9099/hooks/water", "secret": "whsec_c2VjcmV0"}


def test_webhook_url_must_be_http():
    directory = small()
    webhook = {"url": "ftp://x/y", "secret": "s"}
    directory["departments"][0].update(delivery="webhook", webhook=webhook)
    assert reports(directory, "url must be an http(s) URL")


def test_webhook_with_amqp_delivery_is_rejected():
    directory = small()
    directory["departments"][0]["webhook"] = {"url": "https://example.org/hook", "secret": "s"}
    assert messages(directory) == ["webhook is given but delivery is amqp"]


def test_unknown_delivery_is_rejected():
    directory = small()
    directory["departments"][0]["delivery"] = "fax"
    assert reports(directory, "delivery must be one of amqp, webhook")


# Types


def test_bool_is_not_an_integer():
    directory = small()
    directory["representatives"][0]["max_open"] = True
    assert messages(directory) == [
        "max_open must be an integer >= 1, not true (bool)"]


@pytest.mark.parametrize("due_hours", [0, -5, 1.5, "72"])
def test_due_hours_must_be_a_positive_integer(due_hours):
    directory = small()
    directory["departments"][0]["due_hours"] = due_hours
    assert reports(directory, "due_hours must be an integer >= 1")


def test_quoted_bool_is_not_a_bool():
    text = SMALL + 'policy:\n  auto_forward: "true"\n'
    line = line_of(text, "auto_forward")
    assert problems(text) == [f"test.yaml:{line}: auto_forward must be true or false, not 'true'"]


def test_unquoted_phone_is_not_a_string():
    text = SMALL.replace("    name: 赵敏\n", "    name: 赵敏\n    contact: {phone: +8613800000001}\n")
    line = line_of(text, "phone")
    assert problems(text) == [
        f"test.yaml:{line}: phone must be a non-empty string, not +8613800000001 (int)"]


@pytest.mark.parametrize("email", ["liu.example.org", "liu@", "liu@rd..example", "a b@rd.example",
                                   "liu@rd@example", "刘@rd.example", "liu@rd.example\n"])
def test_a_contact_email_notify_could_not_write_is_refused_with_its_line(email):
    directory = small()
    directory["representatives"][0]["contact"] = {"email": email}
    text = dump(directory)
    line = line_of(text, "email:")
    assert problems(text) == [f"test.yaml:{line}: email {email!r} is not an email address"]


def test_a_contact_email_intake_would_take_is_kept():
    directory = small()
    directory["representatives"][0]["contact"] = {"email": "liu.hanli+rd@例子.中国"}
    assert parse_directory(dump(directory))["representatives"]["rep-liu"]["contact"] == {
        "email": "liu.hanli+rd@例子.中国"}


# Policy


def test_district_policy_overrides_top_level_policy():
    directory = small()
    directory["policy"] = {"representative_hours": 48, "timezone": "Asia/Urumqi"}
    directory["districts"][0]["policy"] = {"auto_forward": True, "congress_hours": 4.5}
    snapshot = parse_directory(dump(directory))
    assert snapshot["policy"] == {
        "representative_hours": 48, "congress_hours": 8, "auto_forward": False,
        "auto_dispatch": True, "reopen_limit": 2, "timezone": "Asia/Urumqi", "calendar": None,
        "category_confidence": 0.6, **DUPLICATE_DEFAULTS}
    assert snapshot["districts"]["baiyun"]["policy"] == {
        **snapshot["policy"], "auto_forward": True, "congress_hours": 4.5}


def test_district_may_switch_the_calendar_off():
    directory = small()
    directory["policy"] = {"calendar": {"workdays": [1, 2, 3, 4, 5], "hours": "09:00-18:00"}}
    directory["districts"][0]["policy"] = {"calendar": None}
    snapshot = parse_directory(dump(directory))
    assert snapshot["policy"]["calendar"] == {
        "workdays": [1, 2, 3, 4, 5], "hours": "09:00-18:00", "holidays": [], "extra_workdays": [],
        "official_holidays": None}
    assert snapshot["districts"]["baiyun"]["policy"]["calendar"] is None


def test_bad_timezone_is_rejected():
    directory = small()
    directory["policy"] = {"timezone": "China/Beijing"}
    assert messages(directory) == [
        "timezone 'China/Beijing' is not a known IANA time zone"]


@pytest.mark.parametrize("hours",
                         ["18:00-09:00", "09:00-09:00", "9-18", "09:00-24:30", "0900-1800"])
def test_bad_calendar_hours_are_rejected(hours):
    directory = small()
    directory["policy"] = {"calendar": {"workdays": [1, 2, 3, 4, 5], "hours": hours}}
    assert messages(directory) == [
        f'hours must be "HH:MM-HH:MM" with start before end, not {hours!r}']


@pytest.mark.parametrize("workdays", [[0, 1], [1, 8], [1, 1], [], ["monday"], [True]])
def test_calendar_workdays_must_be_distinct_iso_weekdays(workdays):
    directory = small()
    directory["policy"] = {"calendar": {"workdays": workdays, "hours": "09:00-18:00"}}
    assert problems(directory)


def test_calendar_holidays_accept_yaml_dates_and_strings():
    directory = small()
    directory["policy"] = {"calendar": {"workdays": [1, 2, 3, 4, 5, 6], "hours": "08:30-17:30",
                                        "holidays": [datetime.date(2026, 10, 1), "2026-10-02"]}}
    calendar = parse_directory(dump(directory))["policy"]["calendar"]
    assert calendar == {"workdays": [1, 2, 3, 4, 5, 6], "hours": "08:30-17:30",
                        "holidays": ["2026-10-01", "2026-10-02"], "extra_workdays": [],
                        "official_holidays": None}


def test_calendar_takes_make_up_workdays_and_the_official_calendar():
    directory = small()
    directory["policy"] = {"calendar": {"workdays": [1, 2, 3, 4, 5], "hours": "09:00-18:00",
                                        "extra_workdays": [datetime.date(2026, 9, 20)],
                                        "official_holidays": "CN"}}
    calendar = parse_directory(dump(directory))["policy"]["calendar"]
    assert calendar["extra_workdays"] == ["2026-09-20"] and calendar["official_holidays"] == "CN"
    directory["policy"]["calendar"]["official_holidays"] = "JP"
    assert messages(directory) == ["official_holidays must be one of CN or null, not 'JP'"]


@pytest.mark.parametrize("holiday", ["2026-02-30", "1 October", 20261001])
def test_bad_holiday_is_rejected(holiday):
    directory = small()
    calendar = {"workdays": [1], "hours": "09:00-18:00", "holidays": [holiday]}
    directory["policy"] = {"calendar": calendar}
    assert reports(directory, "each holiday must be a date")


def test_calendar_needs_workdays_and_hours():
    directory = small()
    directory["policy"] = {"calendar": {"holidays": ["2026-10-01"]}}
    assert sorted(messages(directory)) == [
        "missing key 'hours' in calendar", "missing key 'workdays' in calendar"]


def test_reopen_limit_may_be_zero_but_not_negative():
    directory = small()
    directory["policy"] = {"reopen_limit": 0}
    assert parse_directory(dump(directory))["policy"]["reopen_limit"] == 0
    directory["policy"] = {"reopen_limit": -1}
    assert problems(directory)


@pytest.mark.parametrize("hours", [0, -1, "24", True, None])
def test_policy_hours_must_be_positive_numbers(hours):
    directory = small()
    directory["policy"] = {"representative_hours": hours}
    assert reports(directory, "representative_hours must be a positive number")


# Several files


def test_several_files_merge(tmp_path):
    people = small()
    places = {"districts": people.pop("districts"), "policy": {"auto_dispatch": False}}
    (tmp_path / "places.yaml").write_text(dump(places), encoding="utf-8")
    (tmp_path / "people.yaml").write_text(dump(people), encoding="utf-8")
    extra = {"categories": [{"code": "parking", "name": "停车", "keywords": ["违停"]}]}
    (tmp_path / "extra.yaml").write_text(dump(extra), encoding="utf-8")
    merged = load_directory(
        [tmp_path / "places.yaml", str(tmp_path / "people.yaml"), tmp_path / "extra.yaml"])
    assert list(merged["categories"]) == ["drainage", "parking"]
    yuangang = merged["districts"]["baiyun"]["communities"]["yuangang"]
    assert yuangang["representatives"] == ["rep-liu", "rep-zhao"]
    assert merged["districts"]["baiyun"]["policy"]["auto_dispatch"] is False
    assert merged == {**parse_directory(SMALL + "policy: {auto_dispatch: false}\n"),
                      "categories": merged["categories"]}


def test_policy_in_two_files_is_rejected(tmp_path):
    (tmp_path / "a.yaml").write_text(SMALL + "policy: {auto_forward: true}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("policy:\n  auto_forward: false\n", encoding="utf-8")
    with pytest.raises(DirectoryError) as raised:
        load_directory([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    assert raised.value.errors == [
        f"{tmp_path / 'b.yaml'}:2: policy is already given in {tmp_path / 'a.yaml'}"]


def test_error_names_the_file_it_is_in(tmp_path):
    (tmp_path / "a.yaml").write_text(SMALL, encoding="utf-8")
    again = "representatives:\n  - {id: rep-liu, name: 又一个, district: baiyun}\n"
    (tmp_path / "b.yaml").write_text(again, encoding="utf-8")
    with pytest.raises(DirectoryError) as raised:
        load_directory([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    assert raised.value.errors == [f"{tmp_path / 'b.yaml'}:2: duplicate representative 'rep-liu'"]


def test_directory_error_is_a_value_error():
    assert issubclass(DirectoryError, ValueError)
    assert DirectoryError(["a:1: x", "a:2: y"]).errors == ["a:1: x", "a:2: y"]


def test_a_snapshot_published_before_a_policy_key_existed_reads_with_its_default():
    published = load_directory(DEMO)
    for policy in [published["policy"], *(d["policy"] for d in published["districts"].values())]:
        for key in ("category_confidence", "duplicates", "duplicate_days"):
            policy.pop(key, None)
    published["districts"]["tianhe"]["policy"]["duplicate_radius_m"] = 50
    read = with_current_defaults(published)
    assert read["districts"]["baiyun"]["policy"]["duplicates"] == "ignore"
    assert read["districts"]["tianhe"]["policy"]["category_confidence"] == 0.6
    assert read["districts"]["tianhe"]["policy"]["duplicate_radius_m"] == 50
    assert read["policy"]["duplicate_days"] == 14
    assert "duplicates" not in published["districts"]["baiyun"]["policy"]  # not changed in place


def test_personal_data_days_defaults_to_180_and_a_district_may_shorten_it():
    directory = small()
    directory["districts"][0]["policy"] = {"personal_data_days": 30}
    snapshot = parse_directory(dump(directory))
    assert snapshot["policy"]["personal_data_days"] == 180
    assert snapshot["districts"]["baiyun"]["policy"]["personal_data_days"] == 30


@pytest.mark.parametrize("days", [0, -1, 1.5, "180", True, None])
def test_personal_data_days_must_be_a_whole_number_of_days(days):
    directory = small()
    directory["policy"] = {"personal_data_days": days}
    assert reports(directory, "personal_data_days must be an integer >= 1")


def test_a_snapshot_published_before_personal_data_days_existed_keeps_data_180_days():
    published = load_directory(DEMO)
    for policy in [published["policy"], *(d["policy"] for d in published["districts"].values())]:
        policy.pop("personal_data_days", None)
    read = with_current_defaults(published)
    assert {d["policy"]["personal_data_days"] for d in read["districts"].values()} == {180}
