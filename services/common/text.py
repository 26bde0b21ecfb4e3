"""Rules for text that comes from outside, shared by every edge (HTTP bodies, AMQP feedback).

Text is stored exactly as sent, but control characters other than tab and newline are
refused (contract §5): PostgreSQL refuses NUL, and the others have no place in what
people read.
"""
import re

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
CONTROL_MESSAGE = "Control characters other than tab and newline are not allowed."


def control_character_errors(value):
    """Field errors, shaped like marshmallow's, for every text in ``value`` (a JSON value)
    holding a forbidden control character; None when there is none."""
    if isinstance(value, str):
        return [CONTROL_MESSAGE] if CONTROL_CHARACTERS.search(value) else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(
        value, list) else ()
    errors = {key: found for key, item in items if (found := control_character_errors(item))}
    return errors or None
