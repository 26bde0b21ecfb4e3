"""Traces (services.common.tracing): off unless an OTLP endpoint is configured, and then
exported over OTLP/HTTP by a green thread; the W3C trace context goes into a dict and back;
an outbox row keeps the context of what emitted it and the relay's span continues it; a
message without one starts a new trace; spans name ids and kinds, never a body or an
error's text."""
import contextvars
import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry import trace

from services.common import outbox, tracing
from services.common.log_format import JsonLines
from services.common.messaging import Envelope
from tests.support.traces import parent_id, recording_spans, service_of

ROW = {"id": 7, "message_id": "m-1", "exchange": "zd.dispatch", "routing_key": "dept.conghua-water",
       "type": "ticket.dispatched", "headers": {}, "body": {"ticket_id": "ZD20261122-0000AB01"}}
BODY = {"ticket": {"ticket_id": "ZD20261122-0000AB01"}, "reporter": {"phone": "+8613900000009"}}


class Recorder:
    """A connection that keeps the parameters ``emit`` sends, and runs nothing."""

    def __init__(self):
        self.params = []

    def execute(self, query, params):
        self.params.append(params)


def emitted_headers(headers=None):
    conn = Recorder()
    outbox.emit(conn, "zd.events", "concern.received", "concern.received", {}, "m-2", headers)
    return conn.params[0][4].obj


def as_service(service, work):
    """``work()`` as a worker of ``service`` would run it, in a context of its own."""
    def run():
        tracing.serving(service)
        return work()
    return contextvars.copy_context().run(run)


def test_without_an_endpoint_tracing_is_off_and_writes_no_header():
    assert tracing.setup("intake", environ={"ZD_LOG_LEVEL": "INFO"}) is False
    assert not tracing.enabled()
    assert tracing.inject() == {}
    assert emitted_headers({"x-park-reason": "why"}) == {"x-park-reason": "why"}
    assert tracing.publishing("intake", {**ROW, "headers": {"x-a": "1"}}) == (None, {"x-a": "1"})
    assert tracing.delivering("notify", {"id": 1}) is None
    with tracing.consuming(Envelope("m-1", "concern.received", BODY, headers={})) as span:
        assert span is None


def test_inject_and_extract_carry_the_trace_context_there_and_back():
    with recording_spans():
        with tracing.tracer("intake").start_as_current_span("POST /api/v1/concerns") as span:
            carried = tracing.inject()
        assert set(carried) == {"traceparent"}
        restored = trace.get_current_span(tracing.extract(carried)).get_span_context()
        assert (restored.trace_id, restored.span_id) == (span.get_span_context().trace_id,
                                                         span.get_span_context().span_id)
        assert restored.is_remote


def test_an_outbox_row_keeps_the_context_of_what_emitted_it_and_the_relay_continues_it():
    with recording_spans() as exporter:
        with tracing.tracer("intake").start_as_current_span("POST /api/v1/concerns") as request:
            headers = emitted_headers({"x-original-queue": "zd.routing.events"})
        assert headers["x-original-queue"] == "zd.routing.events"
        span, published_headers = tracing.publishing("intake", {**ROW, "headers": headers})
        tracing.published(span, None)
        (publish,) = [s for s in exporter.get_finished_spans() if s.name.startswith("publish")]
    assert publish.name == "publish zd.dispatch dept.conghua-water"
    assert publish.kind == trace.SpanKind.PRODUCER
    assert publish.context.trace_id == request.get_span_context().trace_id
    assert parent_id(publish) == request.get_span_context().span_id
    assert published_headers["x-original-queue"] == "zd.routing.events"
    # the consumer's parent is the publish, not the request
    assert published_headers["traceparent"].split("-")[1:3] == [f"{publish.context.trace_id:032x}",
                                                                f"{publish.context.span_id:016x}"]
    assert publish.attributes["messaging.message.id"] == "m-1"
    assert service_of(publish) == "intake"


def test_a_row_the_broker_did_not_take_ends_its_span_in_error_by_its_kind():
    class Unroutable(Exception):
        pass

    with recording_spans() as exporter:
        span, _ = tracing.publishing("routing", ROW)
        tracing.published(span, Unroutable("zd.dispatch dept.x: NO_ROUTE +8613900000009"))
        (publish,) = exporter.get_finished_spans()
    assert publish.status.status_code == trace.StatusCode.ERROR
    assert publish.status.description == "Unroutable"
    assert "+86" not in repr(publish.to_json())


