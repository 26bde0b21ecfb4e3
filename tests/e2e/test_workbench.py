"""The workbench in headless Chromium against the whole stack (four services as OS
processes, every channel aimed at the development sink).

A representative signs in on a phone-wide screen with the code the sink received and
forwards a concern; the office filters, corrects its category and dispatches it with
an assisting department; the ``delivery: web`` department resolves it in its page; the
reporter's SMS carries the result; the timeline names each person beside their party.
The office dispatches ten undecided tickets at once. Every refusal answers as it should:
another representative's ticket by URL, a change without the CSRF token, an expired
code, the sixth wrong code, a session after its person left the directory. Screenshots
of every page go to ``var/test-output/workbench/``.
"""
import re
import shutil
import time
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest
import requests
import yaml
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.admin.use_cases import operations as ops
from services.common.config import settings
from services.devstack import Stack
from tests.support.browser import headless_chromium
from tests.support.notify import channel_settings, directory_aimed_at
from tests.support.services import wait_until
from tests.support.sink import Sink
from tests.support.system import free_port, fresh_system
from tests.support.workbench_sign_in import (
    SESSION_COOKIE,
    form_token,
    latest_code,
    sign_in_codes,
    signed_in_session,
)

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    not shutil.which("chromedriver"), reason="needs Debian's chromium-driver (make tools installs it)")]

OUTPUT = Path(__file__).resolve().parents[2] / "var" / "test-output" / "workbench"
REPORTER_PHONE = "+8613987650777"
REPRESENTATIVE = "rep-zhao-min"          # tonghe's station
OFFICE_STAFF = "office-baiyun-wu"
WEB_DEPARTMENT = "baiyun-jingtai-street"  # delivery: web
PHONE_WIDTH = 360


class Workbench(NamedTuple):
    stack: Stack
    sink: Sink
    keys: dict
    directory: dict
    directory_file: Path
    base: str  #: the workbench's address
    sessions: dict  #: person id → a session token of theirs: the module signs each in once


def directory_for_the_office(sink, folder):
    """The demo directory (channels at the sink) with Baiyun's office dispatching by hand,
    so that a forwarded ticket waits for it."""
    path = directory_aimed_at(sink, folder)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    baiyun = next(d for d in document["districts"] if d["code"] == "baiyun")
    baiyun["policy"] = {**baiyun.get("policy", {}), "auto_dispatch": False}
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def workbench(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workbench")
    with Sink.start(folder) as sink:
        path = directory_for_the_office(sink, folder)
        keys, _, directory = fresh_system(path)
        env = {**{key: str(value) for key, value in channel_settings(sink).items()},
               **{f"ZD_{name.upper()}_PORT": str(free_port())
                  for name in ("intake", "routing", "notify", "reporting")}}
        with Stack(env=env, log_dir=str(folder)) as stack:
            yield Workbench(stack, sink, keys, directory, path, f"{stack.url('routing')}/workbench/", {})


@pytest.fixture(scope="module")
def chromium():
    driver = headless_chromium(1280, 1000, lang="zh-CN")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium):
    """The shared browser, signed out, at a desk's width."""
    chromium.delete_all_cookies()
    chromium.set_window_size(1280, 1000)
    return chromium


def post_concern(workbench, external_id, description, category=None, community="tonghe", phone=None):
    body = {"external_id": external_id, "district": "baiyun", "community": community,
            "channel": "hotline", "description": description}
    if category:
        body["category"] = category
    if phone:
        body["reporter"] = {"name": "王女士", "phone": phone, "wants_feedback": True}
    answer = requests.post(f"{workbench.stack.url('intake')}/api/v1/concerns", json=body, timeout=5,
                           headers={"Authorization": f"Bearer {workbench.keys['frontend:baiyun']}"})
    assert answer.status_code == 202, answer.text
    return answer.json()["ticket_id"]


def ticket(workbench, ticket_id):
    answer = requests.get(f"{workbench.stack.url('routing')}/api/v1/tickets/{ticket_id}", timeout=5,
                          headers={"Authorization": f"Bearer {workbench.keys['admin']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def status_becomes(workbench, ticket_id, status, timeout=20):
    wait_until(lambda: ticket(workbench, ticket_id)["status"] == status, timeout=timeout,
               what=f"{ticket_id} {status}")






def element(driver, element_id, timeout=10):
    """The element of that id, once the page that has it is loaded (after a form's post)."""
    return WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.ID, element_id))


