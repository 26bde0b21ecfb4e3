"""Keeping secrets out of log lines (docs/reference.md#promises: no API key, password, session,
sign-in code or reporter's page token appears in any log line).

``redact(text)`` hides the value of every secret query parameter (``SECRET_PARAMETERS``,
whatever URL it is part of, its name percent-encoded or not), of every secret header
(``SECRET_HEADERS``, as ``Name: value`` or a mapping's ``'Name': 'value'``), the
password of a URL (``scheme://user:password@host``), a bearer or basic credential,
anything shaped like one of our API keys, and the token of a reporter's page in its path
(``/c/<token>`` is written ``/c/…``). The HTTP server's access log is written
through it; ``RedactingFilter`` applies it to every record a process's handlers write,
traceback included, as the safety net. A new secret parameter or header is one line
in its list.
"""
import logging
import re
from urllib.parse import unquote_plus

REDACTED = "[redacted]"

#: query (and form) parameters whose values are secrets, compared without case
SECRET_PARAMETERS = frozenset(name.lower() for name in (
    "api_key",
    "apikey",
    "access_token",
    "token",
    "password",
    "secret",
    "session",
    "sign_in_code",
))

#: request headers whose values are secrets, compared without case
SECRET_HEADERS = (
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
    "X-Api-Key",
)

_QUERY = re.compile(r"\?([^\s\"'<>#]*)")
_URL_PASSWORD = re.compile(r"\b([a-z][a-z0-9+.-]*://[^\s/:@\"']*):[^\s/@\"']*@", re.IGNORECASE)
_HEADER = re.compile(r"\b(" + "|".join(map(re.escape, SECRET_HEADERS)) + r")(['\"]?\s*[:=]\s*['\"]?)"
                     r"[^\r\n'\"]+", re.IGNORECASE)
_SCHEME_CREDENTIAL = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_API_KEY = re.compile(r"\b(zd_[0-9a-f]{12})\.[A-Za-z0-9_-]+")  # see credentials.new_key
#: a reporter's page (intake's ``/c/<token>``), as a request line's path or in a whole URL
_PAGE_TOKEN = re.compile(r"(^|[\s\"'(=]|://[^\s/\"']*)/c/[^\s/?#\"']+")
PAGE_TOKEN_SHOWN = "/c/\u2026"


def redact(text):
    """``text`` with every secret it holds replaced by ``[redacted]``."""
    text = _QUERY.sub(lambda found: "?" + redact_query(found.group(1)), text)
    text = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
    text = _HEADER.sub(rf"\1\2{REDACTED}", text)
    text = _SCHEME_CREDENTIAL.sub(rf"\1 {REDACTED}", text)
    text = _PAGE_TOKEN.sub(lambda found: found.group(1) + PAGE_TOKEN_SHOWN, text)
    return _API_KEY.sub(rf"\1.{REDACTED}", text)


def redact_query(query):
    """A query string with the value of each secret parameter replaced, the rest as sent."""
    return "&".join(_redact_pair(pair) for pair in query.split("&"))


def _redact_pair(pair):
    name, equals, _ = pair.partition("=")
    if equals and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
        return f"{name}={REDACTED}"
    return pair


class RedactingFilter(logging.Filter):
    """Redacts a record's message and traceback before a handler writes them."""

    _formatter = logging.Formatter()

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def redact_every_handler(logger=None):
    """Puts ``RedactingFilter`` on each handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())


class RedactedLog:
    """A logger's ``info``/``debug``/``error``, given already formatted text that may hold a
    request line (what eventlet's WSGI server writes): each line is redacted first."""

    def __init__(self, logger):
        self.logger = logger

    def info(self, message, *args, **kwargs):
        self.logger.info("%s", redact(message % args if args else message))

    def debug(self, message, *args, **kwargs):
        self.logger.debug("%s", redact(message % args if args else message))

    def error(self, message, *args, **kwargs):
        self.logger.error("%s", redact(message % args if args else message))

    def write(self, message, *args):
        self.info(message.rstrip("\n"), *args)
