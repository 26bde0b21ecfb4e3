"""The reporter's own page in headless Chromium against the whole stack (four services as
OS processes, every channel aimed at the development sink).

A resident reports by hotline with a phone and an email. The link comes from the SMS
the sink received; the page, on a phone's width, shows each step as the ticket moves.
After the department's result the resident rates it unsatisfied on the page: the ticket
reopens and the rules dispatch it again; the new result is rated
satisfied and the ticket closes. The district's figures count both ratings, and a
rating the liaison office took by phone (a follow-up call, in the workbench) counts
like any other. A guessed, an expired and an erased token answer the same "not found";
a second rating of one resolution is refused. Screenshots go to
``var/test-output/reporter-page/``.
"""
import re
import secrets
import shutil
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from services.admin.use_cases import operations as ops
from services.common.config import settings
from services.devstack import Stack
from tests.support.browser import headless_chromium
from tests.support.notify import channel_settings, directory_aimed_at
from tests.support.services import wait_until
from tests.support.sink import Sink
from tests.support.system import free_port, fresh_system
from tests.support.workbench_sign_in import SESSION_COOKIE, signed_in_session

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    not shutil.which("chromedriver"), reason="needs Debian's chromium-driver (make tools installs it)")]

OUTPUT = Path(__file__).resolve().parents[2] / "var" / "test-output" / "reporter-page"
PHONE_WIDTH = 360
REPRESENTATIVE = "rep-zhao-min"  # tonghe's station
OFFICE_STAFF = "office-baiyun-wu"
CATEGORY = "roads-traffic"
LINK = re.compile(r"/c/([A-Za-z0-9_-]{16,})")


class Loop(NamedTuple):
    stack: Stack
    sink: Sink
    keys: dict
    directory: dict
    base: str       #: the workbench's address, where the office records a follow-up call
    sessions: dict  #: person id → a session token of theirs (each signs in once)

    def url(self, service):
        return self.stack.url(service)


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reporter-page")
    with Sink.start(folder) as sink:
        keys, _, directory = fresh_system(directory_aimed_at(sink, folder))
        ports = {name: free_port() for name in ("intake", "routing", "notify", "reporting")}
        env = {**{key: str(value) for key, value in channel_settings(sink).items()},
               **{f"ZD_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
        with Stack(env=env, log_dir=str(folder)) as stack:  # links aimed at its own intake
            yield Loop(stack, sink, keys, directory, f"{stack.url('routing')}/workbench/", {})


@pytest.fixture(scope="module")
def phone():
    """Headless Chromium on a phone's width, every host but loopback mapped to nowhere."""
    driver = headless_chromium(PHONE_WIDTH, 780, lang="zh-CN")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        driver.set_window_size(PHONE_WIDTH, 780)
        yield driver
    finally:
        driver.quit()


def bearer(loop, party):
    return {"Authorization": f"Bearer {loop.keys[party]}"}


def post_concern(loop, external_id, description, reporter, community="tonghe"):
    answer = requests.post(f"{loop.url('intake')}/api/v1/concerns", timeout=5,
                           headers=bearer(loop, "frontend:baiyun"), json={
                               "external_id": external_id, "district": "baiyun",
                               "community": community, "channel": "hotline", "category": CATEGORY,
                               "title": "同和路口乱停车", "description": description,
                               "reporter": {**reporter, "wants_feedback": True}})
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def ticket(loop, ticket_id):
    answer = requests.get(f"{loop.url('routing')}/api/v1/tickets/{ticket_id}", timeout=5,
                          headers=bearer(loop, "admin"))
    assert answer.status_code == 200, answer.text
    return answer.json()


def status_becomes(loop, ticket_id, status, timeout=20):
    return wait_until(lambda: (seen := ticket(loop, ticket_id))["status"] == status and seen,
                      timeout=timeout, what=f"{ticket_id} {status}")


def sms_to(loop, phone_number, template):
    """The first SMS the sink got for ``phone_number`` from ``template``, once it came."""
    (sms, *_) = loop.sink.wait_for(lambda messages: [
        m for m in messages if m["kind"] == "sms" and m["to"] == phone_number
        and m.get("template") == template])
    return sms


def link_in(sms):
    """The page's link an SMS carries: in its params and in its words alike."""
    link = sms["params"]["link"]
    assert LINK.search(link), link
    return link


def forward(loop, ticket_id):
    answer = requests.post(f"{loop.url('routing')}/api/v1/tickets/{ticket_id}/actions", timeout=5,
                           headers=bearer(loop, f"representative:{REPRESENTATIVE}"),
                           json={"action": "forward", "note": "请交警处理"})
    assert answer.status_code == 200, answer.text


def resolve(loop, ticket_id, result):
    """The current lead department reports its result over HTTP; returns its code."""
    lead = next(d for d in ticket(loop, ticket_id)["departments"]
                if d["role"] == "lead" and d["status"] in ("sent", "acknowledged", "in_progress"))
    answer = requests.post(
        f"{loop.url('routing')}/api/v1/departments/{lead['department']}/feedback", timeout=5,
        headers=bearer(loop, f"department:{lead['department']}"),
        json={"dispatch_id": lead["dispatch_id"], "status": "resolved", "result": result})
    assert answer.status_code in (200, 202), answer.text
    return lead["department"]


def page_text(driver):
    return driver.find_element(By.TAG_NAME, "main").text


def shows(driver, link, *words, timeout=20):
    """Reload the page until it shows every one of ``words``."""
    def loaded():
        driver.get(link)
        return all(word in page_text(driver) for word in words)
    wait_until(loaded, timeout=timeout, interval=0.3, what=f"the page showing {words}")


def rate_on_the_page(driver, rating, comment):
    driver.find_element(By.CSS_SELECTOR, f"input[name=rating][value={rating}]").click()
    driver.find_element(By.NAME, "comment").send_keys(comment)
    driver.find_element(By.ID, "rating-submit").click()
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.ID, "notice"))


