"""Every notification's words, in both languages, from the template files."""
import re

import pytest

from services.notify import messages

HAN = re.compile(r"[\u4e00-\u9fff]")
TICKET_ID = "ZD20261122-344F89CF"
LINK = f"http://127.0.0.1:8002/api/v1/tickets/{TICKET_ID}"
RESULT = "已疏通管道，恢复排水"
SCRIPT = "<script>alert(1)</script>"
WORKBENCH = "http://127.0.0.1:8002/workbench/"

WATER = {"dispatch_id": "DSP-1", "department": "baiyun-water", "name": "白云区水务局", "role": "lead",
         "status": "in_progress", "dispatched_at": "2026-11-22T02:00:00+00:00",
         "due_at": "2026-11-25T02:00:00+00:00", "resolved_at": None}
STREET = {"dispatch_id": "DSP-2", "department": "yuangang-street", "name": "元岗街道办事处", "role": "assist",
          "status": "acknowledged", "dispatched_at": "2026-11-22T02:00:00+00:00",
          "due_at": "2026-11-24T02:00:00+00:00", "resolved_at": None}


def reporter(status, **extra):
    return {"ticket_id": TICKET_ID, "title": "元岗路下水道堵塞", "status": status, **extra}


def staff(status, action, actor="system", note=None, **extra):
    """What a representative or the office is told: the ticket, its dispatches, the change."""
    return {"ticket_id": TICKET_ID, "title": "元岗路下水道堵塞", "status": status, "district": "baiyun",
            "community": "yuangang", "category": "drainage",
            "representative": {"id": "rep-chen-jianguo", "name": "陈建国"}, "result": None,
            "departments": [WATER, STREET], "rating": None,
            "change": {"at": "2026-11-23T02:00:00+00:00", "actor": actor, "action": action, "note": note},
            **extra}


SAMPLES = {
    "concern.received.reporter": reporter("received", received_at="2026-11-22T02:00:00+00:00"),
    "ticket.dispatched.reporter": reporter("dispatched", departments=["白云区水务局", "元岗街道办事处"],
                                           due_at="2026-11-25T02:00:00+00:00"),
    "ticket.resolved.reporter": reporter("resolved", result=RESULT, resolved_at="2026-11-23T02:00:00+00:00"),
    "ticket.closed.reporter": reporter("closed"),
    "ticket.reminded.reporter": reporter("resolved", result=RESULT,
                                         resolved_at="2026-11-23T02:00:00+00:00"),
    "ticket.assigned.representative": staff("assigned", "assign", departments=[]),
    "ticket.resolved.representative": staff("resolved", "resolve", "department:baiyun-water", RESULT,
                                            result=RESULT),
    "ticket.feedback.representative": staff("in_progress", "in_progress", "department:baiyun-water",
                                            "已派员现场查看"),
    "ticket.rated.representative": staff("closed", "rate", "reporter", result=RESULT,
                                         rating={"rating": "basically_satisfied", "comment": "处理及时"}),
    "ticket.escalated.representative": staff("dispatched", "escalate", "system", "联络室逾期未交办"),
    "ticket.forwarded.office": staff("forwarded", "forward", "representative:rep-chen-jianguo",
                                     "需水务部门处理", departments=[]),
    "ticket.undecided.office": staff("forwarded", "undecided", departments=[], category=None),
    "ticket.returned.office": staff("forwarded", "rejected", "department:baiyun-water", "不属本局职责"),
    "ticket.overdue.office": staff("in_progress", "overdue", "system",
                                   "baiyun-water was due at 2026-11-25T02:00:00+00:00"),
    "feedback.rejected.office": {"ticket_id": TICKET_ID, "title": "元岗路下水道堵塞",
                                 "department": "baiyun-water", "reason": "unknown dispatch DSP-9"},
    "department.dispatched.department": {
        "dispatch_id": "DSP-3", "ticket_id": TICKET_ID, "department": "baiyun-jingtai-street",
        "role": "lead", "district": "baiyun", "community": "yuangang", "category": "neighbourhood",
        "title": "元岗路下水道堵塞", "dispatched_at": "2026-11-22T02:00:00+00:00",
        "due_at": "2026-11-25T02:00:00+00:00", "workbench_url": WORKBENCH},
}
CASES = [(name, locale) for name in messages.TEMPLATES for locale in messages.LOCALES]
RESOLUTIONS = [(name, locale) for name, locale in CASES if name.startswith("ticket.resolved.")]


