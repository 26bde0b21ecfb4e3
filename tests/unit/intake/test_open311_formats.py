"""Open311 XML parses whatever the stored text holds (docs/reference.md#open311-georeport-v2: every XML
document
served parses), rows stored before intake refused characters XML forbids included."""
import re
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.open311 import formats

#: XML 1.0's Char production (https://www.w3.org/TR/xml/#charsets): what may appear at all
XML_CHAR = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

#: every code point, lone surrogates, U+FFFE/U+FFFF and C0 controls included
any_stored_text = st.text(alphabet=st.characters(codec=None, categories=None), max_size=60)


def parsed(document, root="service_requests"):
    body, content_type = formats.render(document, root, "xml")
    assert content_type.startswith("text/xml")
    return ElementTree.fromstring(body.encode("utf-8"))


@given(description=any_stored_text, note=any_stored_text)
def test_any_stored_text_makes_xml_that_parses(description, note):
    root = parsed([{"service_request_id": "ZD20261122-0000BEEF", "description": description,
                    "status_notes": note, "lat": 23.1, "media_url": None}])
    request = root.find("request")
    assert request.findtext("service_request_id") == "ZD20261122-0000BEEF"
    for field, text in (("description", description), ("status_notes", note)):
        assert (request.findtext(field) or "") == shown(text)


def shown(text):
    """What a reader gets back: the text itself, each character XML forbids as U+FFFD
    (a parser reads a carriage return as a newline)."""
    kept = "".join(char if XML_CHAR.fullmatch(char) else "\ufffd" for char in text)
    return kept.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("text", ["a\uffffb", "\ufffe", "bell\x07", "lone \ud800", "nul\x00"])
def test_a_character_xml_forbids_is_shown_as_the_replacement_character(text):
    description = parsed([{"description": text}]).findtext("request/description")
    assert description == shown(text) and "\ufffd" in description


def test_text_people_write_is_shown_exactly():
    text = "元岗路下水道堵塞\n\t第二行 🚰 <b>&amp;</b> \ufffd"
    assert parsed([{"description": text}]).findtext("request/description") == text


def test_an_error_document_naming_a_bad_field_parses():
    root = parsed(formats.errors_document(400, "attribute[\uffff\x01]: Not text."), "errors")
    assert root.findtext("error/code") == "400"
