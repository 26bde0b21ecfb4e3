"""Open311 service requests: a posted form read into a concern, a stored concern shown.

A request belongs to the district of the front-end key that posts it (``api_key``);
``service_code`` is a category; ``attribute[community]`` names the community, else a
community whose name appears in ``address_string`` is taken, else none: the district's
liaison office assigns it (docs/reference.md#open311-georeport-v2). A reporter who leaves an email or
phone hears
back. The concern is then checked by the concern schema, as the JSON API's body is
(``media_url`` http(s) only, a contact a message could reach), a refused field named by
its form name. An address without coordinates is kept as the concern's title. The lifecycle
maps to ``open``/``closed``; ``status_notes`` is the latest note of
the ticket's timeline, ``agency_responsible`` its lead department, ``expected_datetime``
that department's due time. A reader without a key sees what the district's
``open311_public`` policy names (``public_service_request``). Pure functions; no I/O.
"""
import uuid

from marshmallow import ValidationError

from services.common.errors import BadRequest, Forbidden
from services.common.text import control_character_errors
from services.intake.open311.catalogue import COMMUNITY, service_name
from services.intake.schemas import ConcernSchema

MAX_DESCRIPTION = 4000
CLOSED = ("resolved", "closed", "merged", "rejected")
STATUSES = ("open", "closed")
#: a concern's field (its path in the schema's messages) → the form field it was read from
FORM_FIELDS = {("category",): "service_code", ("description",): "description",
               ("title",): "address_string", ("location", "address"): "address_string",
               ("location", "lat"): "lat", ("location", "lon"): "long",
               ("reporter", "name"): "first_name", ("reporter", "email"): "email",
               ("reporter", "phone"): "phone", ("attachments", 0, "url"): "media_url"}


def concern_from_form(form, directory, district):
    """The concern (as ``POST /api/v1/concerns`` takes it) a posted form asks for, checked
    by the concern schema as the JSON API's body is; a refused field is named by its
    form name."""
    errors = {}
    if form.get("jurisdiction_id") and form["jurisdiction_id"] != district:
        raise Forbidden(f"This api_key posts for jurisdiction '{district}' only.")
    code = form.get("service_code", "")
    if code not in directory["categories"]:
        errors["service_code"] = ["Required: one of the services (GET services.json)."]
    description = form.get("description", "")
    if not description.strip():
        errors["description"] = ["Required."]
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = [f"At most {MAX_DESCRIPTION} characters."]
    location = _location(form, errors)
    community = _community(form, directory, district, errors)
    errors.update(control_character_errors(dict(form)) or {})
    concern = {"external_id": f"open311-{uuid.uuid4()}", "district": district,
               "channel": "open311", "category": code, "description": description}
    if location:
        concern["location"] = location
    elif form.get("address_string"):  # an address without coordinates: kept as the title
        concern["title"] = form["address_string"][:200]
    if form.get("media_url"):
        concern["attachments"] = [{"url": form["media_url"], "kind": "photo"}]
    reporter = _reporter(form)
    if reporter:
        concern["reporter"] = reporter
    try:  # the community is checked above: an Open311 request may name none
        concern = {**ConcernSchema(partial=("community",)).load(concern), "community": community}
    except ValidationError as invalid:
        for field, messages in _form_errors(invalid.messages):
            errors.setdefault(field, messages)
    if errors:
        raise BadRequest("The service request is not valid.", errors=errors)
    return concern


