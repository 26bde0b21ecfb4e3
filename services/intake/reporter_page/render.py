"""Rendering the reporter's page: jinja2 templates (autoescaped) in the reporter's language.

``render(name, locale, **context)`` fills ``templates/<name>.html`` with the context and
the helpers every page uses: ``t`` (a word), ``say`` (a screen's ``Phrase``), ``words``
(a word in a language given: a page in both), ``when`` (a time in China Standard Time),
``iso`` (a time for ``<time datetime>``). The templates
hold no rule: the screen (``screens``) decided what to show. Pure but for reading the
template files, once.
"""
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.intake.reporter_page import words

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
CHINA = ZoneInfo("Asia/Shanghai")
#: the page's files, and their media types
ASSETS = {"reporter.css": "text/css"}
_environment = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                           autoescape=select_autoescape(["html"]), trim_blocks=True,
                           lstrip_blocks=True)


def render(name, locale, **context):
    helpers = {"lang": locale, "t": lambda key, **values: words.say(locale, key, **values),
               "say": lambda phrase: words.say(locale, phrase.key, **phrase.values),
               "words": words.say, "when": _when, "iso": _iso}
    return _environment.get_template(f"{name}.html").render(**helpers, **context)


def _when(at):
    """``2026-12-05 14:03`` in China Standard Time; '' for none."""
    if at is None:
        return ""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _iso(at):
    if at is None:
        return ""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.astimezone(CHINA).isoformat(timespec="minutes")


def asset(name):
    """``(bytes, media type)`` of a file of the page, or None."""
    media = ASSETS.get(name)
    return ((STATIC / name).read_bytes(), media) if media else None
