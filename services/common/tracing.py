"""Traces: one per concern, across the services, with OpenTelemetry; off unless configured.

Owns the process's tracer provider and the spans made where a concern passes:

- ``request_span``, for ``tracing_dependency.Tracing`` (a dependency of every service): a
  SERVER span for each API request (the operators' endpoints aside), continuing a caller's
  ``traceparent``; current while the entrypoint runs, so what it emits continues it. A
  request comes from outside: its ``tracestate`` (whatever a caller writes there) is never
  read, so it never reaches the messages, the dispatches to the departments or the stored
  notifications. Its ``traceparent`` is kept, so that a front-end's trace goes on into ours;
  under a ``parentbased_*`` sampler its sampled flag decides whether the concern is traced
  (docs/operations.md#traces);
- ``inject``: the W3C trace context (``traceparent``, ``tracestate``) of the current span
  into a dict. ``outbox.emit`` stores it with the outbox row (its headers), notify with
  each notification: a row is sent later, by a loop, and still continues its trace;
- ``publishing``: the outbox relay's PRODUCER span for a row, a child of the context stored
  with it, whose own context goes out in the message's headers;
- ``consuming``: a CONSUMER span for each message of a batch, a child of the context in its
  headers (a message without one starts a trace), current while the message is applied;
- ``delivering``: notify's courier's CLIENT span for an attempt to send a notification, a
  child of the context stored with it.

A span names ids, types, queues, routing keys and outcomes: never a body, a contact, an
address, a URL's query or an error's text (only its kind).

``setup(service)`` exports over OTLP/HTTP, in batches (a green thread under eventlet), when
``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set; the
exporter and sampler read their other standard ``OTEL_`` variables themselves. Otherwise
there is no provider: every helper returns at its first line, no span is made and no
header written. Tests give a provider of their own (``use``). Imports no messaging
library: ``outbox.emit`` uses it.
"""
import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
#: the operators' endpoints, probed every few seconds: no trace of theirs is worth keeping
UNTRACED_ROUTES = ("/health", "/ready", "/live", "/metrics", "/openapi.json", "/docs")
SCOPE = "zero_distance.{}"  # the tracer of each service: its spans' instrumentation scope

_provider = None
_tracers = {}  # service: its tracer, from _provider
#: the service whose worker runs in this green thread (``serving``): whose spans these are
_service = ContextVar("zd_traced_service", default=None)


