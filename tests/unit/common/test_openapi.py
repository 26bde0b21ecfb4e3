"""Every service's OpenAPI document is valid and lists every HTTP entrypoint it has but the
workbench's pages, which are for people and listed in docs/workbench.md."""
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from services.common.http import ApiHandler
from services.common.pages import PageHandler
from services.common.runner import SERVICE_CLASSES, service_class


def routes_of(cls, kind=ApiHandler, but=PageHandler):
    """(method, OpenAPI path) of every ``kind`` entrypoint of a service class (not ``but``)."""
    routes = set()
    for name in dir(cls):
        for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, kind) and not (but and isinstance(entrypoint, but)):
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


def test_docs_list_every_page_of_the_workbench():
    pages = routes_of(service_class("routing"), kind=PageHandler, but=None)
    listed = (Path(__file__).resolve().parents[3] / "docs" / "workbench.md").read_text(encoding="utf-8")
    assert pages and len(pages) > 10
    for _, path in pages:
        assert re.sub(r"\{(\w+)\}", r"<\1>", path) in listed, path


def test_concern_body_is_documented_from_the_validating_schema():
    document = service_class("intake").openapi_document
    concern = document["components"]["schemas"]["Concern"]
    assert set(concern["required"]) == {"external_id", "district", "community", "channel",
                                        "description"}
    assert concern["properties"]["channel"]["enum"][0] == "liaison_station"