def service_request(concern, directory):
    """A stored concern (with intake's view of its ticket) as an Open311 service request."""
    ticket = concern["view"] or {}
    status = ticket.get("status", "received")
    category = ticket.get("category", concern["category"])
    lead = next((d for d in ticket.get("departments", []) if d.get("role") == "lead"), None)
    location = concern["location"] or {}
    notes = [entry["note"] for entry in ticket.get("timeline", []) if entry.get("note")]
    attachments = concern["attachments"] or []
    return {
        "service_request_id": concern["ticket_id"],
        "status": "closed" if status in CLOSED else "open",
        "status_notes": (ticket.get("result") if status in ("resolved", "closed") else None)
        or (notes[-1] if notes else None),
        "service_name": service_name(directory, category),
        "service_code": category,
        "description": concern["description"],
        "agency_responsible": lead and (lead.get("name") or lead.get("department")),
        "service_notice": None,
        "requested_datetime": concern["submitted_at"].isoformat(),
        "updated_datetime": concern["changed_at"].isoformat(),
        "expected_datetime": lead and lead.get("due_at"),
        "address": location.get("address") or (concern["title"] if concern["channel"] == "open311"
                                                else None),
        "address_id": None,
        "zipcode": None,
        "lat": location.get("lat"),
        "long": location.get("lon"),
        "media_url": attachments[0]["url"] if attachments else None,
    }


#: a name of the district's ``open311_public`` policy → the fields of a service request it shows
PUBLIC_FIELDS = {"status": ("status",), "service": ("service_code", "service_name"),
                 "times": ("requested_datetime", "updated_datetime", "expected_datetime"),
                 "agency": ("agency_responsible",), "status_notes": ("status_notes",),
                 "point": ("lat", "long"), "description": ("description",),
                 "address": ("address",), "media": ("media_url",)}
POINT_DECIMALS = 3  # about 100 m: the street, not the door


def public_service_request(shown, published):
    """A service request (``service_request``) as a reader without a key sees it: only the
    fields the district's ``open311_public`` policy (``published``) names, the others
    null, the point rounded; a request has no contact field to show."""
    kept = {"service_request_id", "service_notice", "address_id", "zipcode"}
    for name in published:
        kept.update(PUBLIC_FIELDS[name])
    public = {field: (value if field in kept else None) for field, value in shown.items()}
    for field in PUBLIC_FIELDS["point"]:
        if public[field] is not None:
            public[field] = round(public[field], POINT_DECIMALS)
    return public


def closed_wanted(text):
    """``status=open``, ``closed`` or both (comma-separated) as the question "closed?":
    True, False, or None for either."""
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    if not wanted or wanted - set(STATUSES):
        raise BadRequest("Unknown status.", errors={"status": ["open, closed or both."]})
    return None if len(wanted) == 2 else wanted == {"closed"}


def _location(form, errors):
    lat, lon, address = form.get("lat"), form.get("long"), form.get("address_string")
    if lat is None and lon is None:
        if not (address or "").strip():
            errors["lat"] = ["A location is required: lat and long, or address_string."]
            return None
        return None
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        errors["lat"] = ["lat and long are both required, as decimal degrees."]
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        errors["lat"] = ["lat in [-90, 90], long in [-180, 180]."]
        return None
    location = {"lat": lat, "lon": lon}
    if address:
        location["address"] = address[:500]
    return location


def _community(form, directory, district, errors):
    communities = directory["districts"][district]["communities"]
    named = form.get(f"attribute[{COMMUNITY}]")
    if named:
        wanted_district, _, code = named.rpartition(":")
        if code in communities and wanted_district in ("", district):
            return code
        errors[f"attribute[{COMMUNITY}]"] = [f"Not a community of {district}."]
        return None
    address = form.get("address_string") or ""
    for code, community in communities.items():
        if community["name"] in address or community["name"].removesuffix("社区") in address:
            return code
    return None


def _form_errors(messages, path=()):
    """The concern schema's messages as ``(form field, messages)`` pairs."""
    if isinstance(messages, dict):
        for key, inner in messages.items():
            yield from _form_errors(inner, (*path, key))
    else:
        yield FORM_FIELDS.get(path, ".".join(map(str, path))), messages


def _reporter(form):
    name = " ".join(form.get(part, "").strip() for part in ("first_name", "last_name")).strip()
    reporter = {key: value for key, value in (("name", name[:100]), ("email", form.get("email")),
                                              ("phone", form.get("phone"))) if value}
    if not reporter:
        return None
    reporter["wants_feedback"] = bool(reporter.get("email") or reporter.get("phone"))
    return reporter
