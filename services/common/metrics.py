"""Prometheus metrics, declared once per process, labelled by service.

Observability never breaks a worker: ``observe_request`` swallows its own errors.
"""
import logging

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("zd_http_requests_total", "HTTP requests answered",
                        ["service", "method", "route", "status"])
HTTP_SECONDS = Histogram("zd_http_request_seconds", "HTTP request duration",
                         ["service", "route"])
MESSAGES_CONSUMED = Counter("zd_messages_consumed_total",
                            "Messages consumed, by outcome: applied, duplicate, parked",
                            ["queue", "type", "outcome"])
MESSAGES_PARKED = Counter("zd_messages_parked_total",
                          "Messages a service parked, by the queue they wait in",
                          ["parked_in", "reason"])
FEEDBACK_REJECTED = Counter("zd_feedback_rejected_total",
                            "Department feedback that could not apply", ["reason"])
OUTBOX_PUBLISHED = Counter("zd_outbox_published_total", "Outbox messages published", ["schema"])
OUTBOX_UNROUTABLE = Counter("zd_outbox_unroutable_total",
                            "Outbox messages the broker could not route (kept for retry)",
                            ["schema"])
OUTBOX_PENDING = Gauge("zd_outbox_pending", "Outbox messages not yet published", ["schema"])
OUTBOX_OLDEST_PENDING = Gauge("zd_outbox_oldest_pending_seconds",
                              "Age of the oldest unpublished outbox message", ["schema"])
CONCERNS_RECEIVED = Counter("zd_concerns_received_total", "Concerns stored",
                            ["district", "channel"])
TICKET_TRANSITIONS = Counter("zd_ticket_transitions_total", "Ticket status changes",
                             ["status"])
UP = Gauge("zd_up", "1 when the last health check passed", ["service", "dependency"])


def observe_request(service, method, route, status, seconds):
    try:
        HTTP_REQUESTS.labels(service, method, route, str(status)).inc()
        HTTP_SECONDS.labels(service, route).observe(seconds)
    except Exception:  # never let metrics break a request
        log.exception("could not record request metrics")


def exposition():
    return generate_latest(), CONTENT_TYPE_LATEST
