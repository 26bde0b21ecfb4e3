"""How reports are shown: JSON bodies, and CSV with one row of flat figures per group."""
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


def as_csv(rows):
    out = io.StringIO()
    columns = list(dict.fromkeys(column for row in rows for column in row))
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: "" if row.get(column) is None else row[column]
                         for column in columns})
    return out.getvalue()