def for_staff(name):
    return not name.endswith(".reporter")


def rendered(name, locale, **changes):
    return messages.render(name, locale, {**SAMPLES[name], **changes}, LINK if for_staff(name) else None)


def test_every_template_has_a_file_in_each_language_and_a_sample_here():
    assert set(SAMPLES) == set(messages.TEMPLATES) and len(messages.TEMPLATES) == 16
    for name, locale in CASES + [(name, locale) for name in messages.PERSON_TEMPLATES
                                 for locale in messages.LOCALES]:
        assert (messages.TEMPLATE_DIR / locale / f"{name}.txt").is_file(), (name, locale)


@pytest.mark.parametrize("name, locale", CASES)
def test_every_message_names_the_ticket_in_each_of_its_parts(name, locale):
    message = rendered(name, locale)
    for part in (message.subject, message.text, message.short, message.html):
        assert TICKET_ID in part
    assert "\n" not in message.subject and "\n" not in message.short
    assert message.html.startswith("<!doctype html>") and f'<html lang="{locale}">' in message.html
    assert f'<h2 style="font-size: 1.2em">{message.subject}</h2>' in message.html
    assert "None" not in message.text


@pytest.mark.parametrize("name", messages.TEMPLATES)
def test_the_subject_is_in_the_recipients_language(name):
    chinese, english = rendered(name, "zh-CN"), rendered(name, "en")
    assert chinese.subject.startswith("【零距离】") and HAN.search(chinese.subject)
    assert english.subject.startswith("Zero Distance: ") and not HAN.search(english.subject)


@pytest.mark.parametrize("name, locale", RESOLUTIONS)
def test_a_resolution_carries_the_result(name, locale):
    message = rendered(name, locale)
    assert RESULT in message.text and f"<p>{'办理结果：' if locale == 'zh-CN' else 'Result: '}{RESULT}</p>" \
        in message.html
    assert RESULT in message.short


@pytest.mark.parametrize("name, locale", CASES)
def test_staff_messages_link_the_ticket_and_reporters_get_no_link(name, locale):
    message = rendered(name, locale)
    assert message.text.endswith(f"\n\n{LINK}") == for_staff(name)
    assert (f'<a href="{LINK}"' in message.html) == for_staff(name)
    assert ("/api/v1/tickets/" in message.text + message.html) == for_staff(name)


@pytest.mark.parametrize("name, locale", CASES)
def test_a_title_from_outside_is_escaped_in_html_and_kept_in_text(name, locale):
    message = rendered(name, locale, title=SCRIPT)
    assert SCRIPT in message.text
    assert "<script>" not in message.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in message.html


@pytest.mark.parametrize("name, locale", RESOLUTIONS)
def test_a_result_from_outside_is_escaped_in_html_and_kept_in_text(name, locale):
    message = rendered(name, locale, result=f"修好了 & {SCRIPT}")
    assert f"修好了 & {SCRIPT}" in message.text and f"修好了 & {SCRIPT}" in message.short
    assert "<script>" not in message.html
    assert "修好了 &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in message.html


def test_the_block_separator_in_outside_text_does_not_break_a_message():
    message = rendered("ticket.resolved.reporter", "zh-CN", result="管道\x1e已疏通")
    assert "办理结果：管道 已疏通" in message.text and message.subject.endswith("已办结")


