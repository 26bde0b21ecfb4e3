"""Every service's OpenAPI document is valid and lists every HTTP entrypoint it has."""
import re

import pytest
from openapi_spec_validator import validate

from services.common.http import ApiHandler
from services.common.runner import SERVICE_CLASSES, service_class


def routes_of(cls):
    """(method, OpenAPI path) of every ``api`` entrypoint of a service class."""
    routes = set()
    for name in dir(cls):
        for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, ApiHandler):
                path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", entrypoint.url)
                routes.add((entrypoint.method.lower(), path))
    return routes


@pytest.mark.parametrize("name", sorted(SERVICE_CLASSES))
def test_document_is_valid_openapi(name):
    validate(service_class(name).openapi_document)


@pytest.mark.parametrize("name", sorted(SERVICE_CLASSES))
def test_document_lists_every_entrypoint(name):
    cls = service_class(name)
    documented = {(method, path) for path, operations in cls.openapi_document["paths"].items()
                  for method in operations}
    assert routes_of(cls) - {("get", "/openapi.json")} == documented


def test_concern_body_is_documented_from_the_validating_schema():
    document = service_class("intake").openapi_document
    concern = document["components"]["schemas"]["Concern"]
    assert set(concern["required"]) == {"external_id", "district", "community", "channel",
                                        "description"}
    assert concern["properties"]["channel"]["enum"][0] == "liaison_station"
