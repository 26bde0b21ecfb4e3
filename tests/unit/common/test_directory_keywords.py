"""Unit tests of services.common.directory: the weights of category keywords and the
policy's category_confidence, read as strictly as the rest of the directory."""
import json
import textwrap
from pathlib import Path

import pytest

from services.common.directory import DirectoryError, load_directory, parse_directory

DEMO = Path(__file__).resolve().parents[3] / "deploy" / "directory.yaml"

HEAD = textwrap.dedent("""\
    districts:
      - code: baiyun
        name: 白云区
        communities: []
        office: {name: 白云区人大常委会代表联络室}
    categories:
      - code: drainage
        name: 排水
    """)


def directory(keywords, policy=""):
    """A small directory whose one category has ``keywords`` (YAML text of the key's
    value, block or flow), and the top-level ``policy`` given."""
    if "\n" in keywords:
        keywords = "\n" + textwrap.indent(textwrap.dedent(keywords), "      ")
    policy = f"policy:\n{textwrap.indent(policy, '  ')}" if policy else ""
    return HEAD + f"    keywords: {keywords}\n" + policy


def problems(text):
    with pytest.raises(DirectoryError) as raised:
        parse_directory(text, source="test.yaml")
    return raised.value.errors


def line_of(text, fragment):
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


# Keyword weights


def test_a_plain_keyword_weighs_one():
    category = parse_directory(directory("[下水道, sewer]"))["categories"]["drainage"]
    assert category["keywords"] == ["下水道", "sewer"]
    assert category["weights"] == {"下水道": 1.0, "sewer": 1.0}


def test_a_keyword_may_be_given_with_its_weight():
    text = directory("""\
        - 下水道
        - {word: 污水, weight: 2}
        - word: sewer
          weight: 0.5
        - {word: 沙井}
        """)
    category = parse_directory(text)["categories"]["drainage"]
    assert category["keywords"] == ["下水道", "污水", "sewer", "沙井"]  # as before: words only
    assert category["weights"] == {"下水道": 1.0, "污水": 2.0, "sewer": 0.5, "沙井": 1.0}
    assert all(type(weight) is float for weight in category["weights"].values())


def test_an_unknown_key_of_a_keyword_is_reported_with_its_line():
    text = directory("""\
        - 下水道
        - {word: 污水, wieght: 2}
        """)
    assert problems(text) == [f"test.yaml:{line_of(text, 'wieght')}: unknown key 'wieght' in keyword"]


def test_a_keyword_mapping_needs_its_word():
    text = directory("""\
        - 下水道
        - {weight: 2}
        """)
    assert problems(text) == [f"test.yaml:{line_of(text, 'weight: 2')}: missing key 'word' in keyword"]


@pytest.mark.parametrize("weight, shown", [
    ("0", "0 (int)"), ("-1", "-1 (int)"), ("true", "true (bool)"), (".inf", ".inf (float)"),
    ('"2"', "'2'"), ("[2]", "a list"), ("", "nothing")])
def test_a_weight_must_be_a_positive_number(weight, shown):
    text = directory(f"""\
        - 下水道
        - {{word: 污水, weight: {weight}}}
        """)
    assert problems(text) == [
        f"test.yaml:{line_of(text, '污水')}: weight must be a positive number, not {shown}"]


@pytest.mark.parametrize("keyword, shown", [("''", "''"), ("7", "7 (int)"), ("[污水]", "a list"),
                                            ("{word: ''}", None)])
def test_a_keyword_must_be_a_non_empty_string_or_a_word_with_its_weight(keyword, shown):
    text = directory(f"[下水道, {keyword}]")
    line = line_of(text, "keywords")
    if shown is None:
        assert problems(text) == [f"test.yaml:{line}: word must be a non-empty string, not ''"]
    else:
        assert problems(text) == [f"test.yaml:{line}: each keyword must be a non-empty string"
                                  f" or {{word, weight}}, not {shown}"]