def sign_in(driver, workbench, person_id):
    """Sign in through the pages with the code the sink got, the first time; afterwards,
    with the session then opened (codes per person are limited, as in production)."""
    if person_id in workbench.sessions:
        driver.get(f"{workbench.base}sign-in")
        driver.add_cookie({"name": SESSION_COOKIE, "value": workbench.sessions[person_id],
                           "path": "/workbench/"})
        driver.get(workbench.base)
        element(driver, "person-name")
        return
    before = len(sign_in_codes(workbench, person_id))
    driver.get(workbench.base)
    element(driver, "person").send_keys(person_id)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    code = latest_code(workbench, person_id, after=before)
    element(driver, "code").send_keys(code)
    if not (OUTPUT / "sign-in.png").exists():
        shot(driver, "sign-in")
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    element(driver, "person-name")
    workbench.sessions[person_id] = driver.get_cookie(SESSION_COOKIE)["value"]


def shot(driver, name):
    driver.save_screenshot(str(OUTPUT / f"{name}.png"))


def console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def submit(driver, form_id):
    driver.find_element(By.CSS_SELECTOR, f"#{form_id} button[type=submit]").click()


def test_a_concern_goes_from_the_representatives_phone_to_a_web_department_and_back(
        workbench, browser, capsys):
    web = workbench.directory["departments"][WEB_DEPARTMENT]
    category = web["categories"][0]
    assist = next(code for code, d in workbench.directory["departments"].items()
                  if code != WEB_DEPARTMENT and ("baiyun" in d["districts"] or "*" in d["districts"])
                  and d["delivery"] == "amqp")
    ticket_id = post_concern(workbench, "wb-1", "楼上邻居天天半夜装修，楼长调解了也没用",
                             category="sanitation", phone=REPORTER_PHONE)
    status_becomes(workbench, ticket_id, "assigned")

    # the representative, on a phone
    browser.set_window_size(PHONE_WIDTH, 780)
    sign_in(browser, workbench, REPRESENTATIVE)
    assert browser.current_url.endswith("/workbench/queue")
    started = time.monotonic()
    browser.get(f"{workbench.base}queue?lang=zh-CN")
    queue_seconds = time.monotonic() - started
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    assert browser.find_element(By.ID, f"row-{ticket_id}").is_displayed()
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH
    shot(browser, "representative-queue-phone")
    browser.find_element(By.CSS_SELECTOR, f"#row-{ticket_id} a").click()
    assert "半夜装修" in element(browser, "ticket-description").text
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN", "the language is kept"
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH
    shot(browser, "representative-ticket-phone")
    browser.find_element(By.ID, "forward-note").send_keys("邻里纠纷，请联络室派街道")
    submit(browser, "act-forward")
    assert element(browser, "notice").is_displayed()
    status_becomes(workbench, ticket_id, "forwarded")

    # the office, at a desk: filters, corrects the category, dispatches with an assisting department
    browser.delete_all_cookies()
    browser.set_window_size(1280, 1000)
    sign_in(browser, workbench, OFFICE_STAFF)
    browser.get(f"{workbench.base}office?status=forwarded&category=sanitation")
    assert browser.find_element(By.ID, f"row-{ticket_id}")
    shot(browser, "office-queue")
    browser.get(f"{workbench.base}tickets/{ticket_id}")
    form = browser.find_element(By.ID, "act-dispatch")
    Select(form.find_element(By.NAME, "lead")).select_by_value(WEB_DEPARTMENT)
    form.find_element(By.CSS_SELECTOR, f"input[name=assist][value='{assist}']").click()
    Select(form.find_element(By.NAME, "category")).select_by_value(category)
    shot(browser, "office-ticket")
    submit(browser, "act-dispatch")
    status_becomes(workbench, ticket_id, "dispatched")
    assert ticket(workbench, ticket_id)["category"] == category

    # the web department answers in its page
    browser.delete_all_cookies()
    staff = web["staff"][0]["id"]
    sign_in(browser, workbench, staff)
    assert browser.current_url.endswith("/workbench/department")
    shot(browser, "department")
    (article,) = [a for a in browser.find_elements(By.CSS_SELECTOR, "article.dispatch")
                  if ticket_id in a.text]
    assert "半夜装修" in article.text and REPORTER_PHONE in article.text, "as its dispatch message says"
    article.find_element(By.NAME, "text").send_keys("已约双方调解，装修改到白天")
    article.find_element(By.CSS_SELECTOR, "button[value=resolved]").click()
    status_becomes(workbench, ticket_id, "resolved")

    (sms,) = workbench.sink.wait_for(lambda messages: [
        m for m in messages if m["kind"] == "sms" and m["to"] == REPORTER_PHONE
        and m.get("template") == "ticket.resolved.reporter"])
    assert sms["params"]["result"] == "已约双方调解，装修改到白天"
    timeline = ticket(workbench, ticket_id)["timeline"]
    people = {(entry["actor"], (entry.get("person") or {}).get("id")) for entry in timeline}
    assert (f"representative:{REPRESENTATIVE}", REPRESENTATIVE) in people
    assert ("congress:baiyun", OFFICE_STAFF) in people
    assert (f"department:{WEB_DEPARTMENT}", staff) in people
    assert not console_errors(browser)
    with capsys.disabled():
        print(f"\n[figure] the representative's queue loaded in {queue_seconds * 1000:.0f} ms"
              " (idle stack, headless Chromium, phone width)")


