"""The reporter's page, its pure parts: what it shows of a ticket view (built by routing's
own snapshot code) in each status and language, the steps a resident follows, never a
contact, a note or a staff member's name, when its link stops working, and its template."""
from datetime import timedelta
from types import SimpleNamespace

import pytest

from services.common.directory import load_directory
from services.intake.reporter_page import render as rendering
from services.intake.reporter_page import screens, words
from services.intake.reporter_page.render import asset, render
from services.intake.schemas import RATINGS
from services.routing import snapshots
from tests.support import events as made
from tests.support.system import DEMO_DIRECTORY
from tests.unit.routing.test_workbench_pages import FormControls

DIRECTORY = load_directory([DEMO_DIRECTORY])
TICKET = "ZD20260302-0000ABCD"
T0 = made.T0
REPORTER = {"name": "李女士", "phone": "+8613700000000", "email": "li@example.org",
            "wechat_openid": "o-li-123", "wants_feedback": True, "locale": "zh-CN"}
REPRESENTATIVE = SimpleNamespace(id="rep-chen-jianguo", name="陈建国")
STAFF = SimpleNamespace(id="office-baiyun-wu", name="吴敏")
INTERNAL = "内部：已电话联系反映人"


def at(minutes):
    return T0 + timedelta(minutes=minutes)


RECEIVED = [made.entry(at(0), "channel:wechat", "receive", None, "received", "下水道堵塞"),
            made.entry(at(0), "system", "categorise", "received", "received", "keywords: 下水道")]
ASSIGNED = RECEIVED + [made.entry(at(1), "system", "assign", "received", "assigned",
                                  "陈建国 (rep-chen-jianguo): liaison station of yuangang")]
FORWARDED = ASSIGNED + [
    made.entry(at(60), "representative:rep-chen-jianguo", "forward", "assigned", "forwarded",
               "请联络室派单", person=REPRESENTATIVE),
    made.entry(at(61), "congress:baiyun", "note", "forwarded", "forwarded", INTERNAL, person=STAFF)]
DISPATCHED = FORWARDED + [made.entry(at(62), "congress:baiyun", "dispatch", "forwarded", "dispatched",
                                     "请尽快处理", person=STAFF)]
IN_PROGRESS = DISPATCHED + [made.entry(at(120), "department:baiyun-water", "acknowledged", "dispatched",
                                       "in_progress", "已安排人员")]
RESOLVED = IN_PROGRESS + [made.entry(at(600), "department:baiyun-water", "resolve", "in_progress",
                                     "resolved", "已疏通")]
REOPENED = RESOLVED + [made.entry(at(700), "reporter", "rate", "resolved", "forwarded",
                                  "unsatisfied: 还有臭味: reopened"),
                       made.entry(at(700), "system", "dispatch", "forwarded", "dispatched",
                                  "dispatched by the category rules")]
CLOSED = RESOLVED + [made.entry(at(720), "reporter", "rate", "resolved", "closed", "satisfied: 很好")]
REJECTED = ASSIGNED + [made.entry(at(90), "congress:baiyun", "reject", "assigned", "rejected",
                                  "不属于人大代表联络范围，请拨打 12345", person=STAFF)]
MERGED = ASSIGNED + [made.entry(at(30), "congress:baiyun", "merge", "assigned", "merged",
                                "merged into ZD20260301-0000BEEF: 同一问题", person=STAFF)]
MERGED_RESOLVED = MERGED + [made.entry(at(900), "system", "resolve", "merged", "merged",
                                       "resolved with ZD20260301-0000BEEF: 已疏通")]
HANDED_BACK = DISPATCHED + [made.entry(at(100), "department:baiyun-water", "transfer_requested",
                                       "dispatched", "forwarded", "不属本局")]


