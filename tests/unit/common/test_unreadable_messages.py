"""Messages no store can keep, or whose body cannot be decoded: why, and how they are
known and shown without what cannot be stored."""
from types import SimpleNamespace

from services.common.messaging import Envelope, storable, undecodable_reason


def feedback(message_id="m-1", message_type="department.feedback", body=None, undecodable=""):
    return Envelope(message_id, message_type, {"status": "acknowledged"} if body is None else body,
                    queue="zd.routing.feedback", routing_key="dept.a", from_outside=True,
                    undecodable=undecodable)


def test_a_message_says_why_no_store_can_keep_it():
    assert feedback().unreadable == ""
    assert feedback("m\x00").unreadable == "unreadable message: its message_id holds NUL (U+0000)"
    assert feedback(message_type="\udc80x").unreadable == (
        "unreadable message: its type holds a lone surrogate (U+DC80)")
    assert feedback(body={"a": [{"note\x00": "x"}]}).unreadable == (
        "unreadable message: its body holds NUL (U+0000) in a.0.note\\u0000")
    assert feedback(undecodable="its body is not JSON").unreadable == (
        "undecodable message: its body is not JSON")


def test_an_unreadable_message_is_known_by_what_it_holds_and_stored_escaped():
    nul, replaced = feedback("m\x00"), feedback("m\\u0000")
    assert "\x00" not in nul.inbox_id and nul.inbox_id != replaced.inbox_id
    assert nul.inbox_id == feedback("m\x00").inbox_id
    assert feedback().inbox_id.startswith("zd.routing.feedback:dept.a:m-1:sha256:")
    assert nul.shown_id == "m\\u0000"
    assert storable({"k\ud800": ["\x00", "fine", 1]}) == {"k\\ud800": ["\\u0000", "fine", 1]}


def test_an_undecodable_body_is_named_by_its_fault():
    def message(body, content_type="application/json", encoding="utf-8"):
        return SimpleNamespace(body=body, content_type=content_type, content_encoding=encoding)
    assert undecodable_reason(message(b'{"a": 1}')) == ""
    assert undecodable_reason(message(b"a=1", "text/plain")) == (
        "its content type 'text/plain' is not application/json")
    assert undecodable_reason(message(b"x", None)) == (
        "its content type '(none)' is not application/json")
    assert undecodable_reason(message(b'{"a": "\xff"}')) == "its body is not UTF-8 text"
    assert undecodable_reason(message(b"{a: 1")) == "its body is not JSON"
