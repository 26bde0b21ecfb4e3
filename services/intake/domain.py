"""Intake's rules: does a concern fit the directory and the key that posted it? And the
token of a reporter's own page: drawn unguessable, kept only as its hash.

Pure functions over the directory snapshot; no I/O.
"""
import hashlib
import json
import re
import secrets
from datetime import datetime

from services.common.errors import BadRequest, Forbidden


def check_concern(concern, directory, district_of_key):
    """Raise Forbidden or BadRequest (with field messages) unless the concern fits."""
    if concern["district"] != district_of_key:
        raise Forbidden(f"This key posts for district '{district_of_key}' only.")
    district = directory["districts"].get(concern["district"])
    errors = {}
    if district is None:
        errors["district"] = ["Unknown district."]
    elif concern["community"] is not None and concern["community"] not in district["communities"]:
        errors["community"] = [f"Not a community of {concern['district']}."]
    if concern.get("category") and concern["category"] not in directory["categories"]:
        errors["category"] = ["Unknown category."]
    wanted = concern.get("requested_representative")
    if wanted and directory["representatives"].get(wanted, {}).get("district") != concern["district"]:
        errors["requested_representative"] = [f"Not a representative of {concern['district']}."]
    if errors:
        raise BadRequest("The concern does not fit the directory.", errors=errors)


def fingerprint(body):
    """A stable hash of a request body, to tell a retry from a different concern."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def new_ticket_id(now: datetime):
    return f"ZD{now:%Y%m%d}-{secrets.token_hex(4).upper()}"


PAGE_TOKEN_BYTES = 16  # 128 random bits: never guessed, even at every address's rate
#: what a token may look like (``token_urlsafe``'s alphabet); anything else is no token
PAGE_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_page_token():
    return secrets.token_urlsafe(PAGE_TOKEN_BYTES)


def page_token_hash(token):
    """What is stored of a page's token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()