def test_a_message_without_headers_starts_a_new_trace():
    with recording_spans() as exporter:
        envelope = Envelope("m-3", "concern.received", BODY, queue="zd.routing.events",
                            routing_key="concern.received", headers={})

        def consume():
            with tracing.consuming(envelope) as span:
                return span, tracing.inject()
        span, carried = as_service("routing", consume)
        (consumed,) = exporter.get_finished_spans()
    assert consumed.parent is None
    assert consumed.kind == trace.SpanKind.CONSUMER
    assert consumed.name == "consume zd.routing.events concern.received"
    assert service_of(consumed) == "routing"
    # what it emits continues the new trace
    assert carried["traceparent"].split("-")[1:3] == [f"{consumed.context.trace_id:032x}",
                                                      f"{consumed.context.span_id:016x}"]


def test_a_message_continues_the_trace_its_headers_carry_and_names_ids_never_its_body():
    with recording_spans() as exporter:
        with tracing.tracer("intake").start_as_current_span("publish") as publish:
            headers = tracing.inject({"x-other": "kept"})
        envelope = Envelope("m-4", "concern.received", BODY, queue="zd.notify.events",
                            routing_key="concern.received", headers=headers)

        def consume():
            with tracing.consuming(envelope, batch_size=3):
                pass
        as_service("notify", consume)
        (consumed,) = [s for s in exporter.get_finished_spans() if s.name.startswith("consume")]
    assert consumed.context.trace_id == publish.get_span_context().trace_id
    assert parent_id(consumed) == publish.get_span_context().span_id
    assert consumed.attributes["zd.ticket_id"] == "ZD20261122-0000AB01"
    assert consumed.attributes["messaging.message.id"] == "m-4"
    assert consumed.attributes["messaging.batch.message_count"] == 3
    assert "+8613900000009" not in repr(consumed.to_json())


def test_a_failure_while_consuming_is_recorded_by_its_kind_never_its_text():
    with recording_spans() as exporter:
        envelope = Envelope("m-5", "concern.received", BODY, queue="zd.routing.events", headers={})

        def consume():
            with tracing.consuming(envelope):
                raise ValueError("the phone +8613900000009 is refused")
        with pytest.raises(ValueError):
            as_service("routing", consume)
        (consumed,) = exporter.get_finished_spans()
    assert consumed.status.status_code == trace.StatusCode.ERROR
    assert consumed.attributes["error.type"] == "ValueError"
    assert not consumed.events  # no exception event: its message may quote a contact
    assert "+8613900000009" not in repr(consumed.to_json())


def test_messages_applied_at_once_each_get_a_span_in_their_own_trace():
    with recording_spans() as exporter:
        parents = []
        for _ in range(2):
            with tracing.tracer("intake").start_as_current_span("publish") as publish:
                parents.append((publish.get_span_context(), tracing.inject()))
        envelopes = [Envelope(f"m-{n}", "concern.received", BODY, queue="zd.reporting.events",
                              headers=headers) for n, (_, headers) in enumerate(parents)]

        def consume():
            with tracing.consuming_together(envelopes):
                pass
        as_service("reporting", consume)
        consumed = [s for s in exporter.get_finished_spans() if s.name.startswith("consume")]
    assert [(s.context.trace_id, parent_id(s)) for s in consumed] == [
        (context.trace_id, context.span_id) for context, _ in parents]
    assert {s.attributes["messaging.batch.message_count"] for s in consumed} == {2}


def test_a_delivery_joins_the_trace_kept_with_its_notification():
    with recording_spans() as exporter:
        with tracing.tracer("notify").start_as_current_span("consume") as consume:
            kept = tracing.inject()
        span = tracing.delivering("notify", {
            "id": 12, "channel": "sms", "template": "concern.received.reporter", "attempts": 1,
            "ticket_id": "ZD20261122-0000AB01", "trace_context": kept, "address": "+8613900000009"})
        tracing.delivered(span, "sent")
        (delivery,) = [s for s in exporter.get_finished_spans() if s.name.startswith("deliver")]
    assert delivery.name == "deliver sms concern.received.reporter"
    assert parent_id(delivery) == consume.get_span_context().span_id
    assert delivery.attributes["zd.notification.outcome"] == "sent"
    assert "+8613900000009" not in repr(delivery.to_json())


