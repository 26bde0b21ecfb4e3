"""The development stack: the four services as four OS processes.

``python -m services.devstack`` starts intake, routing, notify and reporting with
``python -m services.<name>``, waits until every ``/health`` answers 200, prints the
URLs, and stops them all on Ctrl-C or SIGTERM (or when any one of them dies).
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


PR_SET_PDEATHSIG = 1


def _stop_with_parent():
    """Linux: the service gets SIGTERM when the stack process dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Stack:
    def __init__(self, env=None, names=SERVICES, log_dir=None):
        self.env = {**os.environ, **(env or {})}
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


def main():
    stack = Stack()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    try:
        stack.start()
        print("\nZero Distance is running:")
        for name in SERVICES:
            print(f"  {name:<10} {stack.url(name)}   (health: {stack.url(name)}/health)")
        print("  keys       var/demo-keys.json, department users var/demo-amqp-users.json")
        print("Ctrl-C stops everything.\n", flush=True)
        while not stopping:
            stack.check_alive()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        stack.stop()
        sys.exit(1)
    print("stopping the services...", flush=True)
    stack.stop()


if __name__ == "__main__":
    main()
