"""The HTML edge shared by the pages people use (the workbench): answers, cookies, forms.

``page(method, url)`` is the ``api`` entrypoint for a page: the same error table, but a
browser that asks for HTML gets its error as a page in its language (the problem's
title and detail, its field messages listed), and a page that needs someone signed in
(``SignInNeeded``) sends the browser to the sign-in page instead. A client that asks
for JSON still gets problem+json.

Every page is served under one Content-Security-Policy (``POLICY``): scripts, styles,
images and requests from this service only, forms posted to it only, no frames. Nothing
a page loads comes from elsewhere, so it works on an intranet without internet.

Forms are ``application/x-www-form-urlencoded``; ``read_form`` refuses anything else,
bodies over the API's limit, and control characters (as ``read_json`` does).
"""
import html
import json
from urllib.parse import quote

from werkzeug.wrappers import Response

from services.common.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from services.common.http import MAX_BODY_BYTES, PROBLEM_TYPE, ApiHandler
from services.common.text import control_character_errors

POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
          " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": POLICY, "Cache-Control": "no-store",
           "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
           "X-Frame-Options": "DENY"}
FORM_TYPE = "application/x-www-form-urlencoded"


class SignInNeeded(Unauthorized):
    """No one is signed in (or the session ended): a browser goes to ``sign_in_url``."""
    title = "Sign in first"

    def __init__(self, sign_in_url, detail="Sign in to continue."):
        super().__init__(detail, sign_in=sign_in_url)


def html_response(status, text, headers=None):
    return Response(text, status=status, content_type="text/html; charset=utf-8",
                    headers={**HEADERS, **(headers or {})})


def redirect(location, headers=None):
    """303 See Other: after a form's POST the browser GETs ``location``."""
    response = Response("", status=303, headers={**HEADERS, "Location": location})
    for name, value in (headers or {}).items():
        response.headers.add(name, value)
    return response


def static_file(found):
    """A page's own file, ``(bytes, media type)`` as its renderer found it (None: no such
    file, 404), cached for an hour."""
    if found is None:
        raise NotFound("No such file.")
    content, media_type = found
    return Response(content, content_type=f"{media_type}; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600",
                             "X-Content-Type-Options": "nosniff"})


def is_secure(request):
    """Whether the browser reached us over https (directly, or through a proxy that says so)."""
    return request.scheme == "https" or request.headers.get("X-Forwarded-Proto", "") == "https"


def set_cookie(response, request, name, value, max_age, path="/"):
    """An HttpOnly, SameSite=Lax cookie (Secure behind https); ``value`` None clears it."""
    response.set_cookie(name, value or "", max_age=max_age if value else 0, path=path,
                        httponly=True, samesite="Lax", secure=is_secure(request))
    return response


def read_form(request):
    """The posted form as a MultiDict, or the Problem that says why there is none."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The form must be at most {MAX_BODY_BYTES} bytes.")
    if request.mimetype != FORM_TYPE:
        raise UnsupportedMediaType(f"Post the form as {FORM_TYPE}.")
    form = request.form
    errors = {name: next(iter(found.values())) for name, values in form.lists()
              if (found := control_character_errors(values))}
    if errors:
        raise BadRequest("Some fields hold control characters.", errors=errors)
    return form


def wants_html(request):
    accepted = request.accept_mimetypes
    return accepted.accept_html and accepted["text/html"] >= accepted["application/json"]


def error_page(problem, status, home, stylesheet):
    """A plain page telling a problem+json body: what happened, each field's messages, and
    the way back to ``home``."""
    title, detail = html.escape(problem.get("title", "")), html.escape(problem.get("detail", ""))
    fields = "".join(f"<li><b>{html.escape(name)}</b>: {html.escape('; '.join(map(str, messages)))}</li>"
                     for name, messages in (problem.get("errors") or {}).items()
                     if isinstance(messages, list))
    text = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{title}</title><link rel="stylesheet" href="{stylesheet}"></head>'
            f'<body><main class="problem"><h1>{status} {title}</h1><p>{detail}</p>'
            f'{"<ul>" + fields + "</ul>" if fields else ""}'
            f'<p><a href="{home}">Zero Distance</a></p></main></body></html>')
    retry = problem.get("retry_after")
    return html_response(status, text, {"Retry-After": str(retry)} if retry else None)


class PageHandler(ApiHandler):
    """The ``api`` entrypoint for pages: errors as pages for a browser, sign-in when needed.
    ``home`` and ``stylesheet``: where an error page leads back to, and how it looks."""

    def __init__(self, method, url, home="/", stylesheet="", **kwargs):
        super().__init__(method, url, **kwargs)
        self.home, self.stylesheet = home, stylesheet

    def handle_request(self, request):
        response = super().handle_request(request)
        if response.mimetype != PROBLEM_TYPE or not wants_html(request):
            return response
        problem = json.loads(response.get_data())
        if problem.get("sign_in"):
            return redirect(f"{problem['sign_in']}?next={quote(request.full_path.rstrip('?'))}")
        return error_page(problem, response.status_code, self.home, self.stylesheet)


page = PageHandler.decorator
