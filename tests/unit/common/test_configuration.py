"""Every environment variable the code reads is in ``config.VARIABLES``, and the interface
reference's configuration table (docs/reference.md) says the same as that list."""
import io
import re
import tokenize

import pytest

from services.common.config import SERVICES, VARIABLES, nameko_config
from tests.support.system import ROOT

#: nameko container config keys that are not environment variables
CONFIG_ONLY = {"ZD_POOL_SIZE"}
NAME = re.compile(r"""^f?["']((?:ZD|OTEL)_[A-Za-z0-9_{}.()]+)["']$""")
PER_SERVICE = re.compile(r"\{\w+\.upper\(\)\}")


#: where config.py names a variable to list it, not to read it
LISTING = {"Variable", "_each_service"}


def names_in_code():
    """Every string literal of services/ that is exactly a ZD_ (or OpenTelemetry's OTEL_)
    name, except where ``VARIABLES`` lists it; a name built with ``{service.upper()}`` stands
    for each service's."""
    found = set()
    for path in (ROOT / "services").rglob("*.py"):
        tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline))
        for before, token in zip([None, None, *tokens], tokens, strict=False):  # two back
            if before is not None and before.string in LISTING:
                continue
            match = token.type == tokenize.STRING and NAME.match(token.string)
            if match:
                name = match.group(1)
                found |= ({PER_SERVICE.sub(s.upper(), name) for s in SERVICES}
                          if PER_SERVICE.search(name) else {name})
    return found - CONFIG_ONLY


def test_every_variable_the_code_reads_is_listed_and_every_listed_one_is_read():
    listed = {variable.name for variable in VARIABLES}
    assert len(listed) == len(VARIABLES)
    assert names_in_code() == listed


def reference_rows():
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    section = text[text.index("## Configuration\n"):text.index("\n## ", text.index("## Configuration\n") + 5)]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith(("| `ZD_", "| `OTEL_")) and len(cells) == 4:
            for name in re.findall(r"`((?:ZD|OTEL)_[A-Z0-9_]+)`", cells[0]):
                rows[name] = cells
    return rows


def test_the_reference_table_gives_each_variable_its_default_and_who_is_given_it():
    rows = reference_rows()
    assert set(rows) - {"ZD_TEST_DATABASE_URL", "ZD_TEST_AMQP_URI"} == {v.name for v in VARIABLES}
    for variable in VARIABLES:
        _, default, given_to, meaning = rows[variable.name]
        assert (variable.default in default) if variable.default else default == "unset"
        assert given_to == (", ".join(variable.used_by) if not variable.optional_for
                            else "optional: " + ", ".join(variable.optional_for))
        assert meaning == variable.meaning


def test_the_trace_variables_are_read_by_the_four_services_and_required_of_none():
    rows = reference_rows()
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        assert rows[name][2] == "optional: intake, routing, notify, reporting"


def test_a_service_connects_with_its_own_url_and_uri_when_given(monkeypatch):
    monkeypatch.setenv("ZD_DATABASE_URL", "postgresql://owner@db/zd")
    monkeypatch.setenv("ZD_AMQP_URI", "amqp://admin:a@mq/zd")
    monkeypatch.setenv("ZD_ROUTING_DATABASE_URL", "postgresql://zd_routing:r@db/zd")
    monkeypatch.setenv("ZD_ROUTING_AMQP_URI", "amqps://zd-routing:r@mq-1:5671/zd;amqps://zd-routing:r@mq-2:5671/zd")
    routing, intake = nameko_config("routing"), nameko_config("intake")
    assert routing["ZD_DATABASE_URL"] == "postgresql://zd_routing:r@db/zd"
    assert routing["AMQP_URI"].startswith("amqps://zd-routing:r@mq-1:5671/zd;")
    assert (intake["ZD_DATABASE_URL"], intake["AMQP_URI"]) == ("postgresql://owner@db/zd",
                                                                "amqp://admin:a@mq/zd")


def test_the_queue_consumer_asks_the_broker_for_heartbeats_every_ten_seconds_by_default(monkeypatch):
    """nameko's own default (60 s) would take two minutes to find a silent broker."""
    monkeypatch.delenv("ZD_AMQP_HEARTBEAT_SECONDS", raising=False)
    assert nameko_config("intake")["HEARTBEAT"] == 10
    monkeypatch.setenv("ZD_AMQP_HEARTBEAT_SECONDS", " 15 ")
    assert nameko_config("notify")["HEARTBEAT"] == 15
    monkeypatch.setenv("ZD_AMQP_HEARTBEAT_SECONDS", "0")
    assert nameko_config("routing")["HEARTBEAT"] == 0


@pytest.mark.parametrize("given", ["-5", "2.5", "ten", "", "65536", "１０"])
def test_a_heartbeat_that_is_not_whole_seconds_stops_the_service_with_the_variable_named(
        monkeypatch, given):
    monkeypatch.setenv("ZD_AMQP_HEARTBEAT_SECONDS", given)
    with pytest.raises(ValueError, match="ZD_AMQP_HEARTBEAT_SECONDS must be a whole number"):
        nameko_config("reporting")
