"""The words of every notification, in ``zh-CN`` and ``en``, from template files (jinja2).

``templates/<locale>/<template>.txt`` extends ``<locale>/layout.txt`` and fills its
blocks: ``subject`` (one line naming the ticket id; an office's notice of rejected feedback
that named no ticket names its department instead; ``PERSON_TEMPLATES``, a person's
sign-in code, name no ticket), ``body`` (the email text) and,
where the subject is not enough for an SMS or a WeChat template message, ``short``.
The phrases the messages of a language share (a concern named by its title and id, a
department named from the ticket's dispatches) are macros in ``<locale>/_macros.txt``.
One HTML layout, ``templates/layout.html`` (autoescaped), serves every message: it shows
the subject, the body's paragraphs and a button: for staff, the link to the ticket; for
the reporter, the link to their concern's own page (the ``link`` param, which their
templates also show in the body and the short text); so the words live once, in the
text, and what a resident or a department wrote (a title, a result) is escaped in HTML
and kept as written in text.

A template is rendered once and cut into its blocks at a separator that ``layout.txt``
puts between them (and that is taken out of the params). A param that is missing, or a
field of one (``change.note`` with no change), reads as empty. Times are shown in China
Standard Time (UTC+8, the directory's default ``Asia/Shanghai``, no daylight saving):
the params do not carry the district's timezone. Pure: no I/O but reading the template
files, read once.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, TemplateNotFound, select_autoescape

from services.common.events import DEFAULT_LOCALE, LOCALES

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
SEPARATOR = "\x1e"  # between the blocks in layout.txt; never in a template's own text
TEMPLATES = (
    "concern.received.reporter", "ticket.dispatched.reporter", "ticket.resolved.reporter",
    "ticket.closed.reporter", "ticket.reminded.reporter", "ticket.assigned.representative",
    "ticket.resolved.representative",
    "ticket.feedback.representative", "ticket.rated.representative",
    "ticket.escalated.representative", "ticket.forwarded.office", "ticket.undecided.office",
    "ticket.returned.office", "ticket.overdue.office", "feedback.rejected.office",
    "department.dispatched.department",
)
#: a person's own messages, about no ticket: the workbench's sign-in code
PERSON_TEMPLATES = ("staff.sign_in_code.staff",)
CHINA_STANDARD_TIME = timezone(timedelta(hours=8))
LINK_LABEL = {"zh-CN": "查看诉求", "en": "Open the ticket"}
PAGE_LABEL = {"zh-CN": "查看我的诉求", "en": "Follow your concern"}  # a reporter's own page
REPORTER_SUFFIX = ".reporter"
FOOTER = {"zh-CN": "零距离 · 人大代表联络站群众诉求办理系统。此邮件由系统发送，请勿直接回复。",
          "en": "Zero Distance: concerns of the public, carried to those who act on them."
                " Sent automatically; please do not reply."}


class UnknownTemplate(ValueError):
    """No such template: the notification can never be rendered."""


@dataclass(frozen=True)
class RenderedMessage:
    subject: str  # one line, names the ticket id (when there is one)
    text: str     # the plain-text email body
    html: str     # the HTML email body, autoescaped
    short: str    # a sentence or two for an SMS or WeChat message, names the ticket id


def local_time(value: str | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """An ISO 8601 time as a clock in China shows it; anything else as given."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return value or ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA_STANDARD_TIME)
    return moment.strftime(pattern)


# auto_reload off: the files are read once, not checked for changes on every message
_environment = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), undefined=ChainableUndefined,
                           autoescape=select_autoescape(["html"]), keep_trailing_newline=False,
                           auto_reload=False)
_environment.filters["local_time"] = local_time


def render(template: str, locale: str, params: dict, link: str | None = None) -> RenderedMessage:
    """The message of ``template`` in ``locale`` (zh-CN when unknown) with ``params``;
    ``link`` (to the ticket, for staff) ends the text and is a button in the HTML. A
    reporter's message has the ``link`` param (their own page) as its button instead."""
    if template not in TEMPLATES and template not in PERSON_TEMPLATES:
        raise UnknownTemplate(template)
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    try:
        source = _environment.get_template(f"{locale}/{template}.txt")
    except TemplateNotFound:
        raise UnknownTemplate(f"{locale}/{template}") from None
    subject, body, short = (part.strip() for part in
                            source.render(_without_separator(params)).split(SEPARATOR))
    subject = " ".join(subject.split())
    text = f"{body}\n\n{link}" if link else body
    button, label = _button(template, locale, params, link)
    html = _environment.get_template("layout.html").render(
        locale=locale, subject=subject, paragraphs=[p for p in body.split("\n\n") if p.strip()],
        link=button, link_label=label, footer=FOOTER[locale])
    return RenderedMessage(subject, text, html, " ".join(short.split()))


def _button(template, locale, params, link):
    """The HTML's button and its label: a reporter's own page, or the staff link."""
    if template.endswith(REPORTER_SUFFIX):
        return params.get("link") or None, PAGE_LABEL[locale]
    return link, LINK_LABEL[locale]


def _without_separator(value):
    """Params as given, but for the block separator (text from outside may hold anything)."""
    if isinstance(value, str):
        return value.replace(SEPARATOR, " ")
    if isinstance(value, dict):
        return {key: _without_separator(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_separator(item) for item in value]
    return value