def test_the_office_dispatches_ten_undecided_tickets_at_once(workbench, browser):
    web = workbench.directory["departments"][WEB_DEPARTMENT]
    tickets = [post_concern(workbench, f"wb-bulk-{n}", f"第{n}件：这件事说不清属于哪类，请帮忙看看",
                            community="jingxi") for n in range(10)]
    for ticket_id in tickets:
        status_becomes(workbench, ticket_id, "forwarded")
    sign_in(browser, workbench, OFFICE_STAFF)
    browser.get(f"{workbench.base}office?undecided=true")
    for ticket_id in tickets:
        browser.find_element(By.ID, f"pick-{ticket_id}").click()
    form = browser.find_element(By.ID, "bulk")
    Select(form.find_element(By.NAME, "lead")).select_by_value(WEB_DEPARTMENT)
    Select(form.find_element(By.NAME, "category")).select_by_value(web["categories"][0])
    shot(browser, "office-bulk")
    form.find_element(By.CSS_SELECTOR, "button[value=dispatch]").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "outcomes"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#outcomes li.ok")) == 10
    assert browser.find_element(By.NAME, "undecided").is_selected(), "the list keeps its filters"
    assert not [t for t in tickets if browser.find_elements(By.ID, f"row-{t}")], "none undecided now"
    for ticket_id in tickets:
        assert ticket(workbench, ticket_id)["status"] == "dispatched"


def test_the_office_sees_a_new_ticket_without_reloading(workbench, browser):
    sign_in(browser, workbench, OFFICE_STAFF)
    browser.get(f"{workbench.base}office?undecided=true")
    ticket_id = post_concern(workbench, "wb-live", "小区门口的宣传栏倒了一半，一直没人管", community="jingxi")
    status_becomes(workbench, ticket_id, "forwarded")
    # the page asks at once when it comes back into view, and every 15 seconds anyway
    browser.execute_script("document.dispatchEvent(new Event('visibilitychange'))")
    element(browser, f"row-{ticket_id}", timeout=20)


def test_two_people_acting_on_one_ticket_the_second_is_told_it_changed(workbench):
    ticket_id = post_concern(workbench, "wb-race", "楼道里堆满杂物，楼长说了没人理", community="jingxi",
                             category="neighbourhood")
    status_becomes(workbench, ticket_id, "assigned")
    first = signed_in_session(workbench, OFFICE_STAFF)
    second = signed_in_session(workbench, "office-baiyun-zheng")
    pages = [http.get(f"{workbench.base}tickets/{ticket_id}", timeout=5) for http in (first, second)]
    version = re.search(r'name="version" value="(\d+)"', pages[0].text).group(1)
    escalated = first.post(f"{workbench.base}tickets/{ticket_id}/actions", timeout=5, allow_redirects=False,
                           data={"csrf": form_token(pages[0].text), "version": version,
                                 "action": "escalate", "note": "请尽快"})
    assert escalated.status_code == 303, escalated.text
    stale = second.post(f"{workbench.base}tickets/{ticket_id}/actions", timeout=5, allow_redirects=False,
                        data={"csrf": form_token(pages[1].text), "version": version,
                              "action": "reject", "reason": "不属人大代表联络范围"})
    assert stale.status_code == 409
    assert "Someone changed this ticket meanwhile" in stale.text or "已被他人更新" in stale.text
    assert ticket(workbench, ticket_id)["status"] == "assigned"


