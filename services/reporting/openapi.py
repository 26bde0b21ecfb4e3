"""The reporting API's OpenAPI document (docs/reference.md#reporting-api), served at ``/openapi.json``; its
answers are the schemas that dump them (``schemas``)."""
from services.common.openapi import Operation, build_spec, path_parameter, query_parameter
from services.reporting.schemas import (
    GroupedSchema,
    HotTopicsSchema,
    OverdueSchema,
    RebuiltSchema,
    SummarySchema,
    TrendSchema,
)


def _optional(*parameters):
    """Query parameters of a report: an empty value (a form's "all") counts as absent."""
    return [{**parameter, "allowEmptyValue": True} for parameter in parameters]


#: the window of every report
WINDOW = _optional(
    query_parameter("district", "A district code; an office key defaults to its own"),
    query_parameter("from", "Start (inclusive) of the received time: RFC 3339 or YYYY-MM-DD"),
    query_parameter("to", "End (exclusive): RFC 3339 or YYYY-MM-DD"),
    query_parameter("format", "json (default) or csv", enum=["json", "csv"]),
)
ERRORS = (400, 401, 403, 429, 503)


def _grouped(group):
    return Operation(f"/api/v1/reports/by-{group}", "GET", f"The figures per {group}",
                     {200: ("One entry per group; with format=csv one row per group",
                            GroupedSchema, "csv")}, parameters=WINDOW,
                     errors=ERRORS)


SPEC = build_spec("Zero Distance reports", "Figures over tickets received in a window"
                  " (docs/reference.md#reporting-api), for the admin key or a district office's key.", [
    Operation("/api/v1/reports/summary", "GET", "The figures of a district, or of all",
              {200: ("The figures; with format=csv one row", SummarySchema, "csv")},
              parameters=WINDOW, errors=ERRORS),
    *[_grouped(group) for group in ("district", "category", "department", "representative")],
    Operation("/api/v1/reports/overdue", "GET", "Every overdue ticket: who holds it, since when,"
              " how late in working hours, its escalations",
              {200: ("The overdue tickets; with format=csv one row each", OverdueSchema, "csv")},
              parameters=_optional(
                  query_parameter("district", "A district code; an office key defaults to its own"),
                  query_parameter("department", "Only what this department holds"),
                  query_parameter("as_of", "Lateness as of this moment (RFC 3339; default now)",
                                  format="date-time"),
                  query_parameter("format", "json (default) or csv", enum=["json", "csv"])),
              errors=ERRORS,
              description="A ticket `assigned` is held by its representative, due"
                          " `representative_hours` after; `forwarded` by the liaison office, due"
                          " `congress_hours` after; `dispatched` or `in_progress` by the lead"
                          " department, due at its `due_at`. Hours are the district calendar's"
                          " working hours."),
    Operation("/api/v1/reports/trend", "GET", "Received, first dispatched and first resolved per"
              " local day", {200: ("One entry per day of the window (default: the last 30 days)",
                                   TrendSchema, "csv")}, parameters=WINDOW, errors=ERRORS),
    Operation("/api/v1/read-model/rebuild", "POST", "Rebuild the read model from the event log",
              {200: ("Done: the new read model is in", RebuiltSchema)}, errors=(401, 403, 429, 503),
              description="For the admin key (`python -m services.admin reporting rebuild`)."
                          " Replays every event logged into a fresh read model while the"
                          " service goes on consuming, then swaps it in within one transaction;"
                          " answers when done. Run it after a change to how figures are"
                          " computed."),
    Operation("/dashboard", "GET", "The dashboard page for offices and the city (asks for a key)",
              {200: ("An HTML page; its charts read the reports above", "html")}, errors=(),
              secured=False),
    Operation("/dashboard/{name}", "GET", "The dashboard's script, style and chart library",
              {200: ("JavaScript or CSS", "javascript", "css")},
              parameters=[path_parameter("name", "A file of the page", enum=sorted(
                  ["dashboard.js", "dashboard.css", "echarts.min.js"]))],
              errors=(404,), secured=False),
    Operation("/api/v1/reports/hot-topics", "GET", "Concentrated problems: groups of similar"
              " concerns", {200: ("The groups, ranked", HotTopicsSchema)},
              parameters=_optional(
                  query_parameter("district", "A district code; an office key defaults to its own"),
                  {**query_parameter("days", "The window: the last N days (1-366, default 30)"),
                   "schema": {"type": "integer", "minimum": 1, "maximum": 366}},
                  {**query_parameter("limit", "Groups to show (1-100, default 20)"),
                   "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                  query_parameter("as_of", "The window's end (RFC 3339; default now)",
                                  format="date-time")),
              errors=ERRORS,
              description="Concerns of one category and community whose texts share words"
                          " (Chinese segmented with jieba), ranked by count, then by growth"
                          " against the window before; the raw material for consultation themes"
                          " and practical-project lists. An answer may be up to 15 seconds old (the"
                          " same question asked meanwhile shares it); while other questions are"
                          " being computed the answer is 503 with Retry-After."),
])
