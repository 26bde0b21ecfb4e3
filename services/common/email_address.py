"""What counts as an email address notify could write, wherever an address enters: a
reporter's contact at intake's doors, a contact in the directory.

An address must pass marshmallow's email pattern and ``email.headerregistry.Address``,
the parser notify writes the ``To`` header with (it takes no non-ASCII local part, which
no mail server here would take either). An address either refuses never reaches notify,
where it would fail, or worse be logged, when the first message goes out.
"""
from email.errors import HeaderParseError
from email.headerregistry import Address

from marshmallow import ValidationError, validate


def is_email_address(address):
    """True when ``address`` is a string both marshmallow and notify's header parser take."""
    return isinstance(address, str) and takes_email_pattern(address) and _parses(address)


def takes_email_pattern(address):
    try:
        validate.Email()(address)
    except ValidationError:
        return False
    return True


def _parses(address):
    try:
        Address(addr_spec=address)
    except (HeaderParseError, ValueError, IndexError):  # a header defect is a ValueError;
        return False                                     # "name@" raises IndexError
    return True