class Collector(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        Collector.received.append((self.path, self.headers["Content-Type"],
                                   self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_with_an_endpoint_spans_go_to_the_collector_over_otlp_http(monkeypatch):
    Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()  # green, as the services'
    endpoint = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    try:
        assert tracing.setup("intake") is True
        provider = tracing._provider
        with tracing.tracer("intake").start_as_current_span("POST /api/v1/concerns"):
            pass
        assert provider.force_flush(10_000)  # the batch processor's green thread exports
        provider.shutdown()
    finally:
        tracing.use(None)
        server.shutdown()
    ((path, content_type, body),) = Collector.received
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert b"POST /api/v1/concerns" in body and b"intake" in body


def test_a_line_logged_while_a_message_is_consumed_names_its_trace_and_span():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines("notify"))
    logger = logging.getLogger("tests.tracing.lines")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(handler)
    envelope = Envelope("m-9", "concern.received", BODY, queue="zd.notify.events",
                        routing_key="concern.received", headers={})
    try:
        with recording_spans() as exporter:
            def consume():
                with tracing.consuming(envelope):
                    logger.info("applied")
            as_service("notify", consume)
            logger.info("between messages")
            (consumed,) = exporter.get_finished_spans()
        logger.info("tracing off")
    finally:
        logger.removeHandler(handler)
    applied, between, off = (json.loads(line) for line in stream.getvalue().splitlines())
    assert applied["trace_id"] == format(consumed.context.trace_id, "032x")
    assert applied["span_id"] == format(consumed.context.span_id, "016x")
    assert "trace_id" not in between and "trace_id" not in off


@pytest.mark.parametrize("url, values, named", [
    ("/api/v1/tickets/<ticket_id>", {"ticket_id": "ZD20261122-0000AB01"}, "ZD20261122-0000AB01"),
    ("/open311/v2/requests/<request_id>.json", {"request_id": "ZD20261122-0000AB01"},
     "ZD20261122-0000AB01"),
    ("/api/v1/tickets/<ticket_id>", {"ticket_id": "13900000009 Li Lei"}, None),
])
def test_a_request_span_names_a_ticket_only_in_a_ticket_ids_shape(url, values, named):
    from types import SimpleNamespace

    from nameko.web.handlers import HttpRequestHandler

    from services.common.tracing_dependency import Tracing
    dependency = Tracing()
    dependency.container = SimpleNamespace(service_name="intake")
    class WorkerContext(SimpleNamespace):  # a key of a weak dict, as nameko's is
        __hash__ = object.__hash__
    worker_ctx = WorkerContext(entrypoint=HttpRequestHandler("GET", url),
                               args=(SimpleNamespace(headers={}),), kwargs=values)
    with recording_spans() as exporter:
        dependency.worker_setup(worker_ctx)
        dependency.worker_result(worker_ctx, SimpleNamespace(status_code=200))
        dependency.worker_teardown(worker_ctx)
        (span,) = exporter.get_finished_spans()
    assert span.attributes.get("zd.ticket_id") == named
    assert "Li Lei" not in repr(span.to_json())


CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_PARENT = "b7ad6b7169203331"


def test_a_public_request_continues_the_callers_trace_but_never_carries_its_tracestate():
    """What a caller writes in ``tracestate`` never reaches the messages, the departments'
    dispatches or the stored notifications: a request's span and what it emits carry none."""
    headers = {"Traceparent": f"00-{CALLER_TRACE}-{CALLER_PARENT}-01",
               "Tracestate": "evil=0123456789abcdef,vendor=x"}
    with recording_spans() as exporter:
        started = tracing.request_span("intake", "POST", "/api/v1/concerns", headers)
        try:
            carried = tracing.inject()
            emitted = emitted_headers()
        finally:
            tracing.request_done(started)
        (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert format(parent_id(span), "016x") == CALLER_PARENT
    assert len(span.context.trace_state) == 0
    assert set(carried) == {"traceparent"} and CALLER_TRACE in carried["traceparent"]
    assert set(emitted) == {"traceparent"} and CALLER_TRACE in emitted["traceparent"]


def test_between_services_the_trace_state_still_travels_with_a_message():
    """Messages are the services' own: their headers' ``tracestate`` is read as written."""
    headers = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_PARENT}-01", "tracestate": "zd=1"}
    restored = trace.get_current_span(tracing.extract(headers)).get_span_context()
    assert restored.trace_state.get("zd") == "1"
