"""Unit tests of services.common.directory: each problem of a directory file is reported
with its file, the line of the YAML node it is about, and the key it names, however
deep in the file it is."""
import textwrap

import pytest

from services.common.directory import DEFAULT_POLICY, DirectoryError, load_directory, parse_directory
from services.common.directory_schema import Policy

TEXT = textwrap.dedent("""\
    districts:
      - name: 白云区
        code: baiyun
        communities:
          - name: 元岗社区
            code: yuangang
            representatives:
              - rep-liu
        office:
          name: 白云区人大常委会代表联络室
          contact:
            email: office@rd.example
        policy:
          calendar:
            workdays:
              - 1
              - 2
            hours: 09:00-18:00
    representatives:
      - id: rep-liu
        name: 刘汉立
        district: baiyun
    categories:
      - code: drainage
        name: 排水
        keywords: [下水道]
    departments:
      - code: baiyun-water
        name: 白云区水务局
        districts: [baiyun]
        categories: [drainage]
        delivery: webhook
        webhook:
          url: http://127.0.0.1:9099/hooks/water
          secret: whsec_c2VjcmV0
    """)


def problems(text, source="directory.yaml"):
    with pytest.raises(DirectoryError) as raised:
        parse_directory(text, source)
    return raised.value.errors


def line_of(text, fragment):
    """The line of the first row holding ``fragment``."""
    return next(number for number, row in enumerate(text.splitlines(), 1) if fragment in row)


def test_the_directory_above_loads():
    assert parse_directory(TEXT)["districts"]["baiyun"]["policy"]["calendar"]["workdays"] == [1, 2]


#: (what is changed in TEXT, into what, a fragment of the row the problem is about, the
#: problem after "file:line:")
ONE_PROBLEM = {
    "a wrong type deep in a list is reported at its item": (
        "          - 2\n", '          - 2\n          - "3"\n', '- "3"',
        " each workday must be an integer >= 1 and <= 7, not '3'"),
    "a bad code in a nested list is reported at its item": (
        "          - rep-liu\n", "          - rep-liu\n          - Rep Zhao\n", "Rep Zhao",
        " each of representatives must be 1-32 of a-z 0-9 _ -, not 'Rep Zhao'"),
    "a missing required key is reported at its mapping": (
        "      secret: whsec_c2VjcmV0\n", "", "url: http", " missing key 'secret' in webhook"),
    "a missing key of a list item is reported at the item": (
        "    name: 刘汉立\n", "", "id: rep-liu", " missing key 'name' in representative"),
    "an unknown key is reported at the key, not its value": (
        "        email: office@rd.example\n",
        "        email: office@rd.example\n        fax:\n          - 020-1234\n", "fax:",
        " unknown key 'fax' in contact"),
    "a bad value in a nested mapping is reported at its line": (
        "hours: 09:00-18:00", "hours: 18:00-09:00", "hours:",
        ' hours must be "HH:MM-HH:MM" with start before end, not \'18:00-09:00\''),
    "a list where a mapping belongs is reported at the list": (
        "        email: office@rd.example\n", "        - office@rd.example\n", "- office@rd",
        " contact must be a mapping"),
    "a scalar YAML cannot read is shown as written": (
        "        hours: 09:00-18:00\n", "        hours: 09:00-18:00\n        holidays: [2026-02-30]\n",
        "holidays", " each holiday must be a date YYYY-MM-DD, not 2026-02-30 (timestamp)"),
}


@pytest.mark.parametrize("written, instead, about, problem", ONE_PROBLEM.values(), ids=ONE_PROBLEM)
def test_a_problem_is_reported_at_the_line_of_the_node_it_is_about(written, instead, about, problem):
    text = TEXT.replace(written, instead)
    assert text != TEXT
    assert problems(text) == [f"directory.yaml:{line_of(text, about)}:{problem}"]


def test_an_item_after_a_bad_one_keeps_its_own_line():
    text = TEXT.replace("          - rep-liu\n", "          - 42\n          - rep-nobody\n")
    assert problems(text) == [
        f"directory.yaml:{line_of(text, '- 42')}: each of representatives must be 1-32 of a-z 0-9 _ -,"
        " not 42 (int)",
        f"directory.yaml:{line_of(text, 'rep-nobody')}: unknown representative 'rep-nobody'"]


def test_an_unknown_key_written_twice_is_reported_at_both():
    text = TEXT.replace("    district: baiyun\n", "    district: baiyun\n    mobile: 1\n    mobile: 2\n")
    first = line_of(text, "mobile: 1")
    assert problems(text) == [f"directory.yaml:{first}: unknown key 'mobile' in representative",
                              f"directory.yaml:{first + 1}: unknown key 'mobile' in representative"]


def test_a_key_written_three_times_is_reported_where_it_is_written_again():
    text = TEXT.replace("        hours: 09:00-18:00\n",
                        "        hours: 09:00-18:00\n        hours: 08:00-17:00\n        hours: x\n")
    first = line_of(text, "hours: 09")
    assert problems(text) == [f"directory.yaml:{first + 1}: duplicate key 'hours' in calendar",
                              f"directory.yaml:{first + 2}: duplicate key 'hours' in calendar"]


def test_a_rule_across_entries_is_reported_at_the_key_it_is_about():
    text = TEXT.replace("    district: baiyun\n", "    district: tianhe\n")
    assert problems(text) == [
        f"directory.yaml:{line_of(text, 'district: tianhe')}: unknown district 'tianhe'"]
    text = TEXT.replace("          - rep-liu\n", "          - rep-liu\n          - rep-liu\n")
    assert problems(text) == [
        f"directory.yaml:{line_of(text, '- rep-liu') + 1}: 'rep-liu' is listed twice in representatives"]


def test_problems_on_one_line_are_those_about_keys_first_then_left_to_right():
    text = TEXT.replace("keywords: [下水道]", "keywords: [下水道, '', {word: 污水, weight: 0, colour: blue}]")
    line = line_of(text, "keywords")
    assert problems(text) == [
        f"directory.yaml:{line}: unknown key 'colour' in keyword",
        f"directory.yaml:{line}: each keyword must be a non-empty string or {{word, weight}}, not ''",
        f"directory.yaml:{line}: weight must be a positive number, not 0 (int)"]


def test_a_problem_in_a_second_file_names_that_file_and_its_line(tmp_path):
    (tmp_path / "places.yaml").write_text(TEXT, encoding="utf-8")
    (tmp_path / "people.yaml").write_text(
        "representatives:\n  - id: rep-zhao\n    name: 赵敏\n    district: baiyun\n    max_open: 0\n",
        encoding="utf-8")
    with pytest.raises(DirectoryError) as raised:
        load_directory([tmp_path / "places.yaml", tmp_path / "people.yaml"])
    assert raised.value.errors == [
        f"{tmp_path / 'people.yaml'}:5: max_open must be an integer >= 1, not 0 (int)"]


def test_the_policy_schema_takes_exactly_the_policy_keys_with_defaults():
    assert set(Policy().fields) == set(DEFAULT_POLICY)
