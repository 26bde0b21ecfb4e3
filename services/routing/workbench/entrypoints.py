"""The workbench's pages (``/workbench/...``), entrypoints of the routing service.

``WorkbenchPages`` is mixed into ``RoutingService``: each method reads the request (the
session cookie, a form), calls the same use cases as the API (``actions``, ``inbound``,
``sign_in``, ``notes``, ``replies``, ``rejected_feedback``), and renders a page or sends
the browser on (303). A person signs in with a one-time code (``sign_in``); the session
lives in an HttpOnly cookie, and every form that changes something carries the
session's CSRF token (the sign-in forms, before there is a session, a token of their
own cookie). A page that needs a session sends a browser without one to sign in.

Pages: ``/workbench/`` (each role's home), ``sign-in``, ``queue`` (a representative's
tickets), ``office`` (a district's tickets, filters, counts, bulk actions), ``tickets/<id>``
(one ticket: act, internal notes), ``replies`` (an office's saved replies),
``rejected-feedback`` (department feedback that could not apply), ``department`` (a
department's dispatches, answered in the page), ``state`` (a list's fingerprint, polled
by the page's script), ``static/<file>``.
"""
import hmac
import secrets
from contextlib import contextmanager
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode

from marshmallow import ValidationError

from services.common.credentials import Party
from services.common.errors import BadRequest, Conflict, Forbidden, NotFound, Problem, TooManyRequests
from services.common.http import as_problem, json_response
from services.common.local_directory import current_directory
from services.common.pages import (
    SignInNeeded,
    html_response,
    read_form,
    redirect,
    set_cookie,
    static_file,
)
from services.common.pages import page as page_entrypoint
from services.routing import store
from services.routing.schemas import TicketQuerySchema
from services.routing.use_cases import (
    actions,
    inbound,
    notes,
    rejected_feedback,
    replies,
    sign_in,
    workflow,
)
from services.routing.use_cases.sign_in import SignInPolicy
from services.routing.use_cases.step import Person as ActingPerson
from services.routing.workbench import forms, screens
from services.routing.workbench.render import asset, render
from services.routing.workbench.words import pick_locale, say

ROOT = "/workbench/"
SIGN_IN = "/workbench/sign-in"
SESSION_COOKIE = "zd_workbench"
FORM_COOKIE = "zd_workbench_form"  # the sign-in forms' CSRF token, before there is a session
LANG_COOKIE = "zd_lang"
YEAR = 365 * 86400
#: the lists a page keeps current (``/workbench/state?page=``), and whose they are
LIST_OF_ROLE = {"queue": "representative", "office": "congress", "department": "department"}
OFFICE_FILTERS = ("status", "category", "community", "representative", "department", "overdue",
                  "undecided", "duplicates", "sort")


def page(method, url):
    return page_entrypoint(method, url, home=ROOT, stylesheet="/workbench/static/workbench.css")


def _locale(request):
    return pick_locale(request.args.get("lang"), request.cookies.get(LANG_COOKIE),
                       request.accept_languages)


def _remember_locale(response, request):
    if request.args.get("lang") in ("zh-CN", "en"):
        set_cookie(response, request, LANG_COOKIE, request.args["lang"], YEAR)
    return response


def _party(person):
    return Party(person.role, person.scope)


def _acting(person):
    """The person as the timeline names them beside their party."""
    return ActingPerson(person.id, person.name)


def _district_of(person, directory):
    """The district whose time a person's pages show: their own, else the city's first."""
    if person.role == "congress":
        return person.scope
    if person.role == "representative":
        return directory["representatives"][person.scope]["district"]
    served = directory["departments"][person.scope]["districts"]
    return served[0] if served and served[0] != "*" else next(iter(directory["districts"]))


def _filters_shown(query):
    """The office's filters as its form shows them: each one, set or not."""
    return SimpleNamespace(**{name: query.get(name) for name in OFFICE_FILTERS})


def _safe_next(target):
    """Only a path of the workbench itself: never another site."""
    return target if isinstance(target, str) and target.startswith(ROOT) and "//" not in target \
        and "\\" not in target else ROOT


