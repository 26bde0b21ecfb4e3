"""Rendering the workbench's pages: jinja2 templates (autoescaped) in the person's language.

``render(name, locale, **context)`` fills ``templates/<name>.html`` with the context and
the helpers every page uses: ``t`` (words), ``status`` (a status in words), ``when`` (a
time in the district's timezone), ``left`` (a duration as hours and minutes). The
templates hold no rule: what may be done is decided before, by the use cases, and
given to them. Pure but for reading the template files, once.
"""
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.routing.workbench import words

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
_environment = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                           autoescape=select_autoescape(["html"]), trim_blocks=True,
                           lstrip_blocks=True)


def render(name, locale, timezone="Asia/Shanghai", **context):
    zone = ZoneInfo(timezone)
    helpers = {"lang": locale, "t": lambda key, **values: words.say(locale, key, **values),
               "status": lambda status: words.status_word(locale, status),
               "when": lambda at: _when(at, zone), "left": lambda seconds: _left(seconds, locale)}
    return _environment.get_template(f"{name}.html").render(**helpers, **context)


def _when(at, zone):
    """``2026-12-05 14:03`` in the district's time; '' for none."""
    if at is None:
        return ""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _left(seconds, locale):
    """A duration in whole hours and minutes, negative ones as overdue: ``3 h 20 min``."""
    late, seconds = seconds < 0, abs(int(seconds))
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    text = (f"{hours} 小时 {minutes} 分" if locale == "zh-CN" else f"{hours} h {minutes} min")
    return f"{words.say(locale, 'overdue')} {text}" if late else text


def asset(name):
    """``(bytes, media type)`` of a static file of the workbench, or None."""
    media = {"workbench.css": "text/css", "workbench.js": "application/javascript"}.get(name)
    return ((STATIC / name).read_bytes(), media) if media else None
