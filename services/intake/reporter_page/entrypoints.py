"""The reporter's page (``/c/<token>``), entrypoints of the intake service
(docs/reference.md#the-reporters-page).

``ReporterPages`` is mixed into ``IntakeService`` (it uses its ``db`` and ``keys``). A
reporter who asked for feedback is sent a link to it with every message; it shows their
concern as intake's ticket view has it (``screens``), in their language (``?lang=``
switches), and takes their rating of a resolution by the same rules as the front-ends'
API (``use_cases.rating``, ``taken_by`` ``page``), then sends the browser back to the
page (303), which thanks them and says what happens next.

The token in the path is the capability: whoever holds the link is the reporter. It is
drawn with 128 random bits and stored only as its SHA-256. No cookie and no CSRF token are
needed: a form on another site cannot know the token, so cannot post to the page; and
the page sends no Referer (``Referrer-Policy: no-referrer``), is not cached, and its
token is never logged (``log_redaction``). A wrong token, one whose ticket became final
more than ``ZD_REPORTER_PAGE_DAYS`` ago, and one erased with the reporter's data all
answer the same 404 page. Requests are limited per client address and per token, across
intake's instances (the API keys' limiter); beyond it, a 429 page with ``Retry-After``.
"""
import math
from datetime import datetime, timezone
from urllib.parse import urlencode

from marshmallow import ValidationError

from services.common import config
from services.common.errors import BadRequest, NotFound, Problem, TooManyRequests
from services.common.local_directory import current_directory
from services.common.pages import html_response, read_form, redirect, static_file
from services.common.pages import page as page_entrypoint
from services.intake import domain, store
from services.intake.reporter_page import screens
from services.intake.reporter_page.render import asset, render
from services.intake.reporter_page.words import pick_locale, say
from services.intake.schemas import RATINGS, RatingSchema
from services.intake.use_cases import rating

STATIC = "/page/static/"
#: the form's fields a problem may name
FIELDS = ("rating", "comment")


def page(method, url):
    return page_entrypoint(method, url, home="/", stylesheet=f"{STATIC}reporter.css")


def _now():
    return datetime.now(timezone.utc)


class ReporterPages:
    """The reporter's page; the service class gives ``db`` and ``keys``."""

    @page("GET", "/c/<string:token>")
    def reporter_page(self, request, token):
        try:
            with self.db.transaction() as conn:
                concern = self._visited_concern(conn, request, token)
                return self._page(conn, request, token, concern,
                                  notice=request.args.get("done") == "rated")
        except (NotFound, TooManyRequests) as refused:
            return _refused(refused)

    @page("POST", "/c/<string:token>/rating")
    def rate_on_page(self, request, token):
        posted = {}
        try:
            with self.db.transaction() as conn:
                concern = self._visited_concern(conn, request, token)
                posted = read_form(request).to_dict()
                rated = _rating_in(posted)
                rating.apply_rating(conn, concern, rated["rating"], rated["comment"], _now(),
                                    rating.PAGE)
        except (NotFound, TooManyRequests) as refused:
            return _refused(refused)
        except Problem as refused:
            if refused.status >= 500:
                raise
            return self._page_again(request, token, refused, posted)
        return redirect(f"/c/{token}?{urlencode({'lang': _locale(request, concern), 'done': 'rated'})}")

    @page("GET", f"{STATIC}<string:name>")
    def reporter_page_asset(self, request, name):
        return static_file(asset(name))

    def _visited_concern(self, conn, request, token):
        """The concern whose page ``token`` opens, once the request is within its client
        address's and the token's limits; NotFound, the same, for a wrong token, an
        expired page and an erased one."""
        token_hash = domain.page_token_hash(token)
        self.keys.limiter.check(conn, f"address:{request.remote_addr or ''}")
        self.keys.limiter.check(conn, f"page:{token_hash[:16]}")
        concern = store.find_by_page_token(conn, token_hash) \
            if domain.PAGE_TOKEN_SHAPE.fullmatch(token) else None
        if concern is None or not screens.is_open(concern["view"] or {},
                                                  config.reporter_page_days(), _now()):
            raise NotFound("No such page.")
        return concern

    def _page(self, conn, request, token, concern, status=200, **shown):
        """The concern's page as it is now, in the reporter's language."""
        screen = screens.concern_screen(concern, current_directory(conn),
                                        store.latest_rating(conn, concern["ticket_id"]),
                                        config.reporter_page_days())
        context = {"notice": False, "problem": None, "errors": (), "chosen": None, "comment": "",
                   **shown}
        return html_response(status, render("concern", _locale(request, concern), screen=screen,
                                            token=token, ratings=RATINGS, **context))

    def _page_again(self, request, token, refused, posted):
        """The page shown again with why the rating was not taken, what was chosen kept."""
        with self.db.transaction() as conn:
            concern = store.find_by_page_token(conn, domain.page_token_hash(token))
            if concern is None:  # erased meanwhile
                return _refused(NotFound("No such page."))
            locale = _locale(request, concern)
            errors = [name for name in (refused.errors or {}) if name in FIELDS]
            return self._page(conn, request, token, concern, status=refused.status,
                              problem=_problem_words(refused, errors, locale), errors=errors,
                              chosen=posted.get("rating"), comment=posted.get("comment") or "")


def _rating_in(posted):
    """The rating the form holds, as the API's body would; BadRequest naming each bad field."""
    try:
        return RatingSchema().load({"rating": posted.get("rating") or "",
                                    "comment": (posted.get("comment") or "").strip() or None})
    except ValidationError as exc:
        raise BadRequest("The rating form is not filled in right.", errors=exc.messages) from exc


def _problem_words(refused, errors, locale):
    if isinstance(refused, rating.AlreadyRated):
        return say(locale, "already_rated")
    if isinstance(refused, rating.NotRatable):
        return say(locale, "not_resolved")
    return say(locale, "fix_fields" if errors else "form_unreadable")


def _locale(request, concern):
    return pick_locale(request.args.get("lang"), (concern["reporter"] or {}).get("locale"))


def _refused(refused):
    """The one 404 page (whatever the reason: nothing told), or the 429 page; both in both
    languages, since whose page it is is not told either."""
    if isinstance(refused, TooManyRequests):
        seconds = max(1, math.ceil(refused.extra.get("retry_after", 1)))
        return html_response(429, render("too_many", "zh-CN"), {"Retry-After": str(seconds)})
    return html_response(404, render("not_found", "zh-CN"))
