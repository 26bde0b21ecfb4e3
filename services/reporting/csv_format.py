"""Reports as CSV: UTF-8 with a BOM, formulas neutralised, one row of flat figures per
group (per day for the trend, per ticket for the overdue list).

The rows are read from the report's JSON body as its schema dumped it (``schemas``), so
the two formats show the same figures: nested figures become flat columns
(``by_status.closed``, ``transfer_seconds.p50``); a report's ``district``, ``from`` and
``to`` lead each group's row. No I/O but the answer it makes.
"""
import csv
import io

from werkzeug.wrappers import Response

CONTENT_TYPE = "text/csv; charset=utf-8"
#: the overdue report's CSV columns, one row per ticket
OVERDUE_COLUMNS = ("ticket_id", "district", "community", "category", "title", "status",
                   "holder.kind", "holder.id", "holder.name", "held_since", "due_at",
                   "overdue_working_hours", "overdue_hours", "escalations", "last_escalation")
#: what a cell may not start with, or a spreadsheet runs it (OWASP, CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_response(rows, columns=None):
    """The answer ``200 text/csv`` of ``rows`` (see ``as_csv``)."""
    return Response(as_csv(rows, columns), status=200, content_type=CONTENT_TYPE)


def report_rows(body):
    """The rows of a figures report (summary, grouped) or of the trend."""
    echo = {key: body[key] for key in ("district", "from", "to")}
    if "groups" in body:
        return [flatten({**echo, **group}) for group in body["groups"]]
    if "days" in body:
        return [{"district": body["district"], **day} for day in body["days"]]
    return [flatten(body)]


def overdue_rows(body):
    """The rows of the overdue report under ``OVERDUE_COLUMNS``: its escalations counted,
    the last one's kind named."""
    return [{**flatten({key: value for key, value in entry.items() if key != "escalations"}),
             "escalations": len(entry["escalations"]),
             "last_escalation": entry["escalations"][-1]["kind"] if entry["escalations"] else None}
            for entry in body["tickets"]]


def flatten(body, prefix=""):
    """Nested figures as one flat mapping: ``by_status.closed``, ``transfer_seconds.p50``."""
    flat = {}
    for key, value in body.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


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


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
