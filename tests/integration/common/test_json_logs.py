"""A service process's log as an operator's collector reads it: intake, as its own OS
process on the real database and broker, in its default format and at DEBUG (the most an
operator may turn on), takes a concern, publishes its events, answers for it and applies a
ticket event about it. Every line it writes is one JSON object naming the service; the
lines about the concern name its ticket id and the id of each message, the access lines of
requests whose path names it (Open311's too) included, and never an id a client made up;
no line holds the reporter's name, phone or email. The admin CLI logs the same way, its
answer alone on stdout."""
import json
import os
import subprocess
import sys
from typing import NamedTuple

import psycopg
import pytest
import requests

from services.common.config import settings
from tests.support import events as made
from tests.support.server_process import stop
from tests.support.services import caught_up, wait_until
from tests.support.system import ROOT, free_port, fresh_system

REPORTER = {"name": "欧阳晓岚", "phone": "+8613811112222", "email": "ouyang.xl@residents-json.example",
            "wants_feedback": True, "locale": "zh-CN"}
PERSONAL = ("欧阳晓岚", "+8613811112222", "13811112222", "ouyang.xl@residents-json.example")
#: a ticket id no ticket has, and not in the shape of one: a client's own text
MADE_UP = "ZD-made-up-13812345678"
CONCERN_EVENTS = ("reporter.contact", "reporter.dispatch_contact", "concern.received")


class Run(NamedTuple):
    ticket_id: str
    published: dict   #: message id → type, of what intake's outbox published for the concern
    consumed: str     #: the message id of the ticket event intake applied
    text: str         #: everything the process wrote to stderr
    lines: list       #: each line, parsed
    admin: subprocess.CompletedProcess  #: `keys issue`, at DEBUG, in the default format


