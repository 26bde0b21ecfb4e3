"""The Open311 paths of intake's OpenAPI document: each in JSON or XML (``{fmt}``), its
answers shaped as the GeoReport v2 specification says, its errors as the
specification's ``[{code, description}]``. Every answer's object is closed: a member
the document does not name is an error the suite's schemathesis run would find."""


def _record(properties):
    """A JSON object with exactly ``properties``, every one always present."""
    return {"type": "object", "required": list(properties), "properties": properties,
            "additionalProperties": False}


def _ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


TEXT = {"type": "string"}
MAYBE_TEXT = {"type": "string", "nullable": True}
SCHEMAS = {
    "Open311Discovery": _record({
        "changeset": TEXT, "contact": TEXT, "key_service": TEXT,
        "endpoints": {"type": "array", "items": _record({
            "specification": TEXT, "url": TEXT, "changeset": TEXT,
            "type": {"type": "string", "enum": ["production", "test"]},
            "formats": {"type": "array", "items": TEXT}})}}),
    "Open311Service": _record({
        "service_code": TEXT, "service_name": TEXT, "description": TEXT,
        "metadata": {"type": "boolean"},
        "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
        "keywords": {"type": "string", "description": "comma-separated"},
        "group": {**MAYBE_TEXT, "description": "the department that leads the category"}}),
    "Open311ServiceDefinition": _record({
        "service_code": TEXT,
        "attributes": {"type": "array", "items": _record({
            "variable": {"type": "boolean"}, "code": TEXT,
            "datatype": {"type": "string", "enum": [
                "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]},
            "required": {"type": "boolean"}, "datatype_description": TEXT,
            "order": {"type": "integer"}, "description": TEXT,
            "values": {"type": "array", "items": _record({"key": TEXT, "name": TEXT})}})}}),
    "Open311ServiceRequest": _record({
        "service_request_id": TEXT,
        "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": {**MAYBE_TEXT, "description": "the result, or the latest note a reporter"
                                                      " may see"},
        "service_name": MAYBE_TEXT, "service_code": MAYBE_TEXT, "description": TEXT,
        "agency_responsible": {**MAYBE_TEXT, "description": "the lead department"},
        "service_notice": MAYBE_TEXT,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "expected_datetime": {"type": "string", "format": "date-time", "nullable": True,
                              "description": "the lead department's due time"},
        "address": MAYBE_TEXT, "address_id": MAYBE_TEXT, "zipcode": MAYBE_TEXT,
        "lat": {"type": "number", "nullable": True}, "long": {"type": "number", "nullable": True},
        "media_url": MAYBE_TEXT}),
    "Open311Created": _record({
        "service_request_id": TEXT, "service_notice": MAYBE_TEXT, "account_id": MAYBE_TEXT}),
    "Open311Token": _record({"service_request_id": TEXT, "token": TEXT}),
    "Open311Error": _record({"code": {"type": "integer"}, "description": TEXT}),
}


def _list_of(name):
    return {"type": "array", "items": _ref(name)}


ERRORS = _list_of("Open311Error")
FORMAT = {"name": "fmt", "in": "path", "required": True, "description": "json or xml",
          "schema": {"type": "string", "enum": ["json", "xml"]}}
KEY = {"name": "api_key", "in": "query", "required": False,
       "description": "A front-end key of the district (or a bearer key); reads need none",
       "schema": {"type": "string"}}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _content(schema):
    return {"application/json": {"schema": schema}, "text/xml": {"schema": {"type": "string"}}}


def _operation(summary, ok_status, ok_schema, errors, parameters=(), body=None):
    responses = {str(ok_status): {"description": summary, "content": _content(ok_schema)}}
    for status in errors:
        responses[str(status)] = {"description": "The specification's error list",
                                  "content": _content(ERRORS)}
    unknown_format = responses.setdefault("404", {"description": "Not found", "content": {}})
    unknown_format["description"] += "; a format other than json or xml is answered as problem+json"
    unknown_format["content"].update(PROBLEM)
    for status in (429, 503):
        responses[str(status)] = {"description": "Come back after Retry-After seconds",
                                  "content": PROBLEM}
    operation = {"summary": summary, "tags": ["Open311 GeoReport v2"],
                 "parameters": [FORMAT, *parameters], "responses": responses}
    if body:
        operation["requestBody"] = {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": body}}}
    return operation


def _query(name, description):
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}}


def _path(name, description):
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


POST_FORM = {"type": "object", "required": ["api_key", "service_code", "description"], "properties": {
    name: {"type": "string"} for name in (
        "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
        "email", "device_id", "account_id", "first_name", "last_name", "phone", "description",
        "media_url", "attribute[community]")}}


def paths():
    jurisdiction = _query("jurisdiction_id", "A district code")
    return {
        "/open311/v2/discovery.{fmt}": {"get": _operation(
            "Service discovery", 200, _ref("Open311Discovery"), ())},
        "/open311/v2/services.{fmt}": {"get": _operation(
            "The services: the directory's categories", 200, _list_of("Open311Service"), (),
            [jurisdiction])},
        "/open311/v2/services/{code}.{fmt}": {"get": _operation(
            "A service's definition: its attributes (the community)", 200,
            _ref("Open311ServiceDefinition"), (400, 404),
            [_path("code", "A service code"), jurisdiction])},
        "/open311/v2/requests.{fmt}": {
            "post": _operation("Post a service request (form-encoded)", 201, _list_of("Open311Created"),
                               (400, 403, 413),
                               body=POST_FORM),
            "get": _operation("Service requests (at most 90 days, 1000): without a key, every"
                              " district's (or jurisdiction_id's) as each publishes them; with a"
                              " front-end key, its district's whole",
                              200, _list_of("Open311ServiceRequest"), (400, 403, 404), [
                                  KEY, _query("service_request_id", "Ids, comma-separated"),
                                  _query("service_code", "A service code"),
                                  _query("start_date", "ISO 8601, with its offset"),
                                  _query("end_date", "ISO 8601, with its offset"),
                                  _query("status", "open, closed, or both"),
                                  _query("jurisdiction_id", "A district code")])},
        "/open311/v2/requests/{request_id}.{fmt}": {"get": _operation(
            "One service request", 200, _list_of("Open311ServiceRequest"), (403, 404),
            [_path("request_id", "The service_request_id"), KEY])},
        "/open311/v2/tokens/{token}.{fmt}": {"get": _operation(
            "The request a token stands for (requests are created at once: the token is its id)",
            200, _list_of("Open311Token"), (403, 404), [_path("token", "A token"), KEY])},
    }