def test_an_unknown_locale_falls_back_to_chinese():
    fallback = messages.render("ticket.closed.reporter", "fr", SAMPLES["ticket.closed.reporter"])
    assert fallback == messages.render("ticket.closed.reporter", "zh-CN", SAMPLES["ticket.closed.reporter"])
    assert fallback.subject == f"【零距离】您反映的问题（编号 {TICKET_ID}）已办结归档"
    assert 'lang="zh-CN"' in fallback.html


def test_an_unknown_template_is_refused():
    with pytest.raises(messages.UnknownTemplate) as refused:
        messages.render("ticket.teleported.reporter", "en", {"ticket_id": TICKET_ID})
    assert isinstance(refused.value, ValueError) and "ticket.teleported.reporter" in str(refused.value)


@pytest.mark.parametrize("name, locale", CASES)
def test_a_message_without_its_optional_params_still_reads(name, locale):
    bare = {"ticket_id": TICKET_ID, "title": None, "departments": [], "due_at": None}
    message = messages.render(name, locale, bare)
    assert TICKET_ID in message.subject and TICKET_ID in message.text and TICKET_ID in message.short
    assert "None" not in message.text and "None" not in message.html and '“' not in message.text
    if not for_staff(name):
        assert ("您反映的问题" if locale == "zh-CN" else "your concern") in message.text
        assert "您反映的您反映的" not in message.text


def test_a_dispatch_tells_the_reporter_who_handles_it_and_by_which_day_in_china():
    params = {**SAMPLES["ticket.dispatched.reporter"], "due_at": "2026-11-25T16:30:00+00:00"}
    chinese = messages.render("ticket.dispatched.reporter", "zh-CN", params)
    assert "已交白云区水务局、元岗街道办事处办理，预计 2026-11-26 前办结" in chinese.text
    english = messages.render("ticket.dispatched.reporter", "en", params)
    assert "passed to 白云区水务局, 元岗街道办事处, to be handled by 2026-11-26" in english.short
    nobody = messages.render("ticket.dispatched.reporter", "zh-CN",
                             {**params, "departments": [], "due_at": None})
    assert nobody.subject == f"【零距离】您反映的问题（编号 {TICKET_ID}）已交相关部门办理"


def test_the_reporter_is_invited_to_rate_the_resolution():
    chinese = rendered("ticket.resolved.reporter", "zh-CN")
    english = rendered("ticket.resolved.reporter", "en")
    assert "请通过您反映问题的渠道评价：满意、基本满意或不满意。" in chinese.text
    assert "satisfied, basically satisfied or unsatisfied" in english.text
    assert english.short.endswith("Please tell us whether you are satisfied.")


def test_the_resolution_sms_reads_as_one_sentence_with_the_result():
    short = rendered("ticket.resolved.reporter", "zh-CN", result="已疏通管道。").short
    assert short == f"【零距离】您反映的问题（编号 {TICKET_ID}）已办结：已疏通管道。欢迎评价。"


def test_staff_name_a_concern_without_a_title_by_its_number():
    message = rendered("ticket.escalated.representative", "zh-CN", title=None)
    assert message.text.startswith(f"您好！诉求（编号 {TICKET_ID}）已升级督办")
    english = rendered("ticket.escalated.representative", "en", title=None)
    assert english.text.startswith(f"The concern {TICKET_ID} has been escalated")


@pytest.mark.parametrize("rating, chinese, english", [
    ("satisfied", "评价：满意。", "rated the result: satisfied."),
    ("basically_satisfied", "评价：基本满意。", "rated the result: basically satisfied."),
    ("unsatisfied", "评价：不满意。", "rated the result: unsatisfied."),
])
def test_a_rating_is_told_in_words(rating, chinese, english):
    verdict = {"rating": rating, "comment": None}
    assert chinese in rendered("ticket.rated.representative", "zh-CN", rating=verdict).text
    assert english in rendered("ticket.rated.representative", "en", rating=verdict).text