def read_lines(path):
    """The whole lines written so far, parsed (each must be a JSON object)."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]


def about(lines, **fields):
    return [line for line in lines if all(line.get(name) == value for name, value in fields.items())]


def outbox_of(ticket_id):
    with psycopg.connect(settings().database_url) as conn:
        return dict(conn.execute("SELECT message_id, type FROM intake.outbox WHERE body ->> 'ticket_id' = %s",
                                 (ticket_id,)).fetchall())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    keys, _, directory = fresh_system()
    port = free_port()
    path = tmp_path_factory.mktemp("json-logs") / "intake.log"
    env = {key: value for key, value in os.environ.items() if key != "ZD_LOG_FORMAT"}  # the default
    with open(path, "wb") as stderr:
        service = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=ROOT,
                                   env={**env, "ZD_INTAKE_PORT": str(port), "ZD_LOG_LEVEL": "DEBUG"},
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/health", timeout=1).status_code == 200,
                   timeout=60, what="intake up")
        wait_until(lambda: caught_up("intake"), what="intake has the directory and every key")
        posted = requests.post(f"{base}/api/v1/concerns", timeout=10, json={
            "external_id": "json-logs-1", "district": "baiyun", "community": "yuangang",
            "channel": "wechat", "description": "元岗路的下水道堵了，欧阳晓岚家门口全是污水",
            "reporter": REPORTER}, headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"})
        assert posted.status_code == 202, posted.text
        ticket_id = posted.json()["ticket_id"]
        published = outbox_of(ticket_id)
        assert sorted(published.values()) == sorted(CONCERN_EVENTS)
        wait_until(lambda: all(about(read_lines(path), message_id=message_id,
                                     logger="services.common.outbox_relay") for message_id in published),
                   what="each of the concern's messages published")
        shown = requests.get(f"{base}/api/v1/concerns/{ticket_id}", timeout=10,
                             headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"})
        assert shown.status_code == 200, shown.text
        made_up = requests.get(f"{base}/api/v1/concerns/{MADE_UP}", timeout=10,
                               headers={"Authorization": f"Bearer {keys['frontend:baiyun']}"})
        assert made_up.status_code == 404, made_up.text
        open311 = requests.get(f"{base}/open311/v2/requests/{ticket_id}.json", timeout=10)
        assert open311.status_code == 200, open311.text
        ticket = made.ticket_row(ticket_id, "dispatched", 2)
        (consumed,) = made.publish(made.ticket_event("dispatched", ticket, directory))
        wait_until(lambda: about(read_lines(path), message_id=consumed,
                                 logger="services.common.messaging"),
                   what="the ticket event applied")
    finally:
        stop(service)
    # intake stopped (it would relay the admin's outbox), the broker out of the CLI's reach:
    # the key is issued, and the CLI warns (a log line) that its announcement waits
    admin = subprocess.run([sys.executable, "-m", "services.admin", "keys", "issue", "admin"],
                           cwd=ROOT, env={**env, "ZD_AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"},
                           capture_output=True, text=True, timeout=120)
    assert admin.returncode == 0, admin.stderr
    return Run(ticket_id, published, consumed, path.read_text(encoding="utf-8"), read_lines(path),
               admin)


def test_every_line_is_one_json_object_naming_the_service(run):
    assert len(run.lines) == len(run.text.splitlines()) > 20
    for line in run.lines:
        assert line["service"] == "intake", line
        assert {"timestamp", "level", "logger", "message"} <= set(line), line
    assert {line["level"] for line in run.lines} >= {"DEBUG", "INFO"}


def test_each_message_published_for_the_concern_is_named_with_its_ticket(run):
    for message_id, message_type in run.published.items():
        (line,) = about(run.lines, message_id=message_id, logger="services.common.outbox_relay")
        assert line["ticket_id"] == run.ticket_id
        assert line["message"] == f"published {message_id} ({message_type}) to zd.events"


def test_the_event_applied_about_the_ticket_names_its_message_and_ticket(run):
    (line,) = about(run.lines, message_id=run.consumed, logger="services.common.messaging")
    assert line["ticket_id"] == run.ticket_id
    assert line["message"] == f"{run.consumed} (ticket.dispatched) from zd.intake.events: applied"


def test_the_workers_answering_for_the_ticket_name_it(run):
    """The POST binds the ticket id it drew, the GET the one its path names: the lines the
    container logs while either runs carry it."""
    for entrypoint in ("post_concern", "get_concern"):
        named = [line for line in about(run.lines, ticket_id=run.ticket_id,
                                        logger="nameko.containers") if entrypoint in line["message"]]
        assert named, entrypoint


def test_no_line_holds_the_reporters_name_phone_or_email(run):
    for detail in PERSONAL:
        assert detail not in run.text, f"{detail} is in the log"
    assert len(about(run.lines, ticket_id=run.ticket_id)) >= 6  # the lines were there to look in


def access_lines(lines, path):
    return [line for line in lines if line["logger"] == "nameko.web.server"
            and f" {path} HTTP/1.1" in line["message"]]


def test_the_access_lines_of_requests_naming_the_ticket_name_it(run):
    """The access line is written after the entrypoint's worker ended: the web server binds
    the path's ticket for the whole request, Open311's request id (the ticket's) too."""
    for path in (f"/api/v1/concerns/{run.ticket_id}", f"/open311/v2/requests/{run.ticket_id}.json"):
        (line,) = access_lines(run.lines, path)
        assert " 200 " in line["message"] and line["ticket_id"] == run.ticket_id, line
    named = [line for line in about(run.lines, ticket_id=run.ticket_id, logger="nameko.containers")
             if "open311_request" in line["message"]]
    assert named


def test_an_id_a_client_made_up_is_never_bound(run):
    (line,) = access_lines(run.lines, f"/api/v1/concerns/{MADE_UP}")
    assert " 404 " in line["message"] and "ticket_id" not in line, line
    answered = [line for line in run.lines if "get_concern answered 404" in line["message"]]
    assert answered and all("ticket_id" not in line for line in answered), answered
    assert not [line for line in run.lines if MADE_UP in line.get("ticket_id", "")]


def test_the_admin_cli_logs_json_lines_and_prints_its_answer_alone(run):
    """`keys issue` prints the key on stdout (what a person or script takes) and logs, as
    the services do, JSON lines on stderr: its warning that the broker did not take the
    announcement among them."""
    (key,) = run.admin.stdout.splitlines()
    assert key.startswith("zd_") and "{" not in key
    lines = [json.loads(line) for line in run.admin.stderr.splitlines()]
    assert lines and {line["service"] for line in lines} == {"admin"}
    (warned,) = [line for line in lines if "waits in the admin outbox" in line["message"]]
    assert (warned["level"], warned["logger"]) == ("WARNING", "services.admin.use_cases.operations")
    assert key.partition(".")[2] not in run.admin.stderr  # the secret part is never logged
