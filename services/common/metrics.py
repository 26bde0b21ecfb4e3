"""Prometheus metrics, declared once per process, labelled by service.

Observability never breaks a worker: ``observe_request`` and ``observe_processing``
swallow their own errors. The connection pools' gauges are read from each pool's own
counts when ``/metrics`` is scraped (``watch_pool``): nothing to keep up to date, and
reading them takes no lock and no I/O.
"""
import logging
import time
import weakref
from functools import partial

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

HTTP_REQUESTS = Counter("zd_http_requests_total", "HTTP requests answered",
                        ["service", "method", "route", "status"])
#: by method and the answer's class (2xx, 4xx, 5xx): intake's latency objective counts its
#: POSTs answered 2xx within 1 s as good, and a fast 5xx as bad (deploy/prometheus/alerts.yml)
HTTP_SECONDS = Histogram("zd_http_request_seconds", "HTTP request duration",
                         ["service", "method", "route", "status_class"])
MESSAGES_CONSUMED = Counter("zd_messages_consumed_total",
                            "Messages consumed, by outcome: applied, duplicate, parked",
                            ["queue", "type", "outcome"])
#: a message takes milliseconds; one held through a database outage, minutes
PROCESSING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
MESSAGE_PROCESSING_SECONDS = Histogram(
    "zd_message_processing_seconds",
    "From a worker starting on a message's batch to the message being acknowledged or given"
    " back; observed once per message, so the count is the messages a consumer settled",
    ["service", "queue"], buckets=PROCESSING_BUCKETS)
CONSUMED_BATCH_SIZE = Histogram("zd_consumed_batch_messages",
                                "Messages applied together in one transaction, per batch of more"
                                " than one", ["queue"], buckets=(2, 4, 8, 16, 32, 64))
MESSAGES_PARKED = Counter("zd_messages_parked_total",
                          "Messages a service parked, by the queue they wait in",
                          ["parked_in", "reason"])
OUTAGE_WAITS = Counter("zd_messages_outage_waits_total",
                       "Attempts at a message that found the database unreachable; the message"
                       " is held and tried again, not returned to its queue", ["queue"])
FEEDBACK_REJECTED = Counter("zd_feedback_rejected_total",
                            "Department feedback that could not apply", ["reason"])
OUTBOX_PUBLISHED = Counter("zd_outbox_published_total", "Outbox messages published", ["schema"])
OUTBOX_UNROUTABLE = Counter("zd_outbox_unroutable_total",
                            "Outbox messages the broker could not route or refused (kept for"
                            " retry)", ["schema"])
OUTBOX_BROKER_BLOCKED = Gauge("zd_outbox_broker_blocked",
                              "1 while the broker blocks the relay's publishing (a resource"
                              " alarm)", ["schema"])
OUTBOX_PENDING = Gauge("zd_outbox_pending", "Outbox messages not yet published", ["schema"])
OUTBOX_OLDEST_PENDING = Gauge("zd_outbox_oldest_pending_seconds",
                              "Age of the oldest unpublished outbox message", ["schema"])
CONCERNS_RECEIVED = Counter("zd_concerns_received_total", "Concerns stored",
                            ["district", "channel"])
TICKET_TRANSITIONS = Counter("zd_ticket_transitions_total", "Ticket status changes",
                             ["status"])
#: stages last from seconds (auto-forward) to weeks (a department's resolution)
STAGE_BUCKETS = (1, 10, 60, 300, 900, 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400,
                 30 * 86400)
TICKET_STAGE_SECONDS = Histogram("zd_ticket_stage_seconds",
                                 "Time a ticket spent in a status before it left it", ["status"],
                                 buckets=STAGE_BUCKETS)
NOTIFICATIONS_SENT = Counter("zd_notifications_sent_total", "Notifications delivered",
                             ["channel"])
NOTIFICATIONS_FAILED = Counter("zd_notification_failures_total",
                               "Delivery attempts that failed, retryable or not", ["channel"])
NOTIFICATIONS_RETRIED = Counter("zd_notifications_retried_total",
                                "Failed deliveries scheduled to be tried again", ["channel"])
NOTIFICATIONS_PARKED = Counter("zd_notifications_parked_total",
                               "Notifications given up on (status failed, shown to operators)",
                               ["channel"])
NOTIFICATIONS_SKIPPED = Counter("zd_notifications_skipped_total",
                                "Notifications for a channel that is not configured", ["channel"])
