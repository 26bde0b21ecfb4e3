"""Whatever text a client puts into the path segments and query parameters of any GET
operation of any service, the answer is never a 5xx, and a 4xx is a problem+json
document (Open311's own error list on its paths, as its specification says).
Property-based (hypothesis), with each service's own key, on the real database and
broker: NUL and other control characters, lone surrogates sent as their UTF-8 bytes
(%ED%A0%80), bytes that are not UTF-8, dates at both ends of the calendar, huge numbers,
repeated and unknown parameters."""
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.openapi import SPEC as INTAKE_SPEC
from services.notify.openapi import SPEC as NOTIFY_SPEC
from services.reporting.openapi import SPEC as REPORTING_SPEC
from services.routing.openapi import SPEC as ROUTING_SPEC
from tests.support.services import RunningServices, running
from tests.support.system import fresh_system

EXAMPLES = 60  # per operation
PROBLEM = "application/problem+json"
OPEN311 = "/open311/"
SPECS = {"intake": INTAKE_SPEC, "routing": ROUTING_SPEC, "notify": NOTIFY_SPEC,
         "reporting": REPORTING_SPEC}
KEY_OF = {"intake": "frontend:baiyun", "routing": "congress:baiyun", "notify": "admin",
          "reporting": "admin"}
UNLIMITED = {"ZD_RATE_LIMIT": 1_000_000, "ZD_AUTH_FAILURES_PER_MINUTE": 1_000_000}


def get_operations():
    """``(service, path template, {name: (where, its values if it has a list of them)})``
    of every GET operation, and an unknown path per service."""
    operations = []
    for service, spec in SPECS.items():
        for path, methods in spec["paths"].items():
            if "get" in methods:
                parameters = {parameter["name"]: (parameter["in"],
                                                  parameter.get("schema", {}).get("enum"))
                              for parameter in methods["get"].get("parameters", [])}
                operations.append((service, path, parameters))
        operations.append((service, "/api/v1/{anything}", {"anything": ("path", None)}))
    return operations


#: already percent-encoded: what a client may send that no text quotes to
RAW = ["%00", "%ED%A0%80", "%ED%B0%80", "%FF", "%C0%80", "%E4%B8", "%25", "%2F", "%0A", "%0D",
       "%7F", "%1B"]
DATES = ["9999-12-31T00:00:00Z", "0001-01-01", "0001-01-01T00:00:00Z", "9999-12-31",
         "9999-12-31T23:59:59-12:00", "2026-02-30", "2026-01-01T00:00:00+23:59",
         "2026-01-01T25:00:00Z"]
ODD_TEXT = ["-1", "0", "1e309", "NaN", "99999999999999999999999",
            "true", "open", "closed", "json", "xml", "csv", "baiyun", "drainage",
            "ZD20260101-00000000", "zd_0123456789ab.not-a-key", "\x00", "a\x00b", "\t\n",
            "𠜎" * 40, "../../etc/passwd", "%", "&", "=", "?", "#", "+", " "]

odd_values = st.sampled_from(DATES + ODD_TEXT).map(lambda text: quote(text, safe=""))
pieces = st.one_of(
    st.sampled_from(RAW),  # sent as it is
    odd_values,
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20).map(
        lambda text: quote(text, safe="")),
)
#: a value as it travels in the URL: one odd value whole, or percent-encoded text and raw
#: escapes mixed
encoded_values = st.one_of(st.sampled_from(DATES).map(lambda text: quote(text, safe="")),
                           odd_values, st.lists(pieces, min_size=0, max_size=4).map("".join))


@st.composite
def requests_for(draw, parameters):
    """``(path values, query pairs)`` for an operation: each path parameter a value, the
    documented query parameters some of them, sometimes twice, sometimes others."""
    path_values = {name: draw(_path_value(enum)) for name, (where, enum) in parameters.items()
                   if where == "path"}
    query_names = [name for name, (where, _) in parameters.items() if where == "query"]
    chosen = draw(st.lists(st.sampled_from(query_names), max_size=len(query_names) + 1)) \
        if query_names else []
    extra = draw(st.lists(encoded_values, max_size=1))
    pairs = [(quote(name, safe=""), draw(encoded_values)) for name in chosen]
    pairs += [(name, draw(encoded_values)) for name in extra]
    return path_values, pairs


def _path_value(enum):
    """A segment whose values are listed (Open311's format) is one of them, so that the
    operation is reached (any other path is the unknown path's case); any other is anything."""
    return st.sampled_from(enum) if enum else encoded_values


@pytest.fixture(scope="module")
def four_services():
    keys, _, _ = fresh_system()
    with running("intake", **UNLIMITED) as intake, running("routing", **UNLIMITED) as routing, \
            running("notify", **UNLIMITED) as notify, \
            running("reporting", **UNLIMITED) as reporting:
        yield RunningServices(keys, intake, routing, notify, reporting)


def url_of(base, template, path_values, pairs):
    path = template
    for name, value in path_values.items():
        path = path.replace("{" + name + "}", value)
    query = "&".join(f"{name}={value}" for name, value in pairs)
    return f"{base}{path}?{query}" if query else f"{base}{path}"


def assert_answered_well(answer, template):
    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    if answer.status_code >= 400:
        content_type = answer.headers.get("Content-Type", "")
        if template.startswith(OPEN311) and not content_type.startswith(PROBLEM):
            assert content_type.startswith(("application/json", "text/xml")), content_type
            assert "code" in answer.text and "description" in answer.text, answer.text[:300]
        else:
            assert content_type == PROBLEM, (answer.status_code, content_type, answer.text[:300])
            problem = answer.json()
            assert problem["status"] == answer.status_code
            if answer.status_code == 400:
                assert problem.get("errors"), problem


@pytest.mark.parametrize("service, template, parameters", get_operations(),
                         ids=[f"{service} {path}" for service, path, _ in get_operations()])
def test_no_path_or_query_of_a_get_is_a_server_error(four_services, service, template, parameters):
    base, key = four_services.base(service), four_services.keys[KEY_OF[service]]
    if service == "routing" and "{department}" in template:
        key = four_services.keys["department:baiyun-water"]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(request=requests_for(parameters), with_key=st.booleans())
    def answers_well(request, with_key):
        path_values, pairs = request
        if template.startswith(OPEN311) and with_key:
            pairs = [("api_key", key), *pairs]  # the first of a name is the one read
        url = url_of(base, template, path_values, pairs)
        answer = requests.get(url, timeout=30,
                              headers={"Authorization": f"Bearer {key}"} if with_key else {})
        assert_answered_well(answer, template)

    answers_well()