def test_the_office_keeps_a_saved_reply_and_sees_feedback_that_could_not_apply(workbench, browser):
    sign_in(browser, workbench, OFFICE_STAFF)
    browser.get(f"{workbench.base}replies")
    form = browser.find_element(By.CSS_SELECTOR, "main form.card")
    form.find_element(By.NAME, "title").send_keys("已转街道")
    form.find_element(By.NAME, "text").send_keys("已转景泰街道办处理，请耐心等候。")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    element(browser, "notice")
    assert "已转景泰街道办处理" in browser.find_element(By.CSS_SELECTOR, "ul.replies").text
    shot(browser, "office-replies")

    unknown = requests.post(
        f"{workbench.stack.url('routing')}/api/v1/departments/{WEB_DEPARTMENT}/feedback", timeout=5,
        headers={"Authorization": f"Bearer {workbench.keys[f'department:{WEB_DEPARTMENT}']}"},
        json={"dispatch_id": "no-such-dispatch", "status": "resolved", "result": "修好了"})
    assert unknown.status_code == 409, unknown.text
    browser.get(f"{workbench.base}rejected-feedback")
    (item,) = [li for li in browser.find_elements(By.CSS_SELECTOR, "ul.rejected li")
               if WEB_DEPARTMENT in li.text]
    assert "unknown dispatch" in item.text
    shot(browser, "office-rejected-feedback")
    item.find_element(By.CSS_SELECTOR, "form button").click()
    element(browser, "notice")
    assert not [li for li in browser.find_elements(By.CSS_SELECTOR, "ul.rejected li")
                if WEB_DEPARTMENT in li.text], "handled, it leaves the list"


# --- refusals, over plain HTTP: what a browser would send --------------------------------





def ask_code(workbench, http, person_id):
    token = form_token(http.get(f"{workbench.base}sign-in", timeout=5).text)
    before = len(sign_in_codes(workbench, person_id))
    http.post(f"{workbench.base}sign-in", data={"csrf": token, "person": person_id}, timeout=5)
    return token, latest_code(workbench, person_id, after=before)


def test_another_representatives_ticket_answers_as_not_found(workbench):
    ticket_id = post_concern(workbench, "wb-other", "三元里的垃圾好几天没人收", category="sanitation",
                             community="sanyuanli")
    status_becomes(workbench, ticket_id, "assigned")
    owner = ticket(workbench, ticket_id)["representative"]["id"]
    other = next(rep for rep in ("rep-liu-hanli", "rep-zhao-min", "rep-chen-jianguo") if rep != owner)
    http = signed_in_session(workbench, other)
    page = http.get(f"{workbench.base}tickets/{ticket_id}", timeout=5)
    unknown = http.get(f"{workbench.base}tickets/ZD20260101-FFFFFFFF", timeout=5)
    assert page.status_code == unknown.status_code == 404
    assert "三元里" not in page.text


def test_a_change_without_the_csrf_token_is_refused(workbench):
    ticket_id = post_concern(workbench, "wb-csrf", "同和社区垃圾没人清运", category="sanitation")
    status_becomes(workbench, ticket_id, "assigned")
    http = signed_in_session(workbench, REPRESENTATIVE)
    for data in ({"action": "forward"}, {"action": "forward", "csrf": "forged"}):
        answer = http.post(f"{workbench.base}tickets/{ticket_id}/actions", data=data, timeout=5,
                           allow_redirects=False)
        assert answer.status_code == 403, answer.text
    assert ticket(workbench, ticket_id)["status"] == "assigned"


def test_an_expired_code_is_refused(workbench):
    http = requests.Session()
    token, code = ask_code(workbench, http, "rep-liu-hanli")
    with psycopg.connect(settings().database_url) as conn:
        conn.execute("UPDATE routing.sign_in_codes SET expires_at = now() - interval '1 second'"
                     " WHERE person_id = 'rep-liu-hanli'")
    answer = http.post(f"{workbench.base}sign-in/code", timeout=5, allow_redirects=False,
                       data={"csrf": token, "person": "rep-liu-hanli", "code": code})
    assert answer.status_code == 400 and SESSION_COOKIE not in http.cookies
    assert "The code has expired: ask for a new one." in answer.text, "the code form again, saying why"
    assert 'id="code"' in answer.text