def test_a_rating_comment_is_quoted():
    assert "基本满意（“处理及时”）。" in rendered("ticket.rated.representative", "zh-CN").text
    assert 'basically satisfied ("处理及时").' in rendered("ticket.rated.representative", "en").text


def test_progress_names_the_department_its_step_and_its_note():
    assert f"白云区水务局就“元岗路下水道堵塞”（编号 {TICKET_ID}）反馈：正在办理，已派员现场查看。" \
        in rendered("ticket.feedback.representative", "zh-CN").text
    english = rendered("ticket.feedback.representative", "en", change={
        "at": "2026-11-23T02:00:00+00:00", "actor": "department:baiyun-water", "action": "acknowledged",
        "note": None})
    assert f'白云区水务局 reports progress on the concern "元岗路下水道堵塞" ({TICKET_ID}): received.' \
        in english.text


def test_an_escalation_says_why():
    assert "已升级督办，原因：联络室逾期未交办。" in rendered("ticket.escalated.representative", "zh-CN").text
    assert "has been escalated: 联络室逾期未交办." in rendered("ticket.escalated.representative", "en").text


def test_a_ticket_handed_back_names_the_department_and_its_reason():
    assert f"白云区水务局退回了“元岗路下水道堵塞”（编号 {TICKET_ID}），理由：不属本局职责。请重新交办。" \
        in rendered("ticket.returned.office", "zh-CN").text
    transfer = {**SAMPLES["ticket.returned.office"]["change"], "action": "transfer_requested"}
    assert "白云区水务局 asked to transfer the concern" in rendered("ticket.returned.office", "en",
                                                                   change=transfer).text
    stranger = {**transfer, "actor": "department:huangpu-roads"}
    assert "huangpu-roads申请转办" in rendered("ticket.returned.office", "zh-CN", change=stranger).text


def test_an_overdue_ticket_names_the_lead_department_and_its_due_time_in_china():
    chinese = rendered("ticket.overdue.office", "zh-CN")
    assert "由白云区水务局承办，应于 2026-11-25 10:00 前办结，现已超期" in chinese.text
    assert "元岗街道办事处" not in chinese.text
    assert "handled by 白云区水务局, was due by 2026-11-25 10:00 (UTC+8) and is overdue" \
        in rendered("ticket.overdue.office", "en").text


def test_rejected_feedback_names_the_department_and_the_reason():
    assert f"承办部门 baiyun-water 就“元岗路下水道堵塞”（编号 {TICKET_ID}）发来的反馈未能处理：" \
           "unknown dispatch DSP-9。请与该部门核实。" in rendered("feedback.rejected.office", "zh-CN").text
    assert "Feedback from baiyun-water on the concern" in rendered("feedback.rejected.office", "en").text


UNREADABLE = {"ticket_id": None, "title": None, "department": "conghua-water",
              "department_name": "从化区水务局", "dispatch": None,
              "reason": "undecodable message: its body is not JSON"}


def test_rejected_feedback_naming_no_ticket_names_the_department_and_the_reason():
    chinese = messages.render("feedback.rejected.office", "zh-CN", UNREADABLE)
    assert chinese.subject == chinese.short == "【零距离】承办部门从化区水务局发来的反馈未能处理"
    assert chinese.text == ("您好！承办部门从化区水务局发来的一条反馈未能处理，也对应不到任何诉求："
                            "undecodable message: its body is not JSON。请与该部门核实。")
    english = messages.render("feedback.rejected.office", "en", {**UNREADABLE, "dispatch": "D-x",
                                                                 "reason": "unknown dispatch"})
    assert english.subject == "Zero Distance: feedback from 从化区水务局 could not be applied"
    assert english.text == ("Feedback from 从化区水务局 on dispatch D-x could not be applied, nor"
                            " matched to any concern: unknown dispatch. Please check with the"
                            " department.")


