"""The reporting API's OpenAPI document (contract §9), served at ``/openapi.json``."""
from marshmallow import Schema, fields

from services.common.openapi import Operation, build_spec, query_parameter

RATE = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True}


class PercentilesSchema(Schema):
    p50 = fields.Float(allow_none=True)
    p95 = fields.Float(allow_none=True)


class FiguresSchema(Schema):
    received = fields.Integer(metadata={"description": "tickets received in the window"})
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    dispatched = fields.Integer(metadata={"description": "dispatched at least once"})
    resolved = fields.Integer(metadata={"description": "now resolved or closed"})
    resolution_rate = fields.Float(allow_none=True, metadata={
        "description": "resolved / (received - merged - rejected)"})
    rectification_rate = fields.Float(allow_none=True)
    satisfaction_rate = fields.Float(allow_none=True)
    on_time_rate = fields.Float(allow_none=True)
    transfer_seconds = fields.Nested(PercentilesSchema, metadata={
        "description": "received → first dispatch"})
    resolve_seconds = fields.Nested(PercentilesSchema, metadata={
        "description": "first dispatch → first resolution"})


class SummarySchema(FiguresSchema):
    district = fields.String(allow_none=True)
    start = fields.String(data_key="from", allow_none=True)
    end = fields.String(data_key="to", allow_none=True)


class GroupedSchema(Schema):
    district = fields.String(allow_none=True)
    start = fields.String(data_key="from", allow_none=True)
    end = fields.String(data_key="to", allow_none=True)
    group_by = fields.String()
    groups = fields.List(fields.Dict(), metadata={"description": "the group's key and figures"})


#: the window of every report; an empty value (a form's "all") counts as absent
WINDOW = [{**parameter, "allowEmptyValue": True} for parameter in (
    query_parameter("district", "A district code; an office key defaults to its own"),
    query_parameter("from", "Start (inclusive) of the received time: RFC 3339 or YYYY-MM-DD"),
    query_parameter("to", "End (exclusive): RFC 3339 or YYYY-MM-DD"),
    query_parameter("format", "json (default) or csv", enum=["json", "csv"]),
)]
ERRORS = (400, 401, 403, 429, 503)


def _grouped(group):
    return Operation(f"/api/v1/reports/by-{group}", "GET", f"The figures per {group}",
                     {200: ("One entry per group; with format=csv one row per group",
                            GroupedSchema, "csv")}, parameters=WINDOW,
                     errors=ERRORS)


SPEC = build_spec("Zero Distance reports", "Figures over tickets received in a window"
                  " (contract §9), for the admin key or a district office's key.", [
    Operation("/api/v1/reports/summary", "GET", "The figures of a district, or of all",
              {200: ("The figures; with format=csv one row", SummarySchema, "csv")},
              parameters=WINDOW, errors=ERRORS),
    *[_grouped(group) for group in ("district", "category", "department", "representative")],
])
