"""The development sink as a subprocess, for integration and end-to-end tests.

``Sink.start(tmp_path)`` runs ``python -m services.devsink`` on free ports, with its output
in ``tmp_path / "devsink.log"``, and waits until it answers. The test process is
eventlet-patched, so this uses only ``subprocess``, ``requests`` and ``time.sleep``.

    with Sink.start(tmp_path) as sink:
        env = {"ZD_SMTP_URL": sink.smtp_url, "ZD_SMS_GATEWAY_URL": sink.sms_url}
        ...
        sink.wait_for(lambda messages: [m for m in messages if m["kind"] == "sms"])

A reporter's SMS and WeChat messages carry the link to their concern's own page in
``params["link"]`` (the sentence sent, ``params["text"]``, ends with it):
``sink.reporter_link(ticket_id)`` is the link of the latest one naming the ticket.
"""
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.support.system import ROOT, free_port

PR_SET_PDEATHSIG = 1


def _stop_with_parent():
    """Linux: the sink gets SIGTERM when the test process dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Sink:
    def __init__(self, process, smtp_port, http_port, log_path, own_log):
        self.process, self.log_path, self._own_log = process, Path(log_path), own_log
        self.smtp_port, self.http_port = smtp_port, http_port
        self.smtp_url = f"smtp://127.0.0.1:{smtp_port}"
        self.http_url = f"http://127.0.0.1:{http_port}"
        self.sms_url = f"{self.http_url}/sms"
        self.wechat_url = f"{self.http_url}/wechat"

    @classmethod
    def start(cls, tmp_dir_or_log_path=None, timeout=15):
        """Start a sink; its output goes to ``<dir>/devsink.log``, the given file, or a temporary file."""
        log_path, own_log = _log_path(tmp_dir_or_log_path)
        smtp_port, http_port = free_port(), free_port()
        with open(log_path, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.devsink", "--bind", "127.0.0.1",
                 "--smtp-port", str(smtp_port), "--http-port", str(http_port)],
                cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, preexec_fn=_stop_with_parent)
        sink = cls(process, smtp_port, http_port, log_path, own_log)
        sink._wait_ready(timeout)
        return sink

    def webhook_url(self, name):
        return f"{self.http_url}/webhooks/{name}"

    def messages(self, kind=None):
        return self._view(kind)["messages"]

    def reporter_link(self, ticket_id=None, kind="sms", timeout=20):
        """The link to the reporter's own page in the latest ``kind`` message to a reporter
        (naming ``ticket_id`` when given) that carries one, waiting for it up to ``timeout``."""
        def linked(messages):
            return [message["params"]["link"] for message in messages
                    if message["kind"] == kind and message["template"].endswith(".reporter")
                    and message["params"].get("link")
                    and ticket_id in (None, message["params"].get("ticket_id"))]
        return self.wait_for(linked, timeout)[-1]

    def messages_after(self, after=0, kind=None):
        """``(messages, duplicates)``: the accepted messages with an id above ``after`` (of
        ``kind`` when given) and how many duplicates came so far, without the older
        messages nor the request log (``GET /messages.json?after=``)."""
        answer = requests.get(f"{self.http_url}/messages.json", timeout=30,
                              params={"after": after, **({"kind": kind} if kind else {})})
        answer.raise_for_status()
        view = answer.json()
        return view["messages"], view["duplicates"]

    def duplicates(self):
        return self._view()["duplicates"]

    def requests(self):
        return self._view()["requests"]

    def plan(self, path, responses):
        """Answer the next deliveries to ``path`` (``"/sms"``, ``"smtp"``, ...) with ``responses``."""
        answer = requests.post(f"{self.http_url}/_control/plan", json={"path": path, "responses": responses},
                               timeout=5)
        answer.raise_for_status()
        return answer.json()

    def reset(self):
        requests.post(f"{self.http_url}/_control/reset", timeout=5).raise_for_status()

    def wait_for(self, predicate, timeout=20):
        """Poll the accepted messages until ``predicate(messages)`` is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.messages()
            found = predicate(messages)
            if found:
                return found
            if time.monotonic() > deadline:
                summary = [(m["kind"], m.get("template") or m.get("subject") or m.get("endpoint"))
                           for m in messages]
                calls = [(r.get("path"), r.get("status"), r.get("at")) for r in self.requests()]
                raise AssertionError(f"the sink did not see what was expected in {timeout}s:"
                                     f" accepted {summary}; every call {calls}")
            time.sleep(0.1)

    def log(self):
        """What the sink printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._own_log:
            self.log_path.unlink(missing_ok=True)
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _view(self, kind=None):
        answer = requests.get(f"{self.http_url}/messages.json", params={"kind": kind} if kind else None,
                              timeout=5)
        answer.raise_for_status()
        return answer.json()

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                output = self.log()
                self.stop()
                raise RuntimeError(f"the sink exited with {self.process.returncode}:\n{output}")
            try:
                requests.get(f"{self.http_url}/messages.json", timeout=1).raise_for_status()
                return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    output = self.log()
                    self.stop()
                    raise RuntimeError(f"the sink did not answer in {timeout}s:\n{output}") from None
                time.sleep(0.1)


def _log_path(tmp_dir_or_log_path):
    """``(path, own)``: where the sink's output goes, and whether ``stop`` removes it."""
    if tmp_dir_or_log_path is None:
        descriptor, path = tempfile.mkstemp(prefix="devsink-", suffix=".log")
        os.close(descriptor)
        return Path(path), True
    path = Path(tmp_dir_or_log_path)
    return (path / "devsink.log" if path.is_dir() else path), False
