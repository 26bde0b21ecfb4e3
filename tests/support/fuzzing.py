"""Schemathesis against the services' OpenAPI documents: what is checked, and how many
cases each operation received.

Every answer must be documented (status, media type, headers, body schema), nothing
may answer 5xx, data that breaks the document must be refused, and an operation that
needs a key must refuse a call without one. ``CASES`` counts the calls per operation;
the suite prints them at its end.
"""
import zlib
from collections import Counter

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

#: (service, "METHOD /path") → answers by status class ("2xx", "4xx", ...)
CASES = {}


@schemathesis.check
def counted(ctx, response, case):
    """Not a check: records the answer's status class for the summary."""
    service = case.operation.schema.raw_schema["info"]["title"].split()[-1]
    label = f"{case.operation.method.upper()} {case.operation.path}"
    answers = CASES.setdefault((service, label), Counter())
    answers[f"{response.status_code // 100}xx"] += 1


CHECKS = [
    counted,
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
    checks.unsupported_method,
]

EXAMPLES = 100  # per operation and generation phase
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))


def bearer_keys(schema, key_for):
    """Schemathesis puts ``Authorization: Bearer <key_for(case)>`` into the cases it
    generates with a key, and knows which it leaves without one on purpose."""
    @schema.auth(refresh_interval=None)
    class BearerKey:
        def get(self, case, context):
            return key_for(case)

        def set(self, case, key, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
    return BearerKey


def use_real_values(case, **values):
    """Puts real ids (``values``, by parameter or body field name) into half of the
    schema-valid cases, so that the operations answer with what they find, not only 404.
    Which half is decided by the generated values themselves (the same on every run); a
    case whose data breaks the document on purpose is left as generated."""
    if case.meta is None or str(case.meta.generation.mode) != "positive":
        return
    if zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()) % 2:
        return
    for location in ("path_parameters", "query"):
        present = getattr(case, location) or {}
        real = {name: values[name] for name in present if name in values}
        if real:
            setattr(case, location, {**present, **real})
    if isinstance(case.body, dict) and (real := {
            name: values[name] for name in case.body if name in values}):
        case.body = {**case.body, **real}


def summary():
    """Lines for the end of the test run: cases per service and per operation."""
    if not CASES:
        return []
    total = sum(sum(answers.values()) for answers in CASES.values())
    lines = [f"schemathesis: {total} cases over {len(CASES)} operations"]
    for service in sorted({service for service, _ in CASES}):
        operations = {name: answers for (owner, name), answers in CASES.items() if owner == service}
        lines.append(f"  {service}: {sum(sum(a.values()) for a in operations.values())} cases")
        lines += [f"    {sum(answers.values()):5d}  {name}  "
                  + ", ".join(f"{kind}: {n}" for kind, n in sorted(answers.items()))
                  for name, answers in sorted(operations.items())]
    return lines
