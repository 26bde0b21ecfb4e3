"""A test server run as its own process (the test process is eventlet-patched): started
with ``launch``, ready once its port takes a connection, stopped on leaving ``with``.

Subclasses (``slow_http.SlowHttp``, ``smtp_tls.SmtpServer``) say what they are (``kind``,
for the errors) and how they read what the server recorded.
"""
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    kind = "server"

    def __init__(self, process, port, record_path):
        self.process, self.port, self.record_path = process, port, record_path

    @classmethod
    def launch(cls, module, arguments, port, record_path, timeout):
        """Run ``python -m module *arguments`` and wait until it listens on ``port``."""
        process = subprocess.Popen([sys.executable, "-m", module, *arguments], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        server = cls(process, port, record_path)
        server._wait_ready(timeout)
        return server

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.kind} exited: {self.process.stderr.read()!r}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the {self.kind} did not listen in {timeout}s") from None
                time.sleep(0.1)


def stop(process, timeout=30):
    """Stop a service's ``process`` as its supervisor would: SIGTERM, then at most ``timeout``
    seconds for it to finish what it holds; killed whatever happened."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    finally:
        process.kill()
