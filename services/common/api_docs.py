"""The API reference page every service serves at ``/docs``: its own ``/openapi.json``
rendered by Redoc, vendored from npm (``services/common/static/redoc``) and served by
the service itself, so the page works offline and loads nothing from a CDN."""
from pathlib import Path

from werkzeug.wrappers import Response

REDOC_VERSION = "3.0.1"
REDOC_BUNDLE = Path(__file__).resolve().parent / "static" / "redoc" / "redoc.standalone.js"
SCRIPT_PATH = "/docs/redoc.standalone.js"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}: API reference</title>
  <style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
  <redoc spec-url="/openapi.json"></redoc>
  <script src="{script}?v={version}"></script>
</body>
</html>
"""


def page(title):
    html = PAGE.format(title=_escape(title), script=SCRIPT_PATH, version=REDOC_VERSION)
    return Response(html, content_type="text/html; charset=utf-8")


def script():
    return Response(REDOC_BUNDLE.read_bytes(), content_type="application/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=86400"})


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
