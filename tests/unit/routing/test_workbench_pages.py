"""The workbench's pure parts: its words, its templates in both languages, its forms read
into the API's commands, what each role may do, and the fingerprint of a list."""
from datetime import datetime, timezone
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import LanguageAccept, MultiDict

from services.routing import domain
from services.routing.workbench import forms, screens, words
from services.routing.workbench.entrypoints import _safe_next
from services.routing.workbench.render import TEMPLATES, asset, render

AT = datetime(2026, 12, 5, 6, 30, tzinfo=timezone.utc)
PERSON = SimpleNamespace(id="office-baiyun-wu", name="吴敏", party="congress:baiyun", role="congress")
ROW = {"ticket_id": "ZD20261205-0000AAAA", "title": "井盖松动", "status": "assigned",
       "category": None, "community": "tonghe", "version": 3, "seconds_left": -600, "takes_over": True,
       "likely_duplicate": True, "overdue": False}
TICKET = {**ROW, "description": "同和路口的井盖松动",
          "representative": {"id": "rep-zhao-min", "name": "赵敏"},
          "received_at": AT.isoformat(), "location": {"address": "同和路", "lat": 23.2, "lon": 113.3},
          "attachments": [{"url": "https://photos.example/1.jpg", "kind": "photo"}],
          "reporter_wants_feedback": True, "district": "baiyun",
          "likely_duplicate_of": {"ticket_id": "ZD20261204-0000BBBB", "score": 0.61,
                                  "shared_words": ["井盖", "松动"]},
          "likely_duplicates": [{"ticket_id": "ZD20261206-0000CCCC", "score": 0.4}],
          "timeline": [{"at": AT.isoformat(), "actor": "representative:rep-zhao-min", "action": "forward",
                        "to_status": "forwarded", "note": "请派单",
                        "person": {"id": "rep-zhao-min", "name": "赵敏"}},
                       {"at": AT.isoformat(), "actor": "system", "action": "dispatch",
                        "to_status": "dispatched", "note": None}]}
CHOICES = {"statuses": ("forwarded",), "categories": [("drainage", "排水")],
           "communities": [("tonghe", "同和社区")], "representatives": [("rep-zhao-min", "赵敏")],
           "departments": [("baiyun-water", "水务局")]}
COUNTS = {"statuses": {"forwarded": 2}, "overdue": 1, "undecided": 1, "duplicates": 1,
          "categories": {"drainage": 2}, "communities": {"tonghe": 1}, "representatives": {},
          "departments": {"baiyun-water": 1}}
PAGES = {
    "sign_in": {"person": None, "nav": [], "csrf": "t", "person_id": "rep-zhao-min", "next": "/workbench/",
                "minutes": 10},
    "queue": {"tickets": [ROW]},
    "office": {"tickets": [ROW], "counts": COUNTS, "choices": CHOICES,
               "filters": "status=forwarded&overdue=true",
               "query": SimpleNamespace(status="forwarded", category=None, community=None,
                                        representative=None, department=None, overdue=True,
                                        undecided=False, duplicates=False, sort="due"),
               "outcomes": [{"ticket_id": ROW["ticket_id"], "ok": True, "status": "dispatched"},
                            {"ticket_id": "ZD20261205-0000DDDD", "ok": False,
                             "problem": {"status": 409, "detail": "not now"}}]},
    "ticket": {"ticket": TICKET, "choices": CHOICES, "seconds_left": 3600, "takes_over": True,
               "replies": [{"reply_id": 1, "title": "已转派"}],
               "acts": screens.acts_for("congress", {"status": "forwarded"}, None)
               + screens.acts_for("representative", {"status": "assigned"},
                                  {"ticket_id": "ZD20261204-0000BBBB"}),
               "follow_up": {"call": None, "may_record": True, "ratings": domain.RATINGS},
               "notes": [{"at": AT, "person_name": "吴敏", "party": "congress:baiyun",
                          "text": "电话联系过"}]},
    "department": {"dispatches": [{"dispatch_id": "d-1", "ticket_id": ROW["ticket_id"], "title": "井盖",
                                   "status": "dispatched", "dispatch_status": "sent", "role": "lead",
                                   "category": "drainage", "reporter_name": "王女士", "reporter_phone": None,
                                   "community": "tonghe", "due_at": AT, "late": False,
                                   "description": "井盖松动", "location": {"address": "同和路"},
                                   "attachments": [], "note": "请处理",
                                   "answers": screens.ANSWERS["sent"]}]},
    "replies": {"replies": [{"reply_id": 1, "kind": "result", "title": "已修复", "text": "已派人修复"}]},
    "rejected": {"rejected": [{"id": 7, "at": AT, "department": "baiyun-water", "ticket_id": ROW["ticket_id"],
                               "status": "resolved", "reason": "the ticket is closed", "note": None}]},
}


