"""The admin CLI's commands that belong to another service ask it over HTTP with the
admin key (``ZD_ADMIN_API_KEY``): the category report (routing), the read model's
rebuild (reporting). A service that cannot be reached, or refuses the key, ends the
command with a message saying what to do and a non-zero status."""
import re
import subprocess
import sys

import psycopg
import pytest

from services.admin.cli import main
from services.common.config import settings
from tests.support import events as made
from tests.support.office_changes import LEAKS, SEWER, dispatch, receive
from tests.support.services import running, wait_until
from tests.support.system import ROOT, free_port, fresh_system


@pytest.fixture(scope="module")
def services():
    keys, _, _ = fresh_system()
    with running("routing") as routing, running("reporting") as reporting:
        yield {"routing": routing, "reporting": reporting, "keys": keys}


@pytest.fixture
def asking(services, monkeypatch):
    """The environment an operator's shell gives the CLI: where the services are, the key."""
    monkeypatch.setenv("ZD_ROUTING_URL", services["routing"])
    monkeypatch.setenv("ZD_REPORTING_URL", services["reporting"])
    monkeypatch.setenv("ZD_ADMIN_API_KEY", services["keys"]["admin"])
    return services


def refusal(argv):
    """The message the command ends with (SystemExit: status 1, the message on stderr)."""
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert isinstance(ended.value.code, str), "a message, hence status 1"
    return ended.value.code


def test_the_category_report_is_printed_as_routing_counts_it(asking, capsys):
    routing, keys = asking["routing"], asking["keys"]
    for n, text in enumerate(LEAKS):
        ticket_id = receive(routing, keys, n, text)["ticket_id"]
        assert dispatch(routing, keys, ticket_id, "water-supply").status_code == 200
    receive(routing, keys, 9, SEWER)
    capsys.readouterr()
    main(["category-report", "--days", "30"])
    printed = capsys.readouterr().out.splitlines()
    assert printed[:4] == [
        "categories the keywords chose in the last 30 days, and the office's changes:",
        "chosen                    tickets  changed  changed to",
        "none                            3        3 (100%)  water-supply 3",
        "drainage                        1        0 (0%)  "]
    assert printed[4] == "keywords to add (words shared by the tickets the office moved there):"
    assert printed[5].startswith("  water-supply: 漏水 (3 tickets)")
    assert len(printed) == 6


def test_the_read_model_is_rebuilt_by_reporting_and_its_counts_printed(asking, capsys):
    sent = made.publish(*made.concern_events("ZD20260302-00000077", category="drainage"))
    wait_until(lambda: applied_by_reporting(sent), timeout=30, what="reporting applied the concern")
    capsys.readouterr()
    main(["reporting", "rebuild"])
    printed = capsys.readouterr().out.strip()
    found = re.fullmatch(r"read model rebuilt from (\d+) events: (\d+) tickets, 0 ratings in"
                         r" [\d.]+ s \(the consumer waited [\d.]+ s\)", printed)
    assert found, printed
    assert int(found.group(1)) >= 1 and int(found.group(2)) >= 1


def applied_by_reporting(sent):
    """Reporting applied the events ``sent`` (their message ids)."""
    with psycopg.connect(settings().database_url) as conn:
        return conn.execute("SELECT count(*) FROM reporting.inbox WHERE message_id = ANY(%s)",
                            (sent,)).fetchone()[0] == len(sent)


def test_a_key_of_another_party_is_refused_with_what_to_give(asking, monkeypatch):
    monkeypatch.setenv("ZD_ADMIN_API_KEY", asking["keys"]["congress:baiyun"])
    said = refusal(["category-report"])
    assert said.startswith("category-report: routing refused the key in ZD_ADMIN_API_KEY (403:")
    assert said.endswith("give it an active key of the party admin")
    said = refusal(["reporting", "rebuild"])
    assert said.startswith("reporting: reporting refused the key in ZD_ADMIN_API_KEY (403:")


def test_an_unknown_key_is_refused_and_no_key_is_asked_for(asking, monkeypatch):
    monkeypatch.setenv("ZD_ADMIN_API_KEY", "zd_nosuchkey.secret")
    assert "refused the key in ZD_ADMIN_API_KEY (401:" in refusal(["reporting", "rebuild"])
    monkeypatch.delenv("ZD_ADMIN_API_KEY")
    assert refusal(["category-report"]) == \
        "category-report: set ZD_ADMIN_API_KEY to a key of the party admin: routing is asked with it"


def test_a_service_that_cannot_be_reached_ends_the_command_with_status_1(tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}"
    ended = subprocess.run([sys.executable, "-m", "services.admin", "category-report"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60,
                           env={"PATH": "/usr/bin:/bin", "ZD_ROUTING_URL": nowhere,
                                "ZD_ADMIN_API_KEY": "zd_any.key"})
    assert ended.returncode == 1 and ended.stdout == ""
    assert ended.stderr.startswith(f"category-report: routing cannot be reached at {nowhere}")
    assert "ZD_ROUTING_URL says where it is" in ended.stderr
