"""Is a reporter's contact one a message could reach? Checked where a concern enters,
through whichever door (the JSON API, an Open311 form), so that an address notify could
not write or a number it could not text is refused with the concern, answered 400 and
never stored, instead of failing, or worse being logged, when the first message goes out.

An email must be one ``services.common.email_address`` takes (marshmallow's pattern and
the header parser notify writes the ``To`` header with), as a directory contact's must. A
phone is digits, spaces, hyphens and an optional ``+``, and a valid number for
``phonenumbers``, Chinese when it has no country code: the way notify's SMS reads it to
make the E.164 number it sends to. Both are kept as sent.
"""
import re

import phonenumbers
from marshmallow import ValidationError

from services.common.email_address import is_email_address, takes_email_pattern

EMAIL_MESSAGE = "Not a valid email address."
PHONE_MESSAGE = "Not a phone number."
PHONE_SHAPE = re.compile(r"\+?[0-9 -]{5,20}")
PHONE_REGION = "CN"  # a number without a country code is a Chinese one


def check_email(address):
    """The validator to put next to ``fields.Email``'s own, which keeps its message."""
    if takes_email_pattern(address) and not is_email_address(address):
        raise ValidationError(EMAIL_MESSAGE)  # else the field's own check has said so already


def check_phone(phone):
    if not PHONE_SHAPE.fullmatch(phone) or not _valid_number(phone):
        raise ValidationError(PHONE_MESSAGE)


def _valid_number(phone):
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(phone, PHONE_REGION))
    except phonenumbers.NumberParseException:
        return False
