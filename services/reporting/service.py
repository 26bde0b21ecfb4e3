"""The reporting service (HTTP, port 8004): the figures of contract §9 for operations
and the district liaison offices.

Consumes ``zd.reporting.events`` (directory, credentials, ``concern.received``,
``ticket.*``) into its own read model, one row per ticket; emits nothing.
"""
from functools import partial

from services.common.credentials import ApiKeys
from services.common.db import Database
from services.common.event_routing import route_event
from services.common.http import api
from services.common.messaging import consume_messages, handle_once
from services.common.observability import Observable
from services.common.outbox import OutboxRelay
from services.common.topology import SERVICE_QUEUES
from services.reporting import domain, figures, openapi, projection, store, views
from services.reporting.schemas import load_query


class ReportingService(Observable):
    name = "reporting"
    openapi_document = openapi.SPEC
    db = Database("reporting")
    outbox = OutboxRelay("reporting")
    admin_outbox = OutboxRelay("admin")  # the admin's changes go out even when its CLI could not send them
    keys = ApiKeys()

    @api("GET", "/api/v1/reports/summary")
    def summary(self, request):
        with self.db.transaction() as conn:
            district, window, query = self._report_scope(conn, request)
            report = figures.figures(store.tallies(conn, district, window).get(None))
        return views.answer(views.summary_body(district, window, report), query["format"])

    @api("GET", "/api/v1/reports/by-district")
    def by_district(self, request):
        return self._grouped(request, "district")

    @api("GET", "/api/v1/reports/by-category")
    def by_category(self, request):
        return self._grouped(request, "category")

    @api("GET", "/api/v1/reports/by-department")
    def by_department(self, request):
        return self._grouped(request, "department")

    @api("GET", "/api/v1/reports/by-representative")
    def by_representative(self, request):
        return self._grouped(request, "representative")

    def _grouped(self, request, group):
        with self.db.transaction() as conn:
            district, window, query = self._report_scope(conn, request)
            tallies = store.tallies(conn, district, window, group)
            keys = domain.group_keys(store.directory_or_none(conn), group, district, tallies)
        reports = [(key, figures.figures(tallies.get(key))) for key in keys]
        return views.answer(views.grouped_body(district, window, group, reports), query["format"])

    def _report_scope(self, conn, request):
        """Who asks for which district over which window: 401, 403 or 400 otherwise."""
        caller = self.keys.caller(conn, request, "admin", "congress")
        query = load_query(request.args)
        district = domain.report_district(caller.party, query.get("district"))
        timezone = domain.timezone_of(store.directory_or_none(conn), district)
        return district, domain.report_window(query.get("start"), query.get("end"), timezone), query

    @consume_messages(SERVICE_QUEUES["reporting"])
    def on_event(self, envelope):
        handle_once(self.db, envelope, partial(route_event, handlers=projection.HANDLERS))
