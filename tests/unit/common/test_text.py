"""The rule every edge applies to outside text: control characters and characters that
are not text (those XML 1.0 forbids) are refused, field by field; the rest passes."""
import pytest

from services.common.text import CONTROL_MESSAGE, NOT_TEXT_MESSAGE, control_character_errors


@pytest.mark.parametrize("text", [
    "元岗路下水道堵塞", "tab\tand\nnewline", "emoji 🚰 and 𠀀", "replacement \ufffd", "",
    "private use \ue000", "noncharacter \ufdd0 is still text"])
def test_text_people_write_passes(text):
    assert control_character_errors({"description": text}) is None


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "line\r\nbreak", "esc\x1b[31m", "del\x7f",
                                  "c1\x85", "c1\x9b[31m"])
def test_control_characters_are_refused(text):
    assert control_character_errors({"description": text}) == {"description": [CONTROL_MESSAGE]}


@pytest.mark.parametrize("text", ["a\uffffb", "\ufffe", "lone \ud800 high", "lone \udfff low"])
def test_characters_xml_forbids_are_refused(text):
    assert control_character_errors({"title": text}) == {"title": [NOT_TEXT_MESSAGE]}


def test_nested_fields_are_named_by_their_path():
    body = {"reporter": {"name": "王\uffff"}, "attachments": [{"url": "ok"}, {"url": "x\x01"}]}
    assert control_character_errors(body) == {"reporter": {"name": [NOT_TEXT_MESSAGE]},
                                              "attachments": {1: {"url": [CONTROL_MESSAGE]}}}


def test_a_field_name_that_is_not_text_is_refused_and_shown_escaped():
    assert control_character_errors({"na\ud800me": "李", "ok": "x"}) == {
        "na\\ud800me": [NOT_TEXT_MESSAGE]}