def dispatches(*groups):
    """Dispatch rows, a group per dispatch step: ``(minutes, lead, *assists)``."""
    rows = []
    for minutes, lead, *assists in groups:
        rows.append(made.dispatch_row(TICKET, lead, at(minutes), dispatch_id=f"{lead}-{minutes}"))
        rows += [made.dispatch_row(TICKET, code, at(minutes), role="assist",
                                   dispatch_id=f"{code}-{minutes}") for code in assists]
    return rows


FIRST_DISPATCH = (62, "baiyun-water", "baiyun-urban-management")


def view(status, timeline, groups=(FIRST_DISPATCH,), **fields):
    """Intake's view of the ticket: routing's snapshot of it."""
    rows = dispatches(*groups) if status not in ("received", "assigned", "rejected", "merged") \
        or fields.get("with_dispatches") else []
    fields.pop("with_dispatches", None)
    ticket = made.ticket_row(TICKET, status, len(timeline), status_since=timeline[-1]["at"], **fields)
    return snapshots.ticket_snapshot(ticket, rows, timeline, DIRECTORY)


def concern(ticket_view=None, reporter=REPORTER, **fields):
    """A concern as intake stores it, with its ticket view."""
    return {"ticket_id": TICKET, "district": "baiyun", "community": "yuangang", "channel": "wechat",
            "category": "drainage", "title": "下水道堵塞", "description": "元岗路下水道堵塞，污水外溢",
            "location": {"lat": 23.2, "lon": 113.3, "address": "元岗路 12 号"}, "attachments": [],
            "reporter": reporter, "received_at": T0, "view": ticket_view, **fields}


def screen(ticket_view, latest_rating=None, days=30):
    return screens.concern_screen(concern(ticket_view), DIRECTORY, latest_rating, days)


def said(locale, phrase):
    return words.say(locale, phrase.key, **phrase.values)


