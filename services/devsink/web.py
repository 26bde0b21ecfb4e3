"""The HTTP server: the SMS and WeChat gateways, webhook endpoints, the page, JSON and control.

- ``POST /sms``, ``POST /wechat``: gateway messages, once per ``Idempotency-Key``
- ``POST /webhooks/<name>``: a department's webhook endpoint, once per ``webhook-id``
- ``GET /``: the page; ``GET /messages.json[?kind=]``: messages, duplicates, request log;
  ``GET /messages.json?after=<id>[&kind=]``: only the messages after that id and the
  duplicates' count, for a reader that keeps up with a long run (the benchmark)
- ``POST /_control/plan``: planned replies for a path; ``POST /_control/reset``: forget all

A thread per request (``ThreadingHTTPServer``), so a planned delay holds one delivery only.
"""
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from services.devsink import page
from services.devsink.deliveries import (
    GATEWAYS,
    BadDelivery,
    read_gateway_message,
    read_webhook_call,
    webhook_endpoint,
)
from services.devsink.plans import PlanError, read_plan
from services.devsink.store import KINDS


class SinkServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, store):
        super().__init__(address, SinkRequest)
        self.store = store


class SinkRequest(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "devsink"
    # the headers and the body go out in two writes: with Nagle's algorithm the body waits
    # for the client's delayed ACK of the headers, 40 ms on Linux, on every kept connection
    disable_nagle_algorithm = True

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/":
            self._answer(200, page.render(self.server.store.messages()).encode(), "text/html; charset=utf-8")
        elif url.path == "/messages.json":
            query = parse_qs(url.query)
            kind, after = query.get("kind", [None])[0], query.get("after", [None])[0]
            if kind not in (None, *KINDS):
                return self._json(400, {"error": f"kind must be one of {', '.join(KINDS)}"})
            if after is None:
                return self._json(200, self.server.store.view(kind))
            if not after.isdigit():
                return self._json(400, {"error": "after must be a message id: a whole number"})
            self._json(200, self.server.store.view_after(int(after), kind))
        else:
            self._json(404, {"error": f"no such page: {url.path}"})

    def do_POST(self):
        path, body = urlsplit(self.path).path, self._body()
        if path == "/_control/plan":
            return self._plan(body)
        if path == "/_control/reset":
            self.server.store.reset()
            return self._json(200, {"reset": True})
        if path in GATEWAYS:
            key = self.headers.get("Idempotency-Key")
            return self._deliver(GATEWAYS[path], path, key,
                                 lambda: read_gateway_message(GATEWAYS[path], body, key), 200)
        endpoint = webhook_endpoint(path)
        if endpoint:
            return self._deliver("webhook", path, self.headers.get("webhook-id"),
                                 lambda: read_webhook_call(endpoint, body, self.headers), 204)
        self.server.store.log_request(None, path, 404)
        self._json(404, {"error": f"nobody receives at {path}"})

    def _deliver(self, kind, path, key, read, accepted_status):
        """Answer by the plan if there is one, else accept ``read()`` once per ``key``."""
        store = self.server.store
        reply = store.next_reply(path)
        if reply and reply.delay:
            time.sleep(reply.delay)
        if reply and not reply.accepts:
            store.log_request(kind, path, reply.status, key)
            retry_after = {} if reply.retry_after is None else {"Retry-After": str(reply.retry_after)}
            return self._json(reply.status, {"error": "failing as planned"}, retry_after)
        try:
            message = read()
        except BadDelivery as error:
            store.log_request(kind, path, 400, key)
            return self._json(400, {"error": str(error)})
        stored = store.accept(message, key)
        status = reply.status if reply and reply.status else (accepted_status if stored else 200)
        store.log_request(kind, path, status, key)
        self._json(status, {"accepted": True, "id": stored["id"]} if stored else
                   {"accepted": True, "duplicate": True})

    def _plan(self, body):
        try:
            path, replies = read_plan(json.loads(body or b"null"))
        except (ValueError, PlanError) as error:
            return self._json(400, {"error": str(error)})
        self.server.store.plan(path, replies)
        self._json(200, {"path": path, "responses": [reply.as_json() for reply in replies]})

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json(self, status, payload, headers=None):
        body = b"" if status == 204 else json.dumps(payload, ensure_ascii=False).encode()
        self._answer(status, body, "application/json", headers)

    def _answer(self, status, body, content_type, headers=None):
        self.send_response(status)
        content = {} if status == 204 else {"Content-Type": content_type, "Content-Length": str(len(body))}
        for name, value in {**content, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        """Quiet: the sink prints one line per accepted message, nothing per request."""