@pytest.mark.parametrize("locale", words.LOCALES)
@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_renders_in_both_languages(name, locale):
    context = {"person": PERSON, "nav": screens.NAV["congress"], "csrf": "token", "notice": "ok",
               "category_names": {"drainage": "排水"},
               "problem": {"detail": "why", "errors": {"note": ["too long"]}}, "state": "abc",
               "state_url": "/workbench/state?page=office", **PAGES[name]}
    page = render(name, locale, "Asia/Shanghai", **context)
    assert f'<html lang="{locale}">' in page
    assert "<script src=\"/workbench/static/workbench.js\"" in page and "<script>" not in page
    assert " style=" not in page  # the Content-Security-Policy allows no inline style


def test_every_template_is_a_page_tested_here_or_a_part():
    names = {path.stem for path in TEMPLATES.glob("*.html")}
    assert names == set(PAGES) | {"layout", "_ticket_rows", "_dispatch_fields"}


def test_text_residents_wrote_is_escaped():
    page = render("queue", "en", person=PERSON, nav=[], csrf="", notice=None, problem=None, state=None,
                  state_url=None, category_names={}, tickets=[{**ROW, "title": "<script>alert(1)</script>"}])
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_every_word_has_both_languages_and_the_same_placeholders():
    for key, (chinese, english) in words.WORDS.items():
        assert chinese and english, key
        assert sorted(_placeholders(chinese)) == sorted(_placeholders(english)), key


def _placeholders(text):
    import string
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


@pytest.mark.parametrize("asked, cookie, header, expected", [
    ("en", None, "zh-CN", "en"), (None, "en", "zh-CN", "en"), (None, None, "en-GB,en;q=0.8", "en"),
    (None, None, "zh-TW,zh;q=0.9", "zh-CN"), (None, None, "", "zh-CN"), ("fr", "xx", "fr", "zh-CN")])
def test_the_page_language(asked, cookie, header, expected):
    values = [(part.split(";")[0], 1) for part in header.split(",") if part]
    assert words.pick_locale(asked, cookie, LanguageAccept(values)) == expected


def test_a_dispatch_form_is_the_apis_dispatch_command():
    form = MultiDict([("action", "dispatch"), ("lead", "baiyun-water"), ("assist", "baiyun-roads"),
                      ("assist", "baiyun-water"), ("category", "drainage"), ("due_at", "2026-12-07T18:00"),
                      ("note", " 请尽快 "), ("version", "4"), ("csrf", "x")])
    command = forms.action_command(form, "Asia/Shanghai")
    assert command["departments"] == {"lead": "baiyun-water", "assist": ["baiyun-roads"]}
    assert command["category"] == "drainage" and command["note"] == "请尽快" and command["version"] == 4
    assert command["due_at"] == datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc)


def test_a_saved_reply_fills_an_empty_result_but_not_a_written_one():
    replies = [{"reply_id": 3, "text": "已派人疏通"}]
    empty = forms.action_command(MultiDict({"action": "resolve", "reply": "3"}), "Asia/Shanghai", replies)
    written = forms.action_command(MultiDict({"action": "resolve", "reply": "3", "result": "自己写的"}),
                                   "Asia/Shanghai", replies)
    assert empty["result"] == "已派人疏通" and written["result"] == "自己写的"


@pytest.mark.parametrize("form, field", [
    ({"action": "resolve"}, "result"), ({"action": "reject"}, "reason"), ({"action": "fly"}, "action"),
    ({"action": "dispatch", "lead": "x", "due_at": "tomorrow"}, "due_at"),
    ({"action": "forward", "version": "two"}, "version")])
def test_a_form_the_api_would_refuse_is_refused(form, field):
    with pytest.raises(ValidationError) as refused:
        forms.action_command(MultiDict(form), "Asia/Shanghai")
    assert field in refused.value.messages


def test_a_departments_answer_is_the_feedback_of_the_api():
    assert forms.feedback_body("d-1", MultiDict({"status": "resolved", "text": "修好了"})) == {
        "dispatch_id": "d-1", "status": "resolved", "result": "修好了"}
    assert forms.feedback_body("d-1", MultiDict({"status": "transfer_requested", "text": "不归我们"})) == {
        "dispatch_id": "d-1", "status": "transfer_requested", "note": "不归我们"}
    with pytest.raises(ValidationError):
        forms.feedback_body("d-1", MultiDict({"status": "resolved"}))


def test_a_representative_merges_only_into_the_suggested_original():
    alone = {act["name"] for act in screens.acts_for("representative", {"status": "assigned"}, None)}
    linked = screens.acts_for("representative", {"status": "assigned"}, {"ticket_id": "ZD-1"})
    assert alone == {"forward", "resolve", "reject", "escalate"}
    assert [act["into"] for act in linked if act["name"] == "merge"] == ["ZD-1"]