BOTH_ZH, BOTH_EN = "白云区水务局、白云区城市管理和综合执法局", "白云区水务局, 白云区城市管理和综合执法局"
VIEWS = {
    "received": (None, "已受理", "Received"),
    "assigned": (view("assigned", ASSIGNED, representative_id="rep-chen-jianguo"),
                 "代表正在办理（陈建国）", "With your representative, 陈建国"),
    "forwarded": (view("forwarded", FORWARDED, groups=()), "联络站正在协调", "With the liaison office"),
    "dispatched": (view("dispatched", DISPATCHED), f"职能部门正在办理：{BOTH_ZH}",
                   f"With the department(s): {BOTH_EN}"),
    "in_progress": (view("in_progress", IN_PROGRESS), f"职能部门正在办理：{BOTH_ZH}",
                    f"With the department(s): {BOTH_EN}"),
    "resolved": (view("resolved", RESOLVED, result="已疏通"), "已办结", "Resolved"),
    "closed": (view("closed", CLOSED, result="已疏通", rating="satisfied", rating_comment="很好"),
               "已关闭", "Closed"),
    "merged": (view("merged", MERGED, merged_into="ZD20260301-0000BEEF"),
               "已与反映同一问题的诉求合并办理", "Joined with another concern about the same problem"),
    "merged with a result": (view("merged", MERGED_RESOLVED, merged_into="ZD20260301-0000BEEF",
                                  result="已疏通"),
                             "已随合并的诉求办结", "Resolved with the concern it joined"),
    "rejected": (view("rejected", REJECTED), "不予受理", "Not taken up"),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_each_status_is_said_in_plain_words_in_both_languages(name):
    ticket_view, chinese, english = VIEWS[name]
    shown = screen(ticket_view)
    assert said("zh-CN", shown["status_phrase"]) == chinese
    assert said("en", shown["status_phrase"]) == english


def test_a_department_that_answered_is_no_longer_named_as_handling_it():
    rows = dispatches(FIRST_DISPATCH)
    rows[1]["status"] = "resolved"  # the assisting department is done
    ticket = made.ticket_row(TICKET, "in_progress", 9, status_since=at(120))
    shown = screens.status_phrase(snapshots.ticket_snapshot(ticket, rows, IN_PROGRESS, DIRECTORY))
    assert said("en", shown) == "With the department(s): 白云区水务局"


def test_the_steps_of_a_reopened_ticket_each_with_its_time_and_departments():
    ticket_view = view("dispatched", REOPENED, groups=(FIRST_DISPATCH, (700, "baiyun-water")),
                       reopen_count=1, result="已疏通")
    shown = screen(ticket_view)["steps"]
    assert [(step.at, step.kind) for step in shown] == [
        (at(0), "received"), (at(1), "with_representative"), (at(60), "with_office"),
        (at(62), "with_departments"), (at(120), "taken_on"), (at(600), "resolved"),
        (at(700), "rated"), (at(700), "reopened"), (at(700), "with_departments")]
    assert [said("zh-CN", step.phrase) for step in shown] == [
        "已受理", "交由人大代表办理", "转交代表联络站协调",
        "交由职能部门办理：白云区水务局、白云区城市管理和综合执法局", "部门已签收", "已办结", "已评价",
        "重新办理，已交回联络站", "交由职能部门办理：白云区水务局"]
    assert [said("en", step.phrase) for step in shown] == [
        "Received", "With your representative", "With the liaison office",
        "With the department(s): 白云区水务局, 白云区城市管理和综合执法局", "The department took it on",
        "Resolved", "Rated", "Reopened: back with the liaison office",
        "With the department(s): 白云区水务局"]


@pytest.mark.parametrize("timeline, fields, kinds", [
    (CLOSED, {"result": "已疏通"}, ["resolved", "rated", "closed"]),
    (REJECTED, {}, ["with_representative", "rejected"]),
    (MERGED_RESOLVED, {"result": "已疏通"}, ["with_representative", "merged", "resolved_with_joined"]),
    (HANDED_BACK, {}, ["with_departments", "handed_back"]),
    (RESOLVED + [made.entry(at(800), "system", "reminded", "resolved", "resolved", "reminded"),
                 made.entry(at(800), "system", "close", "resolved", "closed", "not rated within 7 days")],
     {"result": "已疏通"}, ["resolved", "closed"]),
])
def test_each_step_a_resident_follows_and_nothing_else(timeline, fields, kinds):
    status = timeline[-1]["to_status"]
    shown = screen(view(status, timeline, **fields))["steps"]
    assert [step.kind for step in shown][-len(kinds):] == kinds
    assert all(step.kind != "note" for step in shown)


def test_a_concern_routing_has_not_shown_yet_is_received_with_its_receipt_as_its_step():
    shown = screen(None)
    assert shown["status"] == "received"
    assert [(step.at, step.kind) for step in shown["steps"]] == [(T0, "received")]


def test_what_was_reported_is_shown_with_the_directorys_names():
    shown = screen(view("dispatched", DISPATCHED))
    assert (shown["title"], shown["description"], shown["category"], shown["community"],
            shown["address"], shown["received_at"]) == (
        "下水道堵塞", "元岗路下水道堵塞，污水外溢", "排水", "元岗社区", "元岗路 12 号", T0)
    assert shown["departments"] == ["白云区水务局", "白云区城市管理和综合执法局"]


def test_a_rejection_shows_its_reason_and_a_resolution_its_result():
    assert screen(view("rejected", REJECTED))["reason"] == "不属于人大代表联络范围，请拨打 12345"
    assert screen(view("resolved", RESOLVED, result="已疏通"))["result"] == "已疏通"
    assert screen(view("dispatched", DISPATCHED))["result"] is None


LIVES = [view("rejected", REJECTED), view("closed", CLOSED, result="已疏通", rating="satisfied"),
         view("resolved", RESOLVED, result="已疏通"), view("merged", MERGED_RESOLVED, result="已疏通")]


@pytest.mark.parametrize("locale", words.LOCALES)
@pytest.mark.parametrize("ticket_view", LIVES)
def test_the_page_shows_no_contact_no_internal_note_and_no_staff_members_name(ticket_view, locale):
    page = render_page(screen(ticket_view), locale)
    for hidden in ("李女士", "+8613700000000", "13700000000", "li@example.org", "o-li-123", "吴敏",
                   INTERNAL, "请联络室派单", "请尽快处理", "已安排人员", "keywords", "liaison station of",
                   "rep-chen-jianguo", "ZD20260301-0000BEEF", "office-baiyun-wu"):
        assert hidden not in page, hidden


def test_the_rating_form_shows_while_the_resolution_is_unrated():
    resolved = view("resolved", RESOLVED, result="已疏通")
    assert screen(resolved)["rating_form"] is True
    rated = {"resolution": 0, "rating": "unsatisfied", "comment": "还有臭味", "rated_at": at(650)}
    shown = screen(resolved, rated)
    assert shown["rating_form"] is False and shown["given_rating"] == rated
    assert shown["outcome"] == "reopens"
    assert screen(view("resolved", RESOLVED, result="已疏通", reopen_count=1), rated)["rating_form"], \
        "a rating of the resolution before does not rate this one"
    assert screen(view("dispatched", DISPATCHED))["rating_form"] is False
    assert screen(view("merged", MERGED))["rating_form"] is False
    assert screen(view("merged", MERGED_RESOLVED, result="已疏通"))["rating_form"] is True


def test_only_a_rating_of_the_current_resolution_is_shown_as_given():
    earlier = {"resolution": 0, "rating": "unsatisfied", "comment": "还有臭味", "rated_at": at(650)}
    closed_unrated = view("closed", CLOSED, result="r", reopen_count=1, rating="unsatisfied")
    assert screen(closed_unrated, earlier)["given_rating"] is None
    assert screen(view("closed", CLOSED, result="r"), earlier)["given_rating"] == earlier


@pytest.mark.parametrize("ticket_view, rating, after, outcome", [
    (view("resolved", RESOLVED, result="r"), "unsatisfied", "reopens", "reopens"),
    (view("resolved", RESOLVED, result="r"), "basically_satisfied", "reopens", "closes"),
    (view("resolved", RESOLVED, result="r", reopen_count=2), "unsatisfied", "closes", "closes"),
    (view("merged", MERGED_RESOLVED, result="r"), "unsatisfied", "noted", "noted"),
])
def test_what_an_unsatisfied_rating_does_and_what_a_given_one_did(ticket_view, rating, after, outcome):
    resolution = ticket_view["reopen_count"]
    shown = screen(ticket_view, {"resolution": resolution, "rating": rating, "comment": None,
                                 "rated_at": at(650)})
    assert (shown["after_rating"], shown["outcome"]) == (after, outcome)


@pytest.mark.parametrize("ticket_view, final_at", [
    (view("closed", CLOSED, result="r"), at(720)), (view("rejected", REJECTED), at(90)),
    (view("merged", MERGED), at(30)), (view("merged", MERGED_RESOLVED, result="r"), at(900)),
    (view("resolved", RESOLVED, result="r"), None), (None, None)])
def test_the_link_works_until_days_after_the_ticket_became_final(ticket_view, final_at):
    ticket = ticket_view or {}
    assert screens.final_since(ticket) == final_at
    if final_at is None:
        assert screens.open_until(ticket, 30) is None and screens.is_open(ticket, 30, at(10 ** 7))
        return
    assert screens.open_until(ticket, 30) == final_at + timedelta(days=30)
    assert screens.is_open(ticket, 30, final_at + timedelta(days=30, seconds=-1))
    assert not screens.is_open(ticket, 30, final_at + timedelta(days=30))
    assert not screens.is_open(ticket, 1, final_at + timedelta(days=1, minutes=1))


def render_page(shown, locale, **context):
    values = {"screen": shown, "token": "t0ken-of-the-page-123", "ratings": RATINGS, "notice": False,
              "problem": None, "errors": (), "chosen": None, "comment": "", **context}
    return render("concern", locale, **values)


@pytest.mark.parametrize("locale", words.LOCALES)
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_the_page_renders_in_both_languages_under_the_content_security_policy(name, locale):
    page = render_page(screen(VIEWS[name][0]), locale)
    assert f'<html lang="{locale}">' in page
    assert "<script" not in page and " style=" not in page and "<style" not in page
    assert 'href="/page/static/reporter.css"' in page and "http" not in page.split("<body>")[0]
    other = "en" if locale == "zh-CN" else "zh-CN"
    assert f'href="?lang={other}"' in page
    assert 'id="concern-status"' in page and 'id="steps"' in page


@pytest.mark.parametrize("locale", words.LOCALES)
def test_the_rating_form_names_its_controls_and_explains_what_unsatisfied_does(locale):
    page = render_page(screen(view("resolved", RESOLVED, result="已疏通")), locale)
    controls = FormControls()
    controls.feed(page)
    assert {attrs["id"] for attrs, _ in controls.controls} == {
        "rating-satisfied", "rating-basically_satisfied", "rating-unsatisfied", "rating-comment"}
    assert controls.unlabelled() == []
    assert f'action="/c/t0ken-of-the-page-123/rating?lang={locale}"' in page
    assert 'id="rating-submit"' in page and words.say(locale, "after.reopens") in page


def test_a_refused_form_names_its_field_and_keeps_what_was_chosen():
    page = render_page(screen(view("resolved", RESOLVED, result="r")), "en", problem="Please check:",
                       errors=["comment"], chosen="unsatisfied", comment="还有<臭味>")
    assert 'id="comment-error"' in page and "At most 2000 characters" in page
    assert 'data-field="comment"' in page and 'value="unsatisfied" required checked' in page
    assert "还有&lt;臭味&gt;</textarea>" in page


@pytest.mark.parametrize("locale", words.LOCALES)
def test_after_a_rating_the_page_thanks_and_says_what_happens(locale):
    rated = {"resolution": 0, "rating": "satisfied", "comment": None, "rated_at": at(650)}
    page = render_page(screen(view("resolved", RESOLVED, result="r"), rated), locale, notice=True)
    assert words.say(locale, "thanks") in page and words.say(locale, "thanks.closes") in page
    assert 'id="rating-form"' not in page and 'id="your-rating"' in page


def test_text_residents_wrote_is_escaped():
    shown = screens.concern_screen(concern(None, title="<script>alert(1)</script>"), DIRECTORY, None, 30)
    page = render_page(shown, "zh-CN")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_not_found_and_too_many_pages_are_in_both_languages_and_name_no_concern():
    for name in ("not_found", "too_many"):
        page = render(name, "zh-CN")
        assert '<html lang="zh-CN">' in page and '<p lang="en">' in page
        assert "?lang=" not in page


def test_times_are_shown_in_china_standard_time():
    assert rendering._when(T0) == "2026-03-02 09:00"
    assert rendering._iso("2026-03-02T01:00:00+00:00") == "2026-03-02T09:00+08:00"


def test_every_word_has_both_languages_and_the_same_placeholders():
    import string
    for key, (chinese, english) in words.WORDS.items():
        assert chinese and english, key
        assert sorted(n for _, n, _, _ in string.Formatter().parse(chinese) if n) == \
            sorted(n for _, n, _, _ in string.Formatter().parse(english) if n), key


@pytest.mark.parametrize("asked, reporters, expected", [
    ("en", "zh-CN", "en"), (None, "en", "en"), ("fr", None, "zh-CN"), (None, None, "zh-CN"),
    ("zh-CN", "en", "zh-CN")])
def test_the_page_language(asked, reporters, expected):
    assert words.pick_locale(asked, reporters) == expected


def test_only_the_pages_own_files_are_served():
    assert asset("reporter.css")[1] == "text/css"
    assert asset("../entrypoints.py") is None and asset("concern.html") is None
