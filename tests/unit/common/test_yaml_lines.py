"""Unit tests of services.common.yaml_lines: a YAML document's values and the line of
each of its parts."""
import datetime
import textwrap

import pytest
import yaml

from services.common import yaml_lines

TEXT = textwrap.dedent("""\
    districts:
      - code: baiyun
        office:
          name: 白云区联络室
        name:
        communities: [{code: yuangang}, 7]
    policy: {timezone: Asia/Shanghai, holidays: [2026-10-01, 2026-02-30]}
    """)


@pytest.fixture(scope="module")
def document():
    return yaml_lines.read(TEXT)


def test_the_values_are_those_safe_load_reads(document):
    assert document.data["districts"][0]["communities"] == [{"code": "yuangang"}, 7]
    assert document.data["policy"]["holidays"][0] == datetime.date(2026, 10, 1)
    readable = TEXT.replace(", 2026-02-30", "")
    assert yaml_lines.read(readable).data == yaml.safe_load(readable)


def test_each_part_is_placed_at_its_line_and_column(document):
    assert document.place(()) == (1, 1)
    assert document.place(("districts", 0)) == (2, 5)
    assert document.place(("districts", 0, "office")) == (4, 7)  # a block mapping: its first key
    assert document.place(("districts", 0, "communities", 1)) == (6, 37)
    assert document.place(("policy", "holidays", 1)) == (7, 58)


def test_an_empty_value_is_placed_at_its_key(document):
    assert document.data["districts"][0]["name"] is None
    assert document.place(("districts", 0, "name")) == (5, 5)


def test_a_path_the_document_does_not_hold_is_placed_at_the_nearest_part_that_holds_it(document):
    assert document.place(("districts", 0, "office", "contact")) == (4, 7)
    assert document.place(("districts", 0, "communities", 0, "name")) == (6, 19)
    assert document.place(("districts", 3)) == (2, 3)


def test_a_key_is_placed_where_it_is_written(document):
    assert document.key_places(("districts", 0, "office")) == [(3, 5)]
    assert document.key_places(("districts", 0, "unknown")) == []


def test_values_are_shown_as_written_with_their_yaml_type(document):
    assert document.shown(("districts", 0, "code")) == "'baiyun'"
    assert document.shown(("districts", 0, "name")) == "nothing"
    assert document.shown(("districts", 0, "communities", 1)) == "7 (int)"
    assert document.shown(("districts", 0, "communities")) == "a list"
    assert document.shown(("districts", 0, "office")) == "a mapping"
    assert document.shown(("policy", "holidays", 1)) == "2026-02-30 (timestamp)"


def test_a_scalar_yaml_cannot_read_is_kept_as_unreadable(document):
    assert isinstance(document.data["policy"]["holidays"][1], yaml_lines.Unreadable)


def test_a_key_written_again_keeps_its_first_value_and_every_place():
    document = yaml_lines.read("name: a\ncode: x\nname: b\nname: c\n")
    assert document.data == {"name": "a", "code": "x"}
    assert document.data.repeated == ("name", "name")
    assert document.key_places(("name",)) == [(1, 1), (3, 1), (4, 1)]


def test_keys_are_kept_as_written():
    assert yaml_lines.read("1: a\ntrue: b\n").data == {"1": "a", "true": "b"}


def test_no_document_reads_as_none_and_bad_yaml_raises_with_its_line():
    assert yaml_lines.read("# only a comment\n") is None
    with pytest.raises(yaml.YAMLError) as raised:
        yaml_lines.read("a: [1\nb: 2\n")
    assert raised.value.problem_mark.line >= 1


def test_an_alias_that_holds_itself_is_refused():
    with pytest.raises(yaml.YAMLError, match="an alias holds itself"):
        yaml_lines.read("a: &loop [1, *loop]\n")
