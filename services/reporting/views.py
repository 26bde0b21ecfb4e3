"""How reports are shown: JSON bodies, and CSV (UTF-8 with a BOM, formulas neutralised)
with one row of flat figures per group."""
import csv
import io

from werkzeug.wrappers import Response

from services.common.http import json_response


def summary_body(district, window, report):
    return {"district": district, **window.echo(), **report}


def grouped_body(district, window, group, reports):
    """``reports`` is ``[(group value, figures)]``, in the order to show."""
    return {"district": district, **window.echo(), "group_by": group,
            "groups": [{group: key, **report} for key, report in reports]}


def answer(body, format):
    """The report as JSON, or as CSV (a header, then one row per group)."""
    if format != "csv":
        return json_response(200, body)
    echo = {key: body[key] for key in ("district", "from", "to")}
    if "groups" in body:
        rows = [flatten({**echo, **group}) for group in body["groups"]]
    elif "days" in body:
        rows = [{"district": body["district"], **day} for day in body["days"]]
    else:
        rows = [flatten(body)]
    return Response(as_csv(rows), status=200, content_type="text/csv; charset=utf-8")


def flatten(body, prefix=""):
    """Nested figures as one flat mapping: ``by_status.closed``, ``transfer_seconds.p50``."""
    flat = {}
    for key, value in body.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def trend_body(district, days, counts):
    """One entry per local day, zeros included: what was received, first dispatched and
    first resolved that day."""
    empty = {"received": 0, "dispatched": 0, "resolved": 0}
    return {"district": district, "from": days.first.isoformat(), "to": days.last.isoformat(),
            "days": [{"day": day.isoformat(), **empty, **counts.get(day, {})} for day in days.each()]}


def overdue_body(district, department, as_of, entries):
    return {"district": district, "department": department, "as_of": as_of.isoformat(),
            "count": len(entries), "tickets": entries}


#: the overdue report's CSV columns, one row per ticket
OVERDUE_COLUMNS = ("ticket_id", "district", "community", "category", "title", "status",
                   "holder.kind", "holder.id", "holder.name", "held_since", "due_at",
                   "overdue_working_hours", "overdue_hours", "escalations", "last_escalation")


def overdue_answer(body, format):
    if format != "csv":
        return json_response(200, body)
    rows = [{**flatten({key: value for key, value in entry.items() if key != "escalations"}),
             "escalations": len(entry["escalations"]),
             "last_escalation": entry["escalations"][-1]["kind"] if entry["escalations"] else None}
            for entry in body["tickets"]]
    return Response(as_csv(rows, OVERDUE_COLUMNS), status=200, content_type="text/csv; charset=utf-8")


def as_csv(rows, columns=None):
    """``rows`` as CSV bytes under ``columns`` (default: every key, in the order first seen).

    Text that a spreadsheet would run as a formula (starting with one of OWASP's
    ``=``, ``+``, ``-``, ``@``, tab, carriage return) is quoted with a leading
    apostrophe: titles come from the public. The bytes are UTF-8 with a BOM: without
    it Excel and WPS on a Chinese Windows read the file as GBK and garble every title.
    """
    out = io.StringIO()
    columns = columns or list(dict.fromkeys(column for row in rows for column in row))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(row.get(column)) for column in columns})
    return out.getvalue().encode("utf-8-sig")


#: what a cell may not start with, or a spreadsheet runs it (OWASP, CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