@pytest.mark.parametrize("locale", messages.LOCALES)
def test_rejected_feedback_naming_no_ticket_has_no_empty_ticket_words(locale):
    message = messages.render("feedback.rejected.office", locale, UNREADABLE)
    for part in (message.subject, message.text, message.short, message.html):
        assert "None" not in part and "编号" not in part and "concern ." not in part
        assert "()" not in part and "（）" not in part and "“”" not in part and '""' not in part


def test_rejected_feedback_names_the_department_by_its_name_when_the_directory_gives_one():
    assert "承办部门白云区水务局就" in rendered("feedback.rejected.office", "zh-CN",
                                       department_name="白云区水务局").text
    assert "Feedback from 白云区水务局 on the concern" in rendered(
        "feedback.rejected.office", "en", department_name="白云区水务局").text


def test_the_representative_is_greeted_by_name_and_asked_to_act():
    chinese = rendered("ticket.assigned.representative", "zh-CN")
    assert chinese.text.startswith("陈建国代表：您好！") and "直接办理或转交代表联络室" in chinese.text
    assert rendered("ticket.assigned.representative", "en").text.startswith("Dear 陈建国,\n\n")


def test_html_shows_the_bodys_paragraphs_and_a_labelled_link():
    message = rendered("ticket.resolved.representative", "zh-CN")
    assert f"<p>您好！“元岗路下水道堵塞”（编号 {TICKET_ID}）已办结。</p>" in message.html
    assert f"<p>办理结果：{RESULT}</p>" in message.html
    assert re.search(rf'<a href="{re.escape(LINK)}"[^>]*>查看诉求</a>', message.html)


@pytest.mark.parametrize("value, shown", [
    ("2026-11-25T16:30:00+00:00", "2026-11-26 00:30"),
    ("2026-11-25T10:00:00+08:00", "2026-11-25 10:00"),
    ("2026-11-25T10:00:00", "2026-11-25 10:00"),
    ("next week", "next week"),
    (None, ""),
])
def test_times_are_shown_on_a_clock_in_china(value, shown):
    assert messages.local_time(value) == shown


# A person's own messages: the sign-in code


CODE = {"person_id": "office-baiyun-wu", "code": "482913", "expires_at": "2026-11-22T02:10:00+00:00",
        "valid_minutes": 10, "workbench_url": WORKBENCH}


@pytest.mark.parametrize("locale, words", [
    ("zh-CN", ["登录验证码是 482913", "10 分钟内有效", "如非本人操作"]),
    ("en", ["sign-in code is 482913", "valid 10 minutes", "if you did not ask for it, ignore"])])
def test_a_sign_in_code_says_the_code_how_long_it_holds_and_where_to_sign_in(locale, words):
    message = messages.render("staff.sign_in_code.staff", locale, CODE)
    for part in (message.text, message.short):
        assert all(word in part for word in words) and WORKBENCH in part
    assert "482913" in message.subject and "482913" in message.html
    assert "\n" not in message.short and "None" not in message.text


def test_a_web_department_is_told_the_dispatch_its_due_time_and_the_workbench():
    chinese = rendered("department.dispatched.department", "zh-CN")
    assert f"新派单“元岗路下水道堵塞”（编号 {TICKET_ID}），请于 2026-11-25 10:00 前办结" in chinese.short
    english = rendered("department.dispatched.department", "en")
    assert english.short == (f"New dispatch {TICKET_ID} (元岗路下水道堵塞), due 2026-11-25 10:00:"
                             f" open the workbench {WORKBENCH}")
    assert WORKBENCH in english.text and WORKBENCH in chinese.text


# The reporter's own page of their concern

PAGE = "https://zd.example/c/Xq3-9fT_k2"
REPORTER_CASES = [(name, locale) for name, locale in CASES if not for_staff(name)]