def test_the_office_dispatches_and_reassigns_and_nobody_acts_on_a_closed_ticket():
    office = {act["name"] for act in screens.acts_for("congress", {"status": "forwarded"}, None)}
    assert {"dispatch", "reassign", "merge", "reject", "escalate"} <= office
    assert screens.acts_for("congress", {"status": "closed"}, None) == []


def test_a_lists_fingerprint_changes_with_any_tickets_version():
    before = screens.state_of([ROW])
    assert screens.state_of([dict(ROW)]) == before
    assert screens.state_of([{**ROW, "version": 4}]) != before
    assert screens.state_of([]) != before


@pytest.mark.parametrize("target, expected", [
    ("/workbench/office?status=forwarded", "/workbench/office?status=forwarded"),
    ("https://evil.example/", "/workbench/"), ("//evil.example/workbench/", "/workbench/"),
    ("/workbench//evil.example", "/workbench/"), (None, "/workbench/"), ("/api/v1/tickets", "/workbench/")])
def test_after_sign_in_the_browser_goes_only_to_a_workbench_page(target, expected):
    assert _safe_next(target) == expected


def test_only_the_workbenchs_own_files_are_served():
    assert asset("workbench.css")[1] == "text/css" and asset("workbench.js")[1] == "application/javascript"
    assert asset("../render.py") is None and asset("layout.html") is None


class FormControls(HTMLParser):
    """Each form control of a page, and whether a label names it for a screen reader."""

    def __init__(self):
        super().__init__()
        self.labels_for, self.controls, self.open_labels = set(), [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if attrs.get("for"):
                self.labels_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append((attrs, self.open_labels > 0 or bool(attrs.get("aria-label"))))

    def handle_endtag(self, tag):
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self):
        return [attrs for attrs, labelled in self.controls
                if not labelled and attrs.get("id") not in self.labels_for]


@pytest.mark.parametrize("name", sorted(set(PAGES) - {"queue", "rejected"}))  # those two: buttons only
def test_every_form_control_is_labelled_for_a_screen_reader(name):
    context = {"person": PERSON, "nav": screens.NAV["congress"], "csrf": "token", "notice": None,
               "category_names": {}, "problem": None, "state": None, "state_url": None, **PAGES[name]}
    controls = FormControls()
    controls.feed(render(name, "zh-CN", "Asia/Shanghai", **context))
    assert controls.controls, "the page has a form"
    assert controls.unlabelled() == []


def test_the_follow_up_form_asks_for_a_labelled_rating_and_a_comment():
    context = {"person": PERSON, "nav": [], "csrf": "token", "notice": None, "category_names": {},
               "problem": None, "state": None, "state_url": None, **PAGES["ticket"]}
    page = render("ticket", "en", "Asia/Shanghai", **context)
    form = page[page.index('<form method="post" action="/workbench/tickets/ZD20261205-0000AAAA'
                           '/actions" class="card" id="follow-up"'):]
    form = form[:form.index("</form>")]
    assert '<input type="hidden" name="action" value="follow_up">' in form
    for rating, label in (("satisfied", "Satisfied"), ("basically_satisfied", "Basically satisfied"),
                          ("unsatisfied", "Unsatisfied")):
        assert (f'<label><input type="radio" name="rating" value="{rating}" required> {label}</label>'
                in form)
    assert '<label for="follow-up-comment">What the reporter said (optional)</label>' in form
    assert '<textarea id="follow-up-comment" name="comment"' in form
    assert ">Record the call</button>" in form and "Follow-up call (回访)" in page


def test_a_recorded_follow_up_call_shows_instead_of_its_form():
    call = {"person_id": "office-baiyun-wu", "person_name": "吴敏", "at": AT, "rating": "unsatisfied"}
    context = {"person": PERSON, "nav": [], "csrf": "token", "notice": None, "category_names": {},
               "problem": None, "state": None, "state_url": None,
               **{**PAGES["ticket"], "follow_up": {"call": call, "may_record": False,
                                                   "ratings": domain.RATINGS}}}
    page = render("ticket", "zh-CN", "Asia/Shanghai", **context)
    assert 'id="follow-up"' not in page
    assert "吴敏 已于 2026-12-05 14:30 记录回访（不满意），评价稍后生效。" in page


def test_a_follow_up_form_is_the_apis_follow_up_command():
    command = forms.action_command(MultiDict({"action": "follow_up", "rating": "basically_satisfied",
                                              "comment": " 还行 ", "version": "7"}), "Asia/Shanghai")
    assert command == {"action": "follow_up", "rating": "basically_satisfied", "comment": "还行",
                       "version": 7, "note": None}
    with pytest.raises(ValidationError) as refused:
        forms.action_command(MultiDict({"action": "follow_up"}), "Asia/Shanghai")
    assert refused.value.messages == {"rating": ["Required for action follow_up."]}
    with pytest.raises(ValidationError) as refused:
        forms.action_command(MultiDict({"action": "follow_up", "rating": "so-so"}), "Asia/Shanghai")
    assert "rating" in refused.value.messages
