"""The reporting service (HTTP, port 8004): the reports (docs/reference.md#reporting-api) for operations
and the district liaison offices, the overdue list, the daily trend, the hot topics,
and the dashboard page that shows them.

Consumes ``zd.reporting.events`` (directory, credentials, ``concern.received``,
``concern.rated``, ``ticket.*``) into its own read model, one row per ticket, and logs
each event it applied so that the model can be rebuilt (for the operator, with the
admin key: ``rebuild``); emits nothing. Every report is its schema's ``dump``
(``schemas``), answered as JSON or, from the same body, as CSV (``csv_format``).
"""
from datetime import timedelta

from eventlet import tpool

from services.common.http import api, json_response
from services.common.messaging import consume_messages, handle_batch
from services.common.service import ZeroDistanceService
from services.common.topology import SERVICE_QUEUES
from services.common.word_segmenter import WordSegmenter
from services.reporting import (
    csv_format,
    dashboard,
    domain,
    figures,
    openapi,
    store,
    topics,
)
from services.reporting.schemas import (
    GroupedSchema,
    HotTopicsQuerySchema,
    HotTopicsSchema,
    OverdueQuerySchema,
    OverdueSchema,
    RebuiltSchema,
    ReportQuerySchema,
    SummarySchema,
    TrendSchema,
    load_query,
)
from services.reporting.topic_runs import TopicRuns
from services.reporting.use_cases import projection, rebuild
from services.reporting.use_cases.overdue_list import overdue_list


class ReportingService(ZeroDistanceService):
    name = "reporting"
    openapi_document = openapi.SPEC
    word_segmenter = WordSegmenter()
    topic_runs = TopicRuns()

    @api("GET", "/api/v1/reports/summary")
    def summary(self, request):
        with self.db.transaction() as conn:
            district, window, query = self._report_scope(conn, request)
            report = figures.figures(store.tallies(conn, district, window).get(None))
        body = SummarySchema().dump({"district": district, **window.echo(), **report})
        return _answer(body, query["format"])

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
        body = GroupedSchema().dump({"district": district, **window.echo(), "group_by": group,
                                     "groups": [(key, figures.figures(tallies.get(key)))
                                                for key in keys]})
        return _answer(body, query["format"])

    @api("GET", "/api/v1/reports/overdue")
    def overdue_report(self, request):
        with self.db.transaction() as conn:
            district, query = self._scope(conn, request, OverdueQuerySchema)
            as_of = query.get("as_of") or domain.now()
            directory = store.directory_or_none(conn) or domain.EMPTY_DIRECTORY
            tickets = overdue_list(conn, directory, district, query.get("department"), as_of)
        body = OverdueSchema().dump({"district": district, "department": query.get("department"),
                                     "as_of": as_of, "tickets": tickets})
        return _answer(body, query["format"], csv_format.overdue_rows, csv_format.OVERDUE_COLUMNS)

    @api("GET", "/api/v1/reports/trend")
    def trend(self, request):
        with self.db.transaction() as conn:
            district, query = self._scope(conn, request, ReportQuerySchema)
            zone = domain.timezone_of(store.directory_or_none(conn), district)
            days = domain.trend_days(query.get("start"), query.get("end"), zone, domain.now())
            counts = store.daily_counts(conn, district, days.start, days.end, zone)
        return _answer(TrendSchema().dump(domain.trend(district, days, counts)), query["format"])

    @api("GET", "/api/v1/reports/hot-topics")
    def hot_topics(self, request):
        with self.db.transaction() as conn:
            district, query = self._scope(conn, request, HotTopicsQuerySchema)
        question = (district, query["days"], query["limit"], query.get("as_of"))
        return json_response(200, HotTopicsSchema().dump(self.topic_runs.answer(
            question, lambda: self._topic_tickets(district, query), topics.hot_topics_answer)))

    def _topic_tickets(self, district, query):
        """What the hot topics of ``query`` read: the window's tickets and those of the
        window before."""
        end = query.get("as_of") or domain.now()
        span = timedelta(days=query["days"])
        with self.db.transaction() as conn:
            return topics.TopicQuestion(district, query["days"], query["limit"], end - span, end,
                                        store.topic_tickets(conn, district, end - span, end),
                                        store.topic_tickets(conn, district, end - 2 * span, end - span))

    @api("POST", "/api/v1/read-model/rebuild")
    def rebuild_read_model(self, request):
        with self.db.transaction() as conn:
            self.keys.caller(conn, request, "admin")
        done = rebuild.rebuild(self.db, work=tpool.execute)  # the CPU's part in an OS thread
        return json_response(200, RebuiltSchema().dump(done))

    @api("GET", "/dashboard")
    def dashboard_page(self, request):
        return dashboard.page()

    @api("GET", "/dashboard/<string:name>")
    def dashboard_asset(self, request, name):
        return dashboard.asset(name)

    def _scope(self, conn, request, schema):
        """``(district, query)`` of a report: who asks (401, 403) before what (400)."""
        caller = self.keys.caller(conn, request, "admin", "congress")
        query = load_query(request.args, schema)
        return domain.report_district(caller.party, query.get("district")), query

    def _report_scope(self, conn, request):
        """Who asks for which district over which window: 401, 403 or 400 otherwise."""
        district, query = self._scope(conn, request, ReportQuerySchema)
        timezone = domain.timezone_of(store.directory_or_none(conn), district)
        return district, domain.report_window(query.get("start"), query.get("end"), timezone), query

    @consume_messages(SERVICE_QUEUES["reporting"])
    def on_event(self, batch):
        return handle_batch(self.db, batch, projection.apply_event, apply_all=projection.apply_events)


def _answer(body, format, csv_rows=csv_format.report_rows, columns=None):
    """A report's dumped ``body`` as JSON, or as CSV of the rows read from it."""
    if format == "csv":
        return csv_format.csv_response(csv_rows(body), columns)
    return json_response(200, body)