def test_the_sixth_wrong_code_is_refused_even_when_right(workbench):
    http = requests.Session()
    token, code = ask_code(workbench, http, "rep-chen-jianguo")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for attempt in range(1, 6):
        answer = http.post(f"{workbench.base}sign-in/code", timeout=5, allow_redirects=False,
                           data={"csrf": token, "person": "rep-chen-jianguo", "code": wrong})
        assert answer.status_code == 400 and "Wrong code" in answer.text, attempt
    assert "that was the last attempt" in answer.text
    answer = http.post(f"{workbench.base}sign-in/code", timeout=5, allow_redirects=False,
                       data={"csrf": token, "person": "rep-chen-jianguo", "code": code})
    assert answer.status_code == 400 and SESSION_COOKIE not in http.cookies
    assert "Too many wrong codes: this code no longer works" in answer.text


def test_a_session_ends_when_its_person_leaves_the_directory(workbench, tmp_path):
    http = signed_in_session(workbench, OFFICE_STAFF, fresh=True)
    assert http.get(f"{workbench.base}office", timeout=5, allow_redirects=False).status_code == 200
    document = yaml.safe_load(workbench.directory_file.read_text(encoding="utf-8"))
    office = next(d for d in document["districts"] if d["code"] == "baiyun")["office"]
    office["staff"] = [person for person in office["staff"] if person["id"] != OFFICE_STAFF]
    smaller = tmp_path / "directory.yaml"
    smaller.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    admin = ops.Admin.open()
    try:
        ops.load_directory_files(admin, [smaller])
        wait_until(lambda: http.get(f"{workbench.base}office", timeout=5,
                                    allow_redirects=False).status_code == 303, timeout=20,
                   what="the session ended")
    finally:
        ops.load_directory_files(admin, [workbench.directory_file])
        admin.close()
        workbench.sessions.pop(OFFICE_STAFF)  # every session of theirs ended
    assert "/workbench/sign-in" in http.get(f"{workbench.base}office", timeout=5,
                                            allow_redirects=False).headers["Location"]


def test_signing_out_ends_the_session(workbench):
    http = signed_in_session(workbench, "rep-huang-xiaoyan", fresh=True)
    queue = http.get(f"{workbench.base}queue", timeout=5, allow_redirects=False)
    assert queue.status_code == 200
    token = http.cookies[SESSION_COOKIE]
    out = http.post(f"{workbench.base}sign-out", data={"csrf": form_token(queue.text)}, timeout=5,
                    allow_redirects=False)
    assert out.status_code == 303 and SESSION_COOKIE not in http.cookies
    signed_out = http.get(f"{workbench.base}sign-in", params={"out": 1}, timeout=5,
                          headers={"Accept-Language": "en"})
    assert out.headers["Location"] == "/workbench/sign-in?out=1" and "You are signed out." in signed_out.text
    replayed = requests.get(f"{workbench.base}queue", cookies={SESSION_COOKIE: token}, timeout=5,
                            allow_redirects=False)
    assert replayed.status_code == 303 and "/workbench/sign-in" in replayed.headers["Location"]


def test_a_bulk_action_without_tickets_changes_nothing_and_says_so(workbench):
    http = signed_in_session(workbench, OFFICE_STAFF)
    office = http.get(f"{workbench.base}office", timeout=5)
    answer = http.post(f"{workbench.base}office/bulk", timeout=5, allow_redirects=False,
                       headers={"Accept-Language": "en"},
                       data={"csrf": form_token(office.text), "action": "dispatch",
                             "lead": WEB_DEPARTMENT})
    assert answer.status_code == 400 and "Select tickets first." in answer.text


def test_a_form_that_is_not_a_form_is_refused(workbench):
    http = signed_in_session(workbench, OFFICE_STAFF)
    token = form_token(http.get(f"{workbench.base}office", timeout=5).text)
    as_json = http.post(f"{workbench.base}office/bulk", json={"csrf": token, "ticket": ["x"]}, timeout=5,
                        allow_redirects=False)
    control = http.post(f"{workbench.base}office/bulk", data={"csrf": token, "note": "a\x01b"},
                        timeout=5, allow_redirects=False)
    assert as_json.status_code == 415 and control.status_code == 400 and "note" in control.text