class WorkbenchPages:
    """The workbench's entrypoints; the service class gives ``db`` and ``keys``."""

    # --- the frame every page shares -------------------------------------------------

    @contextmanager
    def _visit(self, request, role=None):
        """The request's transaction and who made it: ``(conn, directory, session)``.
        SignInNeeded without a live session; a page of another ``role`` answers as none;
        TooManyRequests past ``ZD_RATE_LIMIT`` requests a second of the session (burst twice
        that, across routing's instances), as for an API key."""
        with self.db.transaction() as conn:
            directory = current_directory(conn)
            token = request.cookies.get(SESSION_COOKIE)
            session = sign_in.session_of(conn, directory, token, workflow.now()) if token else None
            if session is None:
                conn.commit()  # a session found over stays ended, whatever the directory says later
                raise SignInNeeded(SIGN_IN)
            self.keys.limiter.check(conn, f"session:{session.session_id}")  # as an API key is
            if role is not None and session.person.role != role:
                raise NotFound("No such page for you.")
            yield conn, directory, session

    def _visitor(self, request, role=None):
        """``(directory, session)`` of the request, read in a transaction of their own."""
        with self._visit(request, role) as (_, directory, session):
            return directory, session

    def _show(self, request, name, session, directory, status=200, **context):
        locale = _locale(request)
        person = session.person if session else None
        district = _district_of(person, directory) if person else None
        timezone = (directory["districts"][district]["policy"]["timezone"] if district
                    else directory["policy"]["timezone"])
        defaults = {"csrf": session.csrf_token if session else "", "notice": None, "problem": None,
                    "state": None, "state_url": None,
                    "category_names": {code: c["name"] for code, c in directory["categories"].items()}}
        text = render(name, locale, timezone, person=person,
                      nav=screens.NAV.get(person.role, []) if person else [], **{**defaults, **context})
        return _remember_locale(html_response(status, text), request)

    @staticmethod
    def _form(request, session):
        """The posted form, once its CSRF token is the session's."""
        form = read_form(request)
        sign_in.check_csrf(session, form.get("csrf"))
        return form

    # --- signing in and out ----------------------------------------------------------

    @page("GET", "/workbench/")
    def workbench_home(self, request):
        _, session = self._visitor(request)
        return _remember_locale(redirect(screens.HOME[session.person.role]), request)

    @page("GET", "/workbench/sign-in")
    def sign_in_page(self, request):
        person_id = request.args.get("person", "")[:32] if request.args.get("sent") else ""
        notice = ("signed_out" if request.args.get("out") else "session_ended"
                  if request.args.get("next") and request.cookies.get(SESSION_COOKIE) else None)
        return self._sign_in_form(request, person_id, _safe_next(request.args.get("next")),
                                  notice=notice and say(_locale(request), notice))

    def _sign_in_form(self, request, person_id, next_page, problem=None, notice=None):
        """The sign-in page: the id's form, or the code's once one was sent to ``person_id``."""
        token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
        with self.db.transaction() as conn:
            directory = current_directory(conn)
        minutes = int(SignInPolicy.from_environment().code_lifetime.total_seconds() // 60)
        response = self._show(request, "sign_in", None, directory, status=problem.status if problem else 200,
                              csrf=token, person_id=person_id, next=next_page, minutes=minutes,
                              notice=notice,
                              problem=problem and {"detail": problem.detail, "errors": problem.errors})
        return set_cookie(response, request, FORM_COOKIE, token, 3600, path=SIGN_IN)

    @staticmethod
    def _posted_sign_in(request):
        """The sign-in form, once its token is the one of the form's cookie."""
        form = read_form(request)
        if not form.get("csrf") or not hmac.compare_digest(form["csrf"],
                                                           request.cookies.get(FORM_COOKIE, "")):
            raise Forbidden("The form is stale or forged: reload the page.")
        return form

    @page("POST", "/workbench/sign-in")
    def ask_for_code(self, request):
        form = self._posted_sign_in(request)
        person_id, next_page = (form.get("person") or "").strip(), _safe_next(form.get("next"))
        try:
            with self.db.transaction() as conn:
                sign_in.request_code(conn, current_directory(conn), person_id, request.remote_addr or "",
                                     _locale(request), workflow.now())
        except (BadRequest, TooManyRequests) as problem:
            return self._sign_in_form(request, "", next_page, problem)
        return redirect(f"{SIGN_IN}?{urlencode({'sent': 1, 'person': person_id, 'next': next_page})}")

    @page("POST", "/workbench/sign-in/code")
    def enter_code(self, request):
        form = self._posted_sign_in(request)
        person_id, next_page = (form.get("person") or "").strip(), _safe_next(form.get("next"))
        try:
            with self.db.transaction() as conn:
                made = sign_in.verify_code(conn, current_directory(conn), person_id,
                                           (form.get("code") or "").strip(), request.remote_addr or "",
                                           request.user_agent.string, workflow.now())
        except (BadRequest, TooManyRequests) as problem:
            return self._sign_in_form(request, person_id, next_page, problem)
        response = redirect(next_page)
        set_cookie(response, request, FORM_COOKIE, None, 0, path=SIGN_IN)
        lifetime = SignInPolicy.from_environment().session_lifetime.total_seconds()
        return set_cookie(response, request, SESSION_COOKIE, made.token, int(lifetime), path=ROOT)

    @page("POST", "/workbench/sign-out")
    def sign_out(self, request):
        with self._visit(request) as (conn, _, session):
            self._form(request, session)
            sign_in.sign_out(conn, request.cookies.get(SESSION_COOKIE))
        return set_cookie(redirect(f"{SIGN_IN}?out=1"), request, SESSION_COOKIE, None, 0, path=ROOT)

    # --- a representative's and an office's tickets ----------------------------------

    @page("GET", "/workbench/queue")
    def representative_queue(self, request):
        with self._visit(request, "representative") as (conn, directory, session):
            rows = self._rows(conn, directory, session, "queue", {})
        return self._show(request, "queue", session, directory, tickets=rows,
                          state=screens.state_of(rows), state_url="/workbench/state?page=queue")

    @page("GET", "/workbench/office")
    def office_queue(self, request):
        with self._visit(request, "congress") as (conn, directory, session):
            return self._office_page(request, conn, directory, session, request.args)

    def _office_page(self, request, conn, directory, session, args, **shown):
        """The district's tickets the filters ``args`` ask for, with the counts beside them;
        ``shown``: the outcomes of a bulk action and its notice."""
        query = self._office_query(args)
        rows = self._rows(conn, directory, session, "office", query)
        filters = urlencode({k: v for k, v in args.items() if k != "lang"})
        return self._show(request, "office", session, directory, tickets=rows,
                          counts=screens.counts(conn, _party(session.person)),
                          query=_filters_shown(query), filters=filters,
                          choices=screens.choices(directory, session.person.scope),
                          state=screens.state_of(rows),
                          state_url=f"/workbench/state?page=office&{filters}",
                          **{"outcomes": None, **shown})

    def _office_query(self, args):
        given = {name: value for name, value in args.items() if value and name != "lang"}
        return TicketQuerySchema().load({**given, "limit": screens.LIST_LIMIT})

    def _rows(self, conn, directory, session, which, query):
        party = _party(session.person)
        if which == "department":
            return screens.dispatch_rows(conn, session.person.scope, workflow.now())
        if which == "queue":
            query = TicketQuerySchema().load({"limit": screens.LIST_LIMIT})
            rows = screens.queue_rows(conn, directory, party, query, workflow.now())
            return [row for row in rows if row["status"] in screens.REPRESENTATIVE_SHOWS]
        return screens.queue_rows(conn, directory, party, query, workflow.now())

    @page("GET", "/workbench/state")
    def list_state(self, request):
        which = request.args.get("page")
        if which not in LIST_OF_ROLE:
            raise NotFound("No such list.")
        query = self._office_query({k: v for k, v in request.args.items() if k != "page"}) \
            if which == "office" else {}
        with self._visit(request, LIST_OF_ROLE[which]) as (conn, directory, session):
            rows = self._rows(conn, directory, session, which, query)
        return json_response(200, {"state": screens.state_of(rows)}, headers={"Cache-Control": "no-store"})

    @page("GET", "/workbench/tickets/<string:ticket_id>")
    def ticket_page(self, request, ticket_id):
        with self._visit(request) as (conn, directory, session):
            shown = self._ticket_context(conn, directory, session, ticket_id)
        notice = say(_locale(request), request.args["done"]) \
            if request.args.get("done") in screens.DONE_WORDS else None
        return self._show(request, "ticket", session, directory, notice=notice, **shown)

    def _ticket_context(self, conn, directory, session, ticket_id):
        person = session.person
        shown = screens.ticket_screen(conn, directory, _party(person), ticket_id, workflow.now())
        district = shown["ticket"]["district"]
        return {**shown, "choices": screens.choices(directory, district),
                "replies": replies.list_for(conn, district) if person.role == "congress" else []}

    @page("POST", "/workbench/tickets/<string:ticket_id>/actions")
    def act_on_ticket(self, request, ticket_id):
        directory, session = self._visitor(request)
        form = self._form(request, session)
        person = session.person
        try:
            with self.db.transaction() as conn:
                saved = replies.list_for(conn, _district_of(person, directory)) \
                    if person.role == "congress" else []
                timezone = directory["districts"][_district_of(person, directory)]["policy"]["timezone"]
                command = forms.action_command(form, timezone, saved)
                actions.act(conn, ticket_id, _party(person), command, directory,
                            person=_acting(person))
        except (Problem, ValidationError) as refused:
            problem = as_problem(refused)
            if problem.status in (403, 404) or problem.status >= 500:  # nothing to show again
                raise
            return self._ticket_again(request, session, directory, ticket_id, problem)
        return redirect(f"/workbench/tickets/{ticket_id}?done=done.{command['action']}")

    def _ticket_again(self, request, session, directory, ticket_id, problem):
        """The ticket shown again, as it is now, with why the action was not taken."""
        locale = _locale(request)
        detail = say(locale, "changed_meanwhile") if problem.extra.get("current_version") is not None \
            else problem.detail
        with self.db.transaction() as conn:
            shown = self._ticket_context(conn, directory, session, ticket_id)
        return self._show(request, "ticket", session, directory, status=problem.status,
                          problem={"detail": detail, "errors": problem.errors}, **shown)

    @page("POST", "/workbench/tickets/<string:ticket_id>/notes")
    def add_internal_note(self, request, ticket_id):
        with self._visit(request) as (conn, directory, session):
            form = self._form(request, session)
            notes.add_internal_note(conn, store.find_ticket(conn, ticket_id), _party(session.person),
                                    _acting(session.person), (form.get("text") or "").strip())
        return redirect(f"/workbench/tickets/{ticket_id}?done=done.note")

    @page("POST", "/workbench/office/bulk")
    def bulk_action(self, request):
        directory, session = self._visitor(request, "congress")
        form = self._form(request, session)
        ticket_ids = form.getlist("ticket")
        timezone = directory["districts"][session.person.scope]["policy"]["timezone"]
        if not ticket_ids:
            raise BadRequest(say(_locale(request), "bulk_none"), errors={"ticket": ["Select tickets."]})
        command = forms.action_command(form, timezone)
        outcomes = actions.act_on_many(self.db, ticket_ids, _party(session.person), command, directory,
                                       person=_acting(session.person))
        done = sum(1 for outcome in outcomes if outcome["ok"])
        with self.db.transaction() as conn:  # the list as it was filtered, now
            return self._office_page(
                request, conn, directory, session, dict(parse_qsl(form.get("filters", ""))),
                outcomes=outcomes, notice=say(_locale(request), "bulk_done", ok=done,
                                              failed=len(outcomes) - done))

    # --- the office's own lists ------------------------------------------------------

    @page("GET", "/workbench/replies")
    def replies_page(self, request):
        with self._visit(request, "congress") as (conn, directory, session):
            saved = replies.list_for(conn, session.person.scope)
        notice = say(_locale(request), "done.reply") if request.args.get("done") else None
        return self._show(request, "replies", session, directory, replies=saved, notice=notice)

    @page("POST", "/workbench/replies")
    def save_reply(self, request):
        with self._visit(request, "congress") as (conn, directory, session):
            form = self._form(request, session)
            replies.save(conn, session.person.scope, form.get("kind", ""), (form.get("title") or "").strip(),
                         (form.get("text") or "").strip(), _acting(session.person))
        return redirect("/workbench/replies?done=1")

    @page("POST", "/workbench/replies/<int:reply_id>/delete")
    def delete_reply(self, request, reply_id):
        with self._visit(request, "congress") as (conn, directory, session):
            self._form(request, session)
            replies.delete(conn, session.person.scope, reply_id)
        return redirect("/workbench/replies?done=1")

    @page("GET", "/workbench/rejected-feedback")
    def rejected_feedback_page(self, request):
        with self._visit(request, "congress") as (conn, directory, session):
            rows = rejected_feedback.list_for(conn, session.person.scope)
        notice = say(_locale(request), "done.handled") if request.args.get("done") else None
        return self._show(request, "rejected", session, directory, rejected=rows, notice=notice)

    @page("POST", "/workbench/rejected-feedback/<int:rejected_id>/handled")
    def mark_feedback_handled(self, request, rejected_id):
        with self._visit(request, "congress") as (conn, directory, session):
            self._form(request, session)
            rejected_feedback.mark_handled(conn, session.person.scope, rejected_id,
                                           _acting(session.person))
        return redirect("/workbench/rejected-feedback?done=1")

    # --- a department without a system of its own ------------------------------------

    @page("GET", "/workbench/department")
    def department_page(self, request):
        with self._visit(request, "department") as (conn, directory, session):
            rows = self._rows(conn, directory, session, "department", {})
        notice = say(_locale(request), "done.feedback") if request.args.get("done") else None
        return self._show(request, "department", session, directory, dispatches=rows, notice=notice,
                          state=screens.state_of(rows), state_url="/workbench/state?page=department")

    @page("POST", "/workbench/dispatches/<string:dispatch_id>/feedback")
    def answer_dispatch(self, request, dispatch_id):
        directory, session = self._visitor(request, "department")
        form = self._form(request, session)
        body = forms.feedback_body(dispatch_id, form)
        with self.db.transaction() as conn:
            _, refused = inbound.apply_department_feedback(
                conn, inbound.feedback_over_http(session.person.scope, body),
                person=_acting(session.person))
        if refused:
            raise Conflict(refused)
        return redirect("/workbench/department?done=1")

    # --- files -----------------------------------------------------------------------

    @page("GET", "/workbench/static/<string:name>")
    def workbench_asset(self, request, name):
        return static_file(asset(name))
