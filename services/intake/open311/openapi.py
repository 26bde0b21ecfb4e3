"""The Open311 paths of intake's OpenAPI document: each in JSON or XML (``{fmt}``), its
answers shaped as the GeoReport v2 specification says, its errors as the
specification's ``[{code, description}]``."""
RECORD = {"type": "object", "additionalProperties": True}
LIST = {"type": "array", "items": RECORD}
ERRORS = {"type": "array", "items": {"type": "object", "properties": {
    "code": {"type": "integer"}, "description": {"type": "string"}}}}
FORMAT = {"name": "fmt", "in": "path", "required": True, "description": "json or xml",
          "schema": {"type": "string", "enum": ["json", "xml"]}}
KEY = {"name": "api_key", "in": "query", "required": False,
       "description": "A front-end key of the district (or a bearer key)", "schema": {"type": "string"}}
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
            "Service discovery", 200, RECORD, ())},
        "/open311/v2/services.{fmt}": {"get": _operation(
            "The services: the directory's categories", 200, LIST, (), [jurisdiction])},
        "/open311/v2/services/{code}.{fmt}": {"get": _operation(
            "A service's definition: its attributes (the community)", 200, RECORD, (400, 404),
            [_path("code", "A service code"), jurisdiction])},
        "/open311/v2/requests.{fmt}": {
            "post": _operation("Post a service request (form-encoded)", 201, LIST, (400, 403, 413),
                               body=POST_FORM),
            "get": _operation("Service requests of the key's district (at most 90 days, 1000)",
                              200, LIST, (400, 403), [
                                  KEY, _query("service_request_id", "Ids, comma-separated"),
                                  _query("service_code", "A service code"),
                                  _query("start_date", "ISO 8601, with its offset"),
                                  _query("end_date", "ISO 8601, with its offset"),
                                  _query("status", "open, closed, or both")])},
        "/open311/v2/requests/{request_id}.{fmt}": {"get": _operation(
            "One service request", 200, LIST, (403, 404),
            [_path("request_id", "The service_request_id"), KEY])},
        "/open311/v2/tokens/{token}.{fmt}": {"get": _operation(
            "The request a token stands for (requests are created at once: the token is its id)",
            200, LIST, (403, 404), [_path("token", "A token"), KEY])},
    }
