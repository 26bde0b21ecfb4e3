"""The dashboard page for district offices and the city (``GET /dashboard``): an HTML
page, its script and style, and ECharts, all served by the reporting service itself
(``services/reporting/static``), so the page works offline and loads nothing from a
CDN. The page asks for a key and reads the reports through the public API; a
Content-Security-Policy keeps every request it makes on this service.
"""
from pathlib import Path

from werkzeug.wrappers import Response

from services.common.errors import NotFound

ECHARTS_VERSION = "6.1.0"
PAGE_VERSION = "1"
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {  # what /dashboard/<name> serves, and as what
    "dashboard.js": (STATIC / "dashboard" / "dashboard.js", "application/javascript"),
    "dashboard.css": (STATIC / "dashboard" / "dashboard.css", "text/css"),
    "echarts.min.js": (STATIC / "echarts" / "echarts.min.js", "application/javascript"),
}
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';"
          " connect-src 'self'; img-src 'self' data:; form-action 'none'; base-uri 'none';"
          " frame-ancestors 'none'")


def page():
    html = (STATIC / "dashboard" / "dashboard.html").read_text(encoding="utf-8").format(
        version=PAGE_VERSION, echarts_version=ECHARTS_VERSION)
    return Response(html, content_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": POLICY, "Cache-Control": "no-cache",
                             "Referrer-Policy": "no-referrer"})


def asset(name):
    if name not in ASSETS:
        raise NotFound(f"No dashboard file {name}.")
    path, media_type = ASSETS[name]
    return Response(path.read_bytes(), content_type=f"{media_type}; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=86400",
                             "X-Content-Type-Options": "nosniff"})
