"""No secret reaches a log line: an Open311 ``api_key`` in the query string, a bearer key,
a key in a request line the HTTP server cannot even parse. Intake on the real database
and broker, in the test process (its log captured) and as its own OS process (its
stderr read)."""
import logging
import os
import socket
import subprocess
import sys

import pytest
import requests

from services.common.credentials import split_key
from tests.support.server_process import stop
from tests.support.services import running, wait_until
from tests.support.system import ROOT, free_port, fresh_system

ACCESS_LOG = "nameko.web.server"


@pytest.fixture(scope="module")
def keys():
    """Every party's API key, by party, on a fresh system."""
    return fresh_system().keys


def secret_of(key):
    return split_key(key)[1]


def raw_request(base, request_line):
    """Sends ``request_line`` as it is (no client would), and reads the whole answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request_line.encode() + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def calls_carrying(base, key):
    """Every way a key travels with a request, each answered."""
    answers = [
        requests.get(f"{base}/open311/v2/requests.json", params={"api_key": key}, timeout=10),
        requests.get(f"{base}/open311/v2/requests.json",
                     params={"status": "open", "api_key": key, "service_code": "drainage"},
                     timeout=10),
        requests.get(f"{base}/api/v1/concerns/no-such-ticket", timeout=10,
                     headers={"Authorization": f"Bearer {key}"}),
        requests.get(f"{base}/open311/v2/requests.json?api%5Fkey={key}", timeout=10),
        requests.get(f"{base}/nowhere?password=hunter2&api_key={key}", timeout=10),
    ]
    # a request line the server refuses before any entrypoint sees it
    bad_syntax = raw_request(base, f"GET /open311/v2/requests.json?api_key={key} extra HTTP/1.1")
    assert bad_syntax.startswith(b"HTTP/1.1 400"), bad_syntax[:80]
    return answers


def test_a_services_log_holds_no_key_sent_in_the_query_or_a_header(keys, caplog):
    key = keys["frontend:baiyun"]
    caplog.set_level(logging.DEBUG)
    with running("intake", ZD_RATE_LIMIT=1000) as base:
        caplog.clear()
        answers = calls_carrying(base, key)
    assert [answer.status_code for answer in answers] == [200, 200, 404, 200, 404]
    service_records = [record for record in caplog.records  # not the test's own client's
                       if not record.name.startswith("urllib3")]
    logged = "".join(record.getMessage() + str(record.exc_text) for record in service_records)
    assert secret_of(key) not in logged
    assert "hunter2" not in logged
    access = [record.getMessage() for record in service_records if record.name == ACCESS_LOG]
    # the requests are still logged, each with its path and what the query was
    assert any('"GET /open311/v2/requests.json?api_key=[redacted] HTTP/1.1" 200' in line
               for line in access), access
    assert any("status=open&api_key=[redacted]&service_code=drainage" in line for line in access)


def test_a_service_process_writes_no_key_to_its_stderr(keys, tmp_path):
    key = keys["frontend:baiyun"]
    port = free_port()
    log = tmp_path / "intake.log"
    service = subprocess.Popen([sys.executable, "-m", "services.intake"], cwd=ROOT,
                               env={**os.environ, "ZD_INTAKE_PORT": str(port), "ZD_LOG_LEVEL": "DEBUG",
                                    "ZD_RATE_LIMIT": "1000"},
                               stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/health", timeout=1).status_code == 200,
                   timeout=60, what="intake up")
        # the service has every key once its copy of the credentials answers
        wait_until(lambda: requests.get(f"{base}/open311/v2/requests.json", params={
            "api_key": key}, timeout=5).status_code == 200, timeout=30, what="the key known")
        calls_carrying(base, key)
        wait_until(lambda: "extra HTTP/1.1" in log.read_text(errors="replace"), timeout=10,
                   what="the refused request line logged")
    finally:
        stop(service)
    written = log.read_text(errors="replace")
    assert "requests.json?api_key=[redacted]" in written
    assert secret_of(key) not in written
    assert "hunter2" not in written