@pytest.mark.parametrize("name, locale", REPORTER_CASES)
def test_a_reporter_message_shows_their_page_in_the_body_the_sms_and_as_the_html_button(name, locale):
    message = rendered(name, locale, link=PAGE)
    body_paragraphs = message.text.split("\n\n")
    assert any(PAGE in paragraph and paragraph != PAGE for paragraph in body_paragraphs)
    assert PAGE in message.short and "\n" not in message.short
    label = {"zh-CN": "查看我的诉求", "en": "Follow your concern"}[locale]
    assert re.search(rf'<a href="{re.escape(PAGE)}"[^>]*>{label}</a>', message.html)
    assert messages.LINK_LABEL[locale] + "<" not in message.html  # not the staff button
    assert message.text.count(PAGE) == 1 and message.short.count(PAGE) == 1


@pytest.mark.parametrize("name, locale", REPORTER_CASES)
def test_a_reporter_without_a_page_gets_no_link_and_no_empty_words(name, locale):
    for missing in ({}, {"link": None}, {"link": ""}):
        message = rendered(name, locale, **missing)
        assert "/c/" not in message.text + message.short + message.html
        assert "<a href" not in message.html
        assert not message.short.endswith(("：", ":", "。。", ".."))


def test_a_staff_message_keeps_its_own_link_whatever_its_params_say():
    message = rendered("ticket.resolved.representative", "en", link=PAGE)
    assert re.search(rf'<a href="{re.escape(LINK)}"[^>]*>Open the ticket</a>', message.html)
    assert PAGE not in message.html + message.text + message.short


def test_the_resolution_asks_for_a_rating_on_the_page_and_says_what_it_does():
    chinese = rendered("ticket.resolved.reporter", "zh-CN", link=PAGE)
    assert ("请在您的诉求页面评价办理结果：满意、基本满意或不满意。满意或基本满意即办结归档；"
            "不满意的，诉求将重新办理。") in chinese.text
    assert f"评价请点击：{PAGE}" in chinese.text
    assert chinese.short == (f"【零距离】您反映的问题（编号 {TICKET_ID}）已办结：{RESULT}。"
                             f"请评价（不满意将重新办理）：{PAGE}")
    english = rendered("ticket.resolved.reporter", "en", link=PAGE)
    assert ("Please rate the result on your concern's own page: satisfied, basically satisfied"
            " or unsatisfied. Satisfied or basically satisfied closes it; if you are"
            " unsatisfied, it is reopened and handled again.") in english.text
    assert f"Rate it here: {PAGE}" in english.text
    assert english.short.endswith(f"Rate it (unsatisfied reopens it): {PAGE}")


def test_a_reminder_says_the_result_is_not_rated_yet_and_where_to_rate_it():
    chinese = rendered("ticket.reminded.reporter", "zh-CN", link=PAGE)
    assert chinese.subject == f"【零距离】请评价您反映的问题（编号 {TICKET_ID}）的办理结果"
    assert (f"您好！您反映的“元岗路下水道堵塞”（编号 {TICKET_ID}）已办结（2026-11-23 10:00），"
            "您还没有评价办理结果。") in chinese.text
    assert f"评价请点击：{PAGE}" in chinese.text and "不满意的，诉求将重新办理" in chinese.text
    assert chinese.short == (f"【零距离】您反映的问题（编号 {TICKET_ID}）已办结，您尚未评价办理结果。"
                             f"请在此评价：{PAGE}")
    english = rendered("ticket.reminded.reporter", "en", link=PAGE)
    assert english.subject == f"Zero Distance: your concern {TICKET_ID} awaits your rating"
    assert "you have not yet rated the result" in english.text
    assert f"Rate it here: {PAGE}" in english.text
    assert english.short == (f"Zero Distance: you have not yet rated the result of your concern"
                             f" {TICKET_ID}. Rate it here: {PAGE}")


def test_a_reminder_without_a_page_asks_through_the_reporting_channel():
    chinese = rendered("ticket.reminded.reporter", "zh-CN")
    assert "请通过您反映问题的渠道评价：满意、基本满意或不满意。" in chinese.text
    assert chinese.short.endswith("您尚未评价办理结果。欢迎评价。")
