"""Every service serves its API reference at ``/docs``: its own OpenAPI document rendered
by the vendored Redoc, with nothing loaded from elsewhere (it works offline)."""
import re

import pytest
import requests

from services.common import api_docs
from tests.support.services import running
from tests.support.system import fresh_system


@pytest.fixture(scope="module", autouse=True)
def reset_system():
    """The system reset once for this module: the services need a directory and keys."""
    fresh_system()


@pytest.mark.parametrize("service", ["intake", "reporting"])
def test_the_reference_page_renders_the_services_own_document_offline(service):
    with running(service) as base:
        page = requests.get(f"{base}/docs", timeout=10)
        script = requests.get(f"{base}{api_docs.SCRIPT_PATH}", timeout=10)
        document = requests.get(f"{base}/openapi.json", timeout=10).json()
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert '<redoc spec-url="/openapi.json"></redoc>' in page.text
    assert document["info"]["title"] in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), "nothing from a CDN"
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert script.content == api_docs.REDOC_BUNDLE.read_bytes()
    assert {"/docs", api_docs.SCRIPT_PATH} <= set(document["paths"])