def shot(driver, name):
    """The whole page, as tall as it is, at the window's width."""
    size = driver.get_window_size()
    tall = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], max(size["height"], tall))
    try:
        driver.save_screenshot(str(OUTPUT / f"{name}.png"))
    finally:
        driver.set_window_size(size["width"], size["height"])


def no_horizontal_scroll(driver):
    return driver.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH


def summary(loop):
    answer = requests.get(f"{loop.url('reporting')}/api/v1/reports/summary?district=baiyun",
                          headers=bearer(loop, "admin"), timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_resident_follows_rates_unsatisfied_then_satisfied_on_their_page(loop, phone):
    reporter = {"name": "李女士", "phone": "+8613987650888", "email": "li@residents.example"}
    ticket_id = post_concern(loop, "page-1", "同和路口长期乱停车，公交车都过不去", reporter)
    link = link_in(sms_to(loop, reporter["phone"], "concern.received.reporter"))
    (email,) = loop.sink.wait_for(lambda messages: [
        m for m in messages if m["kind"] == "email" and m["to"] == [reporter["email"]]])
    assert link in email["text"], "the email carries the same link"

    phone.get(link)
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert "公交车都过不去" in page_text(phone)
    status_becomes(loop, ticket_id, "assigned")
    shows(phone, link, "代表")
    forward(loop, ticket_id)
    first = status_becomes(loop, ticket_id, "dispatched")
    first_department = next(d["name"] for d in first["departments"] if d["role"] == "lead")
    shows(phone, link, first_department)
    assert no_horizontal_scroll(phone)
    shot(phone, "dispatched-phone")
    for detail in reporter.values():
        assert detail not in phone.page_source, "no contact detail on the page"

    # the department's result; the resident is unsatisfied: the ticket reopens
    resolve(loop, ticket_id, "已派交警劝离车辆")
    resolved_sms = sms_to(loop, reporter["phone"], "ticket.resolved.reporter")
    assert link_in(resolved_sms) == link, "every message carries the one link"
    shows(phone, link, "已派交警劝离车辆")
    assert phone.find_elements(By.CSS_SELECTOR, "input[name=rating]"), "the rating form, once resolved"
    shot(phone, "resolved-phone")
    rate_on_the_page(phone, "unsatisfied", "第二天又停满了")
    shot(phone, "rated-unsatisfied-phone")
    again = wait_until(lambda: (seen := ticket(loop, ticket_id))["reopen_count"] == 1
                       and seen["status"] == "dispatched" and seen, timeout=20,
                       what="reopened and dispatched again")
    leads = [d for d in again["departments"] if d["role"] == "lead"]
    assert len(leads) == 2 and leads[0]["dispatch_id"] != leads[1]["dispatch_id"], "a new dispatch"
    assert [d["status"] for d in leads] == ["resolved", "sent"]

    # the second result, rated satisfied: the ticket closes
    resolve(loop, ticket_id, "已加装隔离桩，每日巡查")
    shows(phone, link, "已加装隔离桩")
    rate_on_the_page(phone, "satisfied", "现在通畅了")
    status_becomes(loop, ticket_id, "closed")
    shows(phone, link, "已加装隔离桩")
    assert not phone.find_elements(By.CSS_SELECTOR, "input[name=rating]"), "rated: no form"
    shot(phone, "closed-phone")
    assert not [e for e in phone.get_log("browser") if e["level"] == "SEVERE"]

    actions = [(e["action"], e["to_status"]) for e in ticket(loop, ticket_id)["timeline"]]
    assert actions.count(("rate", "forwarded")) == 1 and actions.count(("rate", "closed")) == 1
    figures = wait_until(lambda: (s := summary(loop))["by_status"].get("closed") == 1 and s,
                         timeout=20, what="the figures counting the closed ticket")
    assert figures["satisfaction_rate"] == 0.5, "both ratings counted: one satisfied of two"

    # the same resolution rated twice: refused, nothing changes
    second = requests.post(f"{link}/rating", data={"rating": "unsatisfied"}, timeout=5)
    assert second.status_code == 409, second.text
    assert ticket(loop, ticket_id)["status"] == "closed"


def test_the_office_records_a_rating_taken_by_phone_and_it_counts_like_any_other(loop, phone):
    """A reporter without a smartphone: the liaison office calls back (回访) and records
    the rating in the workbench; the timeline says it was taken by phone and by whom."""
    elderly = {"name": "赵大爷", "phone": "+8613987650999"}
    ticket_id = post_concern(loop, "page-phone", "同和路口的车停到盲道上了，我拄拐走不过去", elderly)
    status_becomes(loop, ticket_id, "assigned")
    forward(loop, ticket_id)
    status_becomes(loop, ticket_id, "dispatched")
    resolve(loop, ticket_id, "已清理盲道上的车辆并设置隔离桩")
    status_becomes(loop, ticket_id, "resolved")

    signed_in_session(loop, OFFICE_STAFF)  # with the code the sink received
    phone.set_window_size(1280, 1000)
    try:
        phone.get(f"{loop.base}sign-in")
        phone.add_cookie({"name": SESSION_COOKIE, "value": loop.sessions[OFFICE_STAFF],
                          "path": "/workbench/"})
        phone.get(f"{loop.base}tickets/{ticket_id}?lang=zh-CN")
        form = phone.find_element(By.ID, "follow-up")
        form.find_element(By.CSS_SELECTOR, "input[name=rating][value=satisfied]").click()
        form.find_element(By.NAME, "comment").send_keys("老人家说车没了，谢谢")
        shot(phone, "follow-up-call")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(phone, 10).until(lambda d: d.find_elements(By.ID, "follow-up-recorded"))
    finally:
        phone.set_window_size(PHONE_WIDTH, 780)

    closed = status_becomes(loop, ticket_id, "closed")
    (rated,) = [e for e in closed["timeline"] if e["action"] == "rate"]
    assert rated["actor"] == "congress:baiyun" and rated["person"]["id"] == OFFICE_STAFF
    assert "phone" in rated["note"] and "satisfied" in rated["note"]
    figures = wait_until(lambda: (s := summary(loop))["by_status"].get("closed") == 2 and s,
                         timeout=20, what="the figures counting the second closed ticket")
    assert figures["satisfaction_rate"] == round(2 / 3, 4), "the call's rating counted with the page's two"


def test_a_guessed_an_expired_and_an_erased_token_answer_the_same_not_found(loop):
    guessed = requests.get(f"{loop.url('intake')}/c/{secrets.token_urlsafe(16)}", timeout=5)
    assert guessed.status_code == 404

    expiring = {"name": "钱先生", "phone": "+8613987650111"}
    ticket_id = post_concern(loop, "page-expired", "三元里大道路边长期乱停车", expiring,
                             community="sanyuanli")
    link = link_in(sms_to(loop, expiring["phone"], "concern.received.reporter"))
    assert requests.get(link, timeout=5).status_code == 200
    status_becomes(loop, ticket_id, "assigned")
    reject = requests.post(f"{loop.url('routing')}/api/v1/tickets/{ticket_id}/actions", timeout=5,
                           headers=bearer(loop, "congress:baiyun"),
                           json={"action": "reject", "reason": "已由交警立案处理"})
    assert reject.status_code == 200, reject.text
    wait_until(lambda: "已由交警立案处理" in requests.get(link, timeout=5).text, timeout=20,
               interval=0.3, what="the page showing the rejection")  # pages are rate-limited
    with psycopg.connect(settings().database_url) as conn:  # 31 days pass for this ticket
        conn.execute(
            "UPDATE intake.ticket_views SET ticket = jsonb_set(ticket, '{timeline}', (SELECT"
            " jsonb_agg(jsonb_set(e, '{at}', to_jsonb((e->>'at')::timestamptz - interval '31 days')))"
            " FROM jsonb_array_elements(ticket->'timeline') e)) WHERE ticket_id = %s", (ticket_id,))
    expired = requests.get(link, timeout=5)

    erased_reporter = {"name": "孙女士", "phone": "+8613987650222"}
    erased_id = post_concern(loop, "page-erased", "同和路口电动车乱停，占了人行道", erased_reporter)
    erased_link = link_in(sms_to(loop, erased_reporter["phone"], "concern.received.reporter"))
    assert requests.get(erased_link, timeout=5).status_code == 200
    admin = ops.Admin.open()
    try:
        ops.request_erasure(admin, erased_id, "同和联络站", "本人来电要求删除个人信息")
    finally:
        admin.close()
    wait_until(lambda: requests.get(erased_link, timeout=5).status_code == 404, timeout=20,
               interval=0.3, what="the erased reporter's link dying")
    erased = requests.get(erased_link, timeout=5)

    assert expired.status_code == 404
    assert guessed.text == expired.text == erased.text, "one answer: nothing tells them apart"
