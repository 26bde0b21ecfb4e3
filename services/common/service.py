"""The base of every service class: what each service has in the same shape.

A service class says its ``name`` and its ``openapi_document`` and lists its own
entrypoints; this base gives it, for that name, the database of its schema, the relay of
its outbox (which also forgets, hourly, old messages and idle rate buckets), the relay of
the admin's outbox (the admin's changes go out even when its CLI could not send them),
the API keys, the ticket an entrypoint's path names bound to its log lines
(``LogContext``), the spans of its requests and messages (``tracing``), and the operator's
endpoints of ``Observable`` (``/health``, ``/metrics``, ``/openapi.json``, ``/docs``).
"""
from services.common.credentials import ApiKeys
from services.common.db import Database
from services.common.log_context import LogContext
from services.common.observability import Observable
from services.common.outbox_relay import OutboxRelay
from services.common.tracing_dependency import Tracing


class ZeroDistanceService(Observable):
    name = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:  # a mixin, not a service
            return
        cls.db = Database(cls.name)
        cls.outbox = OutboxRelay(cls.name, keeps_rate_buckets=True)
        cls.admin_outbox = OutboxRelay("admin")
        cls.keys = ApiKeys()
        cls.log_context = LogContext()
        cls.tracing = Tracing()
