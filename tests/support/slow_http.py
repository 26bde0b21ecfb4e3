"""An HTTP server that answers as a script says, slowly if asked: the gateway or webhook
receiver of the notify tests that need what the development sink cannot do (drip an
answer one byte a second, send a ``Retry-After`` of any text).

It runs as its own process (the test process is eventlet-patched):
``python -m tests.support.slow_http --port P --script script.json --record record.jsonl``.
The script maps a path to the answers of its next requests, in order; once they are used
up (or for a path it does not name) a request gets ``200 {}``. An answer is
``{"status": 429, "headers": {"Retry-After": "soon"}}`` or ``{"drip": 60}``: ``200`` with a
60-byte body sent one byte a second. Each request is recorded when it starts and when it
ends, with the time (the server's clock, ``time.time()``), its path and idempotency key
(``Idempotency-Key`` or ``webhook-id``), the client's port (``peer``: one per connection),
and whether its answer was finished or the client went away first.

    with SlowHttp.start(tmp_path, {"/sms": [{"drip": 60}]}) as server:
        ... ZD_SMS_GATEWAY_URL = f"{server.url}/sms" ...
        server.requests()  # [{"number", "path", "key", "started", "ended", "finished", "peer"}]
"""
import argparse
import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.server_process import ServerProcess


class SlowHttp(ServerProcess):
    kind = "HTTP server"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, directory, script, timeout=15):
        from tests.support.system import free_port  # not in the server's own process

        directory = Path(directory)
        port = free_port()
        script_path, record_path = directory / "slow-http-script.json", directory / "slow-http.jsonl"
        script_path.write_text(json.dumps(script), encoding="utf-8")
        record_path.write_text("", encoding="utf-8")
        return cls.launch("tests.support.slow_http",
                          ["--port", str(port), "--script", str(script_path),
                           "--record", str(record_path)], port, record_path, timeout)

    def requests(self, path=None):
        """Every request so far, in the order they came, with ``ended`` None while under way."""
        text = self.record_path.read_text(encoding="utf-8")
        found = {}
        for line in text.splitlines():
            if not line:
                continue
            event = json.loads(line)
            request = found.setdefault(event["number"], {"number": event["number"], "ended": None,
                                                         "finished": None})
            if event["event"] == "start":
                request.update(path=event["path"], key=event["key"], started=event["at"],
                               peer=event.get("peer"))
            else:
                request.update(ended=event["at"], finished=event["finished"])
        return [request for _, request in sorted(found.items())
                if path is None or request.get("path") == path]


def serve(port, script, record_path):  # pragma: no cover - its own process
    lock = threading.Lock()
    counter = iter(range(1, 10 ** 9))

    def write(**fields):
        with lock, open(record_path, "a", encoding="utf-8") as record:
            record.write(json.dumps(fields) + "\n")

    def next_answer(path):
        with lock:
            answers = script.get(path) or []
            return answers.pop(0) if answers else {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            with lock:
                number = next(counter)
            path = self.path.split("?")[0]
            key = self.headers.get("Idempotency-Key") or self.headers.get("webhook-id")
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            write(number=number, event="start", path=path, key=key, at=time.time(),
                  peer=self.client_address[1])
            answer = next_answer(path)
            finished = self._drip(answer["drip"]) if "drip" in answer else self._answer(answer)
            write(number=number, event="end", at=time.time(), finished=finished)

        def _answer(self, answer):
            body = b"{}"
            self.send_response(answer.get("status", 200))
            for name, value in answer.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True

        def _drip(self, length):
            """200, then the body one byte a second; False as soon as the client goes away."""
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.flush()
            for _ in range(length):
                try:
                    self.wfile.write(b".")
                    self.wfile.flush()
                except OSError:
                    return False
                readable, _, _ = select.select([self.connection], [], [], 1.0)
                if readable and not self.connection.recv(1, socket.MSG_PEEK):
                    return False  # the client closed its end
            return True

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--record", required=True)
    arguments = parser.parse_args()
    serve(arguments.port, json.loads(Path(arguments.script).read_text(encoding="utf-8")),
          arguments.record)