def setup(service, environ=os.environ):
    """Export this process's spans over OTLP/HTTP when an endpoint is configured; returns
    whether it does."""
    if not any(environ.get(name) for name in ENDPOINT_VARIABLES):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({
        "service.name": service, "service.namespace": "zero-distance"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    use(provider)
    log.info("traces are exported over OTLP")
    return True


def use(provider):
    """Make spans with ``provider`` (an SDK ``TracerProvider``); None: no spans at all.
    While there is one, every log line names the span current when it is written
    (``current_ids``), so a trace and its lines are found from each other."""
    from services.common import log_context  # imported here: it is a nameko dependency's
    global _provider
    _provider = provider
    _tracers.clear()
    if provider is None:
        log_context.remove_source(current_ids)
    else:
        log_context.add_source(current_ids)


def current_ids():
    """``{"trace_id", "span_id"}`` of the current span, in their W3C hex form; empty when
    no span is current."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return {}
    return {"trace_id": format(span_context.trace_id, "032x"),
            "span_id": format(span_context.span_id, "016x")}


def enabled():
    return _provider is not None


def tracer(service):
    if service not in _tracers:
        _tracers[service] = _provider.get_tracer(SCOPE.format(service))
    return _tracers[service]


def inject(carrier=None):
    """``carrier`` (a dict, made when None) with the current span's W3C trace context
    added; unchanged when tracing is off or no span is current."""
    carrier = {} if carrier is None else carrier
    if _provider is not None:
        propagate.inject(carrier)
    return carrier


def extract(carrier):
    """The trace context a message's headers (or a stored row's) carry; an empty context
    (a new trace) when they carry none, or one that cannot be read."""
    fields = propagate.get_global_textmap().fields
    found = {key.lower(): value for key, value in (carrier or {}).items()
             if isinstance(key, str) and key.lower() in fields and isinstance(value, str)}
    return propagate.extract(found)


def tag(**attributes):
    """Name ids on the current span (``ticket_id="ZD…"`` becomes ``zd.ticket_id``)."""
    if _provider is None:
        return
    span = trace.get_current_span()
    for name, value in attributes.items():
        if value is not None:
            span.set_attribute(f"zd.{name}", value)


def failed(span, kind):
    """The span ended in a failure of ``kind`` (an exception class's name, never its text)."""
    span.set_status(Status(StatusCode.ERROR, kind))
    span.set_attribute("error.type", kind)


# ------------------------------------------------------------------- the outbox relay

def publishing(service, row):
    """``(span, headers)``: a PRODUCER span for publishing an outbox row, a child of the
    context stored with it, and the headers to publish it with (its own context in them).
    ``(None, the row's headers)`` when tracing is off. End it with ``published``."""
    headers = row["headers"] or {}
    if _provider is None:
        return None, headers
    span = tracer(service).start_span(
        f"publish {row['exchange']} {row['routing_key']}", context=extract(headers),
        kind=SpanKind.PRODUCER, attributes={
            "messaging.system": "rabbitmq", "messaging.operation.type": "send",
            "messaging.destination.name": row["exchange"],
            "messaging.rabbitmq.destination.routing_key": row["routing_key"],
            "messaging.message.id": row["message_id"], "zd.message.type": row["type"]})
    out = {key: value for key, value in headers.items()
           if key not in propagate.get_global_textmap().fields}
    propagate.inject(out, context=trace.set_span_in_context(span))
    return span, out


def published(span, outcome):
    """End a ``publishing`` span: ``outcome`` None (the broker took it) or what kept it."""
    if span is None:
        return
    if outcome is not None:
        failed(span, type(outcome).__name__)
    span.end()


# ------------------------------------------------------------------------- consumers

@contextmanager
def consuming(envelope, batch_size=1):
    """A CONSUMER span, current while ``envelope`` (a ``messaging.Envelope``) is applied, a
    child of the context its headers carry. A failure is recorded by its kind only."""
    service = _service.get()
    if _provider is None or service is None:
        yield None
        return
    with tracer(service).start_as_current_span(
            f"consume {envelope.queue} {envelope.shown_type}", context=extract(envelope.headers),
            kind=SpanKind.CONSUMER, record_exception=False, set_status_on_exception=False,
            attributes=_message_attributes(envelope, batch_size)) as span:
        try:
            yield span
        except BaseException as exc:
            failed(span, type(exc).__name__)
            raise


@contextmanager
def consuming_together(envelopes):
    """One CONSUMER span per envelope for messages applied at once (in one statement): each
    a child of its own message's context, all as long as the batch; none is current."""
    service = _service.get()
    if _provider is None or service is None or not envelopes:
        yield
        return
    spans = [tracer(service).start_span(
        f"consume {envelope.queue} {envelope.shown_type}", context=extract(envelope.headers),
        kind=SpanKind.CONSUMER, attributes=_message_attributes(envelope, len(envelopes)))
        for envelope in envelopes]
    try:
        yield
    except BaseException as exc:
        for span in spans:
            failed(span, type(exc).__name__)
        raise
    finally:
        for span in spans:
            span.end()


def _message_attributes(envelope, batch_size):
    attributes = {"messaging.system": "rabbitmq", "messaging.operation.type": "process",
                  "messaging.destination.name": envelope.queue,
                  "messaging.rabbitmq.destination.routing_key": envelope.routing_key,
                  "messaging.message.id": envelope.shown_id, "zd.message.type": envelope.shown_type,
                  "messaging.batch.message_count": batch_size}
    if envelope.ticket_id:
        attributes["zd.ticket_id"] = envelope.ticket_id
    return attributes


# ------------------------------------------------------------------- notify's courier

def delivering(service, row):
    """A CLIENT span for one attempt to send a notification (a claimed row), a child of the
    context stored with it; None when tracing is off. End it with ``delivered``."""
    if _provider is None:
        return None
    return tracer(service).start_span(
        f"deliver {row['channel']} {row['template']}", context=extract(row.get("trace_context")),
        kind=SpanKind.CLIENT, attributes={
            "zd.notification.id": row["id"], "zd.notification.channel": row["channel"],
            "zd.notification.template": row["template"], "zd.notification.attempt": row["attempts"],
            **({"zd.ticket_id": row["ticket_id"]} if row.get("ticket_id") else {})})


def delivered(span, outcome, failure=None):
    """End a ``delivering`` span with the attempt's outcome (``sent``, ``retry``, ``failed``)
    and the kind of its failure."""
    if span is None:
        return
    span.set_attribute("zd.notification.outcome", outcome)
    if failure is not None:
        failed(span, type(failure).__name__)
    span.end()


# ---------------------------------------------------------------------- API requests

def serving(service):
    """The current green thread is a worker of ``service``: the spans it makes are its."""
    _service.set(service)


#: what a request's headers may give its trace: the caller's trace and span, not its state
PUBLIC_FIELDS = ("traceparent",)


def extract_public(headers):
    """The trace context of a request from outside: its ``traceparent`` alone."""
    return extract({key: value for key, value in (headers or {}).items()
                    if isinstance(key, str) and key.lower() in PUBLIC_FIELDS})


def request_span(service, method, route, headers, ticket_id=None):
    """``(span, token)``: a SERVER span for an API request, a child of the ``traceparent``
    its headers carry (``extract_public``), made current; None when tracing is off or the
    route is the operators'. End it with ``request_done``, in the same green thread."""
    if _provider is None or route.startswith(UNTRACED_ROUTES):
        return None
    span = tracer(service).start_span(
        f"{method} {route}", context=extract_public(headers), kind=SpanKind.SERVER, attributes={
            "http.request.method": method, "http.route": route,
            **({"zd.ticket_id": ticket_id} if isinstance(ticket_id, str) else {})})
    return span, otel_context.attach(trace.set_span_in_context(span))


def request_answered(started, status=None, failure=None):
    """The request was answered with ``status``, or failed with ``failure`` (the service's
    error, not the client's: its kind is recorded)."""
    if started is None:
        return
    span, _ = started
    if status is not None:
        span.set_attribute("http.response.status_code", status)
    if failure is not None:
        failed(span, type(failure).__name__)


def request_done(started):
    if started is None:
        return
    span, token = started
    otel_context.detach(token)
    span.end()
