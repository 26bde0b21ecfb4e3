"""The development stack: the four services as four OS processes.

``python -m services.devstack`` starts intake, routing, notify and reporting with
``python -m services.<name>``, waits until every ``/health`` answers 200, prints the
URLs, and stops them all on Ctrl-C or SIGTERM (or when any one of them dies). Unless
a notification channel is configured (``ZD_SMTP_URL``, ``ZD_SMS_GATEWAY_URL``,
``ZD_WECHAT_GATEWAY_URL``), it first starts the development sink
(``services.devsink``: SMTP on 1025, gateways, webhooks and a page on 8025) and points
every channel at it, so each message the system sends shows there and in the log.
Unless ``ZD_REPORTER_LINK`` is given, a reporter's messages link their page on this
stack's intake, at whatever port it runs (``/c/{token}``).
The services log as text there (``ZD_LOG_FORMAT=text``, unless given), for a person at
the terminal; ``Stack`` alone leaves them their default, JSON lines.
The end-to-end tests and the benchmark start the same processes through ``Stack``.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time

import requests

from services.common.config import settings

SERVICES = ("intake", "routing", "notify", "reporting")
CHANNEL_SETTINGS = ("ZD_SMTP_URL", "ZD_SMS_GATEWAY_URL", "ZD_WECHAT_GATEWAY_URL")
SINK_SMTP_PORT, SINK_HTTP_PORT = 1025, 8025


PR_SET_PDEATHSIG = 1


def _stop_with_parent():
    """Linux: the service gets SIGTERM when the stack process dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Stack:
    def __init__(self, env=None, names=SERVICES, log_dir=None):
        self.env = {**os.environ, **(env or {})}
        self.env.setdefault("ZD_REPORTER_LINK", f"{self.url('intake')}/c/{{token}}")
        self.names = names
        self.log_dir = log_dir
        self.processes = {}

    def url(self, name):
        port = self.env.get(f"ZD_{name.upper()}_PORT") or settings().port(name)
        return f"http://{self.env.get('ZD_BIND', '127.0.0.1')}:{port}"

    def start(self, timeout=60, names=None):
        """Start ``names`` (default: all of the stack's) and wait until they are healthy."""
        for name in names or self.names:
            output = open(os.path.join(self.log_dir, f"{name}.log"), "ab") if self.log_dir else None
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"], env=self.env,
                stdout=output, stderr=subprocess.STDOUT if output else None,
                preexec_fn=_stop_with_parent)
        self.wait_healthy(timeout, names or self.names)
        return self

    def crash(self, name):
        """Kill one service without letting it clean up (SIGKILL)."""
        process = self.processes.pop(name)
        process.kill()
        process.wait()

    def wait_healthy(self, timeout, names):
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending and time.monotonic() < deadline:
            self.check_alive()
            for name in list(pending):
                try:
                    if requests.get(f"{self.url(name)}/health", timeout=1).status_code == 200:
                        pending.discard(name)
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        if pending:
            self.stop()
            raise RuntimeError(f"not healthy after {timeout}s: {', '.join(sorted(pending))}")

    def check_alive(self):
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with code {process.returncode}")

    def stop(self, grace=15):
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class SinkFailed(RuntimeError):
    """The development sink could not start (its ports are taken, most likely)."""


def start_sink():
    """The development sink, when no channel is configured: ``(process, channel settings)``."""
    if any(os.environ.get(name) for name in CHANNEL_SETTINGS):
        return None, {}
    process = subprocess.Popen(
        [sys.executable, "-m", "services.devsink", "--smtp-port", str(SINK_SMTP_PORT),
         "--http-port", str(SINK_HTTP_PORT)], preexec_fn=_stop_with_parent)
    page = f"http://127.0.0.1:{SINK_HTTP_PORT}"
    deadline = time.monotonic() + 15
    while True:
        try:
            requests.get(f"{page}/messages.json", timeout=1).raise_for_status()
            break
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise SinkFailed(
                    f"the development sink did not start: are ports {SINK_SMTP_PORT} and"
                    f" {SINK_HTTP_PORT} free? (Or set ZD_SMTP_URL, ZD_SMS_GATEWAY_URL and"
                    " ZD_WECHAT_GATEWAY_URL to channels of your own.)") from None
            time.sleep(0.2)
    return process, {"ZD_SMTP_URL": f"smtp://127.0.0.1:{SINK_SMTP_PORT}",
                     "ZD_SMS_GATEWAY_URL": f"{page}/sms", "ZD_WECHAT_GATEWAY_URL": f"{page}/wechat"}


def main():
    try:
        sink, channels = start_sink()
    except SinkFailed as failure:
        print(f"devstack: {failure}", file=sys.stderr)
        sys.exit(1)
    # a person reads these lines in the terminal: text, unless ZD_LOG_FORMAT says otherwise
    stack = Stack(env={"ZD_LOG_FORMAT": os.environ.get("ZD_LOG_FORMAT") or "text", **channels})
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        stack.start()
        print("\nZero Distance is running:")
        for name in SERVICES:
            print(f"  {name:<10} {stack.url(name)}   (health: {stack.url(name)}/health)")
        print(f"  workbench  {stack.url('routing')}/workbench/   (representatives, offices and"
              " departments sign in with the code the sink shows; docs/workbench.md)")
        print(f"  dashboard  {stack.url('reporting')}/dashboard")
        print("  keys       var/demo-keys.json, department users var/demo-amqp-users.json")
        if sink is not None:
            print(f"  messages   http://127.0.0.1:{SINK_HTTP_PORT} (development sink: every email,"
                  " SMS, WeChat message and webhook sent)")
        print("Ctrl-C stops everything.\n", flush=True)
        while not stopping:
            stack.check_alive()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        stack.stop()
        if sink is not None:
            sink.terminate()
        sys.exit(1)
    print("stopping the services...", flush=True)
    stack.stop()
    if sink is not None:
        sink.terminate()
        sink.wait(5)


if __name__ == "__main__":
    main()
