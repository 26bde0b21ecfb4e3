"""Spans made in the test process, kept in memory: ``recording_spans()`` gives the services
(``services.common.tracing``) an SDK provider that hands every finished span to an
``InMemorySpanExporter`` at once, and takes it away afterwards (tracing off again)."""
from contextlib import contextmanager

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common import tracing


@contextmanager
def recording_spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.use(None)
        provider.shutdown()


def service_of(span):
    """The service that made ``span`` (its tracer's scope, ``zero_distance.<service>``)."""
    return span.instrumentation_scope.name.rpartition(".")[2]


def parent_id(span):
    return span.parent.span_id if span.parent is not None else None
