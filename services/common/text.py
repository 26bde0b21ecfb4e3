"""Rules for text that comes from outside, shared by every edge (HTTP bodies, Open311
forms, AMQP feedback).

Text is stored exactly as sent, but control characters other than tab and newline are
refused (docs/reference.md#errors): PostgreSQL refuses NUL, and the others have no place in what
people read. So are the characters that are not text at all and that XML 1.0 forbids
(U+FFFE, U+FFFF, lone surrogates): one of them stored would make every XML document
that shows it unparsable, a district's whole Open311 ``requests.xml`` included.
"""
import re

#: C0 controls but tab and newline, DEL, and the C1 controls
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: lone surrogates (a JSON ``\ud800`` escape decodes to one) and the two noncharacters XML forbids
NOT_TEXT = re.compile(r"[\ud800-\udfff\ufffe\uffff]")
CONTROL_MESSAGE = "Control characters other than tab and newline are not allowed."
NOT_TEXT_MESSAGE = "U+FFFE, U+FFFF and lone surrogates are not text: not allowed."


def control_character_errors(value):
    """Field errors, shaped like marshmallow's, for every text in ``value`` (a JSON value)
    holding a control character or a character that is not text; None when there is none.
    A field name that holds one is shown with it escaped (``\\uffff``)."""
    if isinstance(value, str):
        messages = [message for pattern, message in ((CONTROL_CHARACTERS, CONTROL_MESSAGE),
                                                     (NOT_TEXT, NOT_TEXT_MESSAGE))
                    if pattern.search(value)]
        return messages or None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list) else ()
    errors = {}
    for key, item in items:
        found = control_character_errors(item)
        if isinstance(key, str) and control_character_errors(key):
            key, found = escaped(key), found or control_character_errors(key)
        if found:
            errors[key] = found
    return errors or None


def escaped(text):
    """``text`` with each control character and character that is not text as ``\\uXXXX``:
    safe to show back, in JSON, XML or a log line."""
    return NOT_TEXT.sub(_escape, CONTROL_CHARACTERS.sub(_escape, text))


def _escape(match):
    return f"\\u{ord(match.group()):04x}"