NOTIFICATION_DELIVERY_SECONDS = Histogram(
    "zd_notification_delivery_seconds", "From a notification's recording to its delivery",
    ["channel"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
NOTIFICATIONS_PENDING = Gauge("zd_notifications_pending", "Notifications waiting to be sent")
NOTIFICATIONS_OLDEST_PENDING = Gauge("zd_notifications_oldest_pending_seconds",
                                     "Age of the oldest notification waiting to be sent")
NOTIFICATIONS_OVERDUE = Gauge("zd_notifications_overdue",
                              "Notifications due and not sent: their next attempt's time has"
                              " passed (not waiting in back-off)")
NOTIFICATIONS_OVERDUE_SECONDS = Gauge("zd_notifications_overdue_seconds",
                                      "How long the oldest overdue notification has been due"
                                      " and not sent")
NOTIFICATIONS_BACKLOG_OBSERVED = Gauge(
    "zd_notifications_backlog_observed_timestamp_seconds",
    "When notify's courier last counted its backlog (the gauges above): they are that old;"
    " 0 before its first count")
NOTIFY_CONCURRENCY = Gauge("zd_notify_concurrency",
                           "Deliveries at once a destination may have now (adaptive)",
                           ["channel", "destination"])
PERSONAL_DATA_ANONYMISED = Counter("zd_personal_data_anonymised_total",
                                  "Records whose reporter details were anonymised in place, by"
                                  " service and kind of record", ["service", "kind"])
PERSONAL_DATA_EXPIRY_CHECKED = Gauge("zd_personal_data_expiry_last_success_timestamp_seconds",
                                     "When this routing process last finished checking every"
                                     " district for final tickets whose personal data expired")
DB_POOL_MAX = Gauge("zd_db_pool_max_connections",
                    "The most connections the pool may hold (its configured size)",
                    ["service", "pool"])
DB_POOL_CONNECTIONS = Gauge("zd_db_pool_connections",
                            "Connections the pool holds now, in use or idle", ["service", "pool"])
DB_POOL_IDLE = Gauge("zd_db_pool_idle_connections",
                     "Connections of the pool idle, ready to be taken", ["service", "pool"])
DB_POOL_WAITING = Gauge("zd_db_pool_requests_waiting",
                        "Requests waiting for a connection of the pool", ["service", "pool"])
#: each pool gauge and the key of psycopg_pool's ``get_stats()`` it shows
DB_POOL_STATS = ((DB_POOL_MAX, "pool_max"), (DB_POOL_CONNECTIONS, "pool_size"),
                 (DB_POOL_IDLE, "pool_available"), (DB_POOL_WAITING, "requests_waiting"))
UP = Gauge("zd_up", "1 when the last health check passed", ["service", "dependency"])
CALENDAR_YEAR_UNKNOWN = Gauge("zd_calendar_year_unknown",
                              "1 while a district's deadlines follow China's official calendar into"
                              " a year whose holidays and make-up workdays nobody gives",
                              ["service", "district", "year"])


def observe_request(service, method, route, status, seconds):
    try:
        HTTP_REQUESTS.labels(service, method, route, str(status)).inc()
        HTTP_SECONDS.labels(service, method, route, f"{int(status) // 100}xx").observe(seconds)
    except Exception:  # never let metrics break a request
        log.exception("could not record request metrics")


def observe_processing(service, queue, batch):
    """One observation of ``zd_message_processing_seconds`` for each message of ``batch``
    (a ``messaging.Batch``), settled now: the time since its worker started on it."""
    try:
        if batch.started is None:  # never handed to its method
            return
        seconds = time.monotonic() - batch.started
        histogram = MESSAGE_PROCESSING_SECONDS.labels(service, queue)
        for _ in batch.messages:
            histogram.observe(seconds)
    except Exception:  # never let metrics break a consumer
        log.exception("could not record processing time")


#: ``{(service, pool): the psycopg pools shown under those labels}``; a pool is forgotten
#: when nothing else holds it, and a closed one counts for nothing
_WATCHED_POOLS = {}


def watch_pool(service, name, pool):
    """Show ``pool`` (a psycopg_pool ``ConnectionPool``) in the ``zd_db_pool_*`` gauges
    labelled ``service`` and ``pool=name``: its size, idle connections and waiting requests,
    read from ``pool.get_stats()`` at each scrape. Pools watched under the same labels
    (two containers of one service in a test process) are added up."""
    pools = _WATCHED_POOLS.setdefault((service, name), weakref.WeakSet())
    pools.add(pool)
    for gauge, stat in DB_POOL_STATS:
        gauge.labels(service, name).set_function(partial(_pool_stat, pools, stat))


def _pool_stat(pools, stat):
    try:
        return sum(pool.get_stats().get(stat, 0) for pool in list(pools) if not pool.closed)
    except Exception:  # a scrape answers all the same
        log.exception("could not read the pool's stats")
        return float("nan")


def exposition():
    return generate_latest(), CONTENT_TYPE_LATEST
