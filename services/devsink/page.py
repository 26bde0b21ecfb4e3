"""The page at ``/``: every accepted message, newest first, readable on a phone.

Self-contained HTML (no external resources), refreshed every five seconds; everything a
message carries is escaped.
"""
import json
from html import escape

from services.devsink.announce import what

STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 60rem; padding: .5rem; }
article { border: 1px solid #ccc; border-radius: 6px; margin: .5rem 0; padding: .5rem; }
header { display: flex; flex-wrap: wrap; gap: .5rem; font-weight: 600; }
.kind { background: #234; color: #fff; border-radius: 4px; padding: 0 .4rem; }
time { color: #666; font-weight: 400; margin-left: auto; }
pre { white-space: pre-wrap; word-break: break-word; margin: .4rem 0 0; }
"""


def render(messages):
    """The page for ``messages`` (oldest first, as stored)."""
    articles = "\n".join(_article(message) for message in reversed(messages))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>devsink: {len(messages)} messages</title><style>{STYLE}</style></head>
<body><h1>Development sink</h1>
<p>{len(messages)} messages; <a href="/messages.json">messages.json</a></p>
{articles or "<p>Nothing received yet.</p>"}
</body></html>
"""


def _article(message):
    return (f'<article><header><span class="kind">{escape(message["kind"])}</span>'
            f"<span>{escape(_recipient(message))}</span><span>{escape(_title(message))}</span>"
            f'<time>{escape(message["received_at"])}</time></header>'
            f"<pre>{escape(_content(message))}</pre></article>")


def _recipient(message):
    if message["kind"] == "webhook":
        return message["endpoint"]
    to = message["to"]
    return ", ".join(to) if isinstance(to, list) else str(to)


def _title(message):
    if message["kind"] == "email":
        return message["subject"] or ""
    return what(message)


def _content(message):
    if message["kind"] == "email":
        return message["text"] or message["html"] or ""
    if message["kind"] == "webhook":
        return _pretty(message["body"])
    return json.dumps(message["params"], ensure_ascii=False, indent=2)


def _pretty(body):
    try:
        return json.dumps(json.loads(body), ensure_ascii=False, indent=2)
    except ValueError:
        return body
