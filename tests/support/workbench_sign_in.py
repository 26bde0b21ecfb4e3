"""Signing a person of the directory in to the workbench in tests.

End to end, with the code the development sink received, as a person would: the
functions take the test module's stack holder (``workbench``): its ``directory``,
``sink``, ``base`` (the workbench's address) and ``sessions`` (person id → a session
token of theirs: a module signs each person in once, as codes per person are limited).
In integration tests, through routing's sign-in use cases (``signed_in``).
"""
import re

import requests

from services.common.local_directory import current_directory
from services.common.people import find_person
from services.routing.use_cases import sign_in, workflow

SESSION_COOKIE = "zd_workbench"


def sign_in_codes(workbench, person_id):
    """The sign-in codes the sink received for a person (by SMS, or by email when they
    have no phone), oldest first."""
    contact = find_person(workbench.directory, person_id).contact
    if contact.get("phone"):
        return [m["params"]["code"] for m in workbench.sink.messages("sms")
                if m.get("template") == "staff.sign_in_code.staff"
                and m["params"].get("person_id") == person_id]
    return [re.search(r"\b(\d{6})\b", m["text"]).group(1) for m in workbench.sink.messages("email")
            if m["to"] == [contact["email"]]]


def latest_code(workbench, person_id, after=0):
    codes = workbench.sink.wait_for(
        lambda _: (found := sign_in_codes(workbench, person_id)) and len(found) > after and found)
    return codes[-1]


def signed_in_session(workbench, person_id, fresh=False):
    """A requests session signed in as ``person_id``: through the sign-in forms when
    ``fresh`` or the first time, else with the session the module opened before."""
    http = requests.Session()
    if person_id in workbench.sessions and not fresh:
        http.cookies.set(SESSION_COOKIE, workbench.sessions[person_id], path="/workbench/")
        return http
    page = http.get(f"{workbench.base}sign-in", timeout=5)
    before = len(sign_in_codes(workbench, person_id))
    token = form_token(page.text)
    answer = http.post(f"{workbench.base}sign-in", data={"csrf": token, "person": person_id},
                       timeout=5, allow_redirects=False)
    assert answer.status_code == 303, answer.text
    code = latest_code(workbench, person_id, after=before)
    answer = http.post(f"{workbench.base}sign-in/code", timeout=5, allow_redirects=False,
                       data={"csrf": token, "person": person_id, "code": code})
    assert answer.status_code == 303 and SESSION_COOKIE in http.cookies, answer.text
    workbench.sessions.setdefault(person_id, http.cookies[SESSION_COOKIE])
    return http


def form_token(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def signed_in(conn, person_id, address="203.0.113.9"):
    """A browser session of ``person_id`` (``conn``: routing's schema), started through the
    sign-in use cases from ``address``; its cookie jar (English pages) and form token."""
    with conn.transaction():
        directory = current_directory(conn)
        sign_in.request_code(conn, directory, person_id, address, "en", workflow.now())
        code = conn.execute("SELECT body ->> 'code' AS code FROM outbox WHERE type ="
                            " 'staff.sign_in_code' ORDER BY id DESC LIMIT 1").fetchone()["code"]
    with conn.transaction():
        started = sign_in.verify_code(conn, directory, person_id, code, address, "pytest",
                                      workflow.now())
    browser = requests.Session()
    browser.cookies.set(SESSION_COOKIE, started.token)
    browser.cookies.set("zd_lang", "en")
    return browser, started.csrf_token