@pytest.mark.parametrize("again", ["污水", "{word: 污水, weight: 3}", "Sewer", "ｓｅｗｅｒ"])
def test_a_keyword_listed_twice_in_a_category_is_reported(again):
    text = directory(f"""\
        - 污水
        - sewer
        - {again}
        """)
    word = again.split(",")[0].removeprefix("{word: ")
    assert problems(text) == [f"test.yaml:{line_of(text, '- sewer') + 1}: keyword {word!r} is listed twice"]


def test_the_same_keyword_may_serve_two_categories():
    text = directory("[堵塞]") + "  - {code: parking, name: 停车管理, keywords: [堵塞, 违停]}\n"
    categories = parse_directory(text)["categories"]
    assert categories["drainage"]["keywords"] == ["堵塞"]
    assert categories["parking"]["keywords"] == ["堵塞", "违停"]


def test_every_problem_of_the_keywords_is_reported_at_once_in_line_order():
    text = directory("""\
        - {word: 污水, weight: 0}
        - {word: 积水, colour: blue}
        - ''
        """)
    assert [error.split(": ", 1)[0] for error in problems(text)] == [
        f"test.yaml:{line_of(text, fragment)}" for fragment in ("污水", "积水", "''")]


# The policy's category_confidence


def test_category_confidence_is_0_6_unless_given():
    snapshot = parse_directory(directory("[下水道]"))
    assert snapshot["policy"]["category_confidence"] == 0.6
    assert snapshot["districts"]["baiyun"]["policy"]["category_confidence"] == 0.6


@pytest.mark.parametrize("confidence", [0, 0.5, 1])
def test_category_confidence_is_a_share(confidence):
    snapshot = parse_directory(directory("[下水道]", f"category_confidence: {confidence}\n"))
    assert snapshot["policy"]["category_confidence"] == confidence


@pytest.mark.parametrize("confidence, shown", [("1.5", "1.5 (float)"), ("-0.1", "-0.1 (float)"),
                                               ("true", "true (bool)"), ('"0.6"', "'0.6'"),
                                               ("60%", "'60%'")])
def test_category_confidence_must_be_a_number_from_0_to_1(confidence, shown):
    text = directory("[下水道]", f"category_confidence: {confidence}\n")
    assert problems(text) == [f"test.yaml:{line_of(text, 'category_confidence')}:"
                              f" category_confidence must be a number from 0 to 1, not {shown}"]


def test_a_district_may_set_its_own_category_confidence():
    text = directory("[下水道]", "category_confidence: 0.7\n").replace(
        "    office: {name: 白云区人大常委会代表联络室}\n",
        "    office: {name: 白云区人大常委会代表联络室}\n    policy: {category_confidence: 0.5}\n")
    snapshot = parse_directory(text)
    assert snapshot["policy"]["category_confidence"] == 0.7
    assert snapshot["districts"]["baiyun"]["policy"]["category_confidence"] == 0.5


# The demo directory


def test_the_demo_weighs_a_few_keywords_and_writes_the_confidence_out():
    demo = load_directory(DEMO)
    assert demo["categories"]["drainage"]["weights"]["污水"] == 2.0
    assert demo["categories"]["roads-traffic"]["weights"]["road"] == 0.5
    assert "road" in demo["categories"]["roads-traffic"]["keywords"]
    assert demo["policy"]["category_confidence"] == 0.6
    for category in demo["categories"].values():
        assert list(category["weights"]) == category["keywords"]
    assert json.loads(json.dumps(demo)) == demo


def test_an_auto_merge_score_below_the_suggest_score_is_refused():
    text = DEMO.read_text(encoding="utf-8").replace("duplicate_auto_merge: 0.7", "duplicate_auto_merge: 0.2")
    with pytest.raises(DirectoryError) as refused:
        parse_directory(text, "directory.yaml")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "duplicate_auto_merge: 0.2" in row)
    assert f"directory.yaml:{line}: duplicate_auto_merge must be at least duplicate_suggest (0.35)" \
        in str(refused.value)
