"""The reporter's page in ``zh-CN`` and ``en``: what it says, in words for a resident.

``WORDS`` maps a key to its two wordings; ``say(locale, key, **values)`` gives one,
filled; a list value (department names) is joined the language's way. A key missing
from the table is a programming error and raises ``KeyError`` (the unit tests render
every screen in both languages). Pure: no I/O.
"""
from services.common.events import DEFAULT_LOCALE, LOCALES

WORDS = {
    # frame
    "app": ("零距离", "Zero Distance"),
    "page_title": ("我反映的问题", "Your concern"),
    "language": ("English", "中文"),
    "yours_alone": ("此链接仅供您本人查看，请勿转发。", "This link is yours alone: please do not share it."),
    "times_note": ("时间均为北京时间。", "Times are China Standard Time."),
    "open_until": ("本页面保留至 {date}。", "This page stays open until {date}."),
    # what was reported
    "reported": ("反映内容", "What you reported"),
    "ticket_id": ("诉求编号", "Reference"),
    "title": ("标题", "Title"),
    "description": ("内容", "Description"),
    "category": ("类别", "Category"),
    "community": ("社区", "Community"),
    "place": ("地点", "Place"),
    "received_at": ("受理时间", "Received"),
    # where it stands
    "where": ("办理情况", "Where it stands"),
    "status": ("状态", "Status"),
    "representative": ("人大代表", "Representative"),
    "departments": ("办理部门", "Department(s)"),
    "result": ("办理结果", "Result"),
    "reason": ("理由", "Reason"),
    "status.received": ("已受理", "Received"),
    "status.assigned": ("代表正在办理", "With your representative"),
    "status.assigned_named": ("代表正在办理（{name}）", "With your representative, {name}"),
    "status.forwarded": ("联络站正在协调", "With the liaison office"),
    "status.dispatched": ("职能部门正在办理", "With the department(s)"),
    "status.dispatched_named": ("职能部门正在办理：{names}", "With the department(s): {names}"),
    "status.resolved": ("已办结", "Resolved"),
    "status.closed": ("已关闭", "Closed"),
    "status.merged": ("已与反映同一问题的诉求合并办理", "Joined with another concern about the same problem"),
    "status.merged_resolved": ("已随合并的诉求办结", "Resolved with the concern it joined"),
    "status.rejected": ("不予受理", "Not taken up"),
    # the steps
    "steps": ("办理过程", "Steps"),
    "step.received": ("已受理", "Received"),
    "step.with_representative": ("交由人大代表办理", "With your representative"),
    "step.with_office": ("转交代表联络站协调", "With the liaison office"),
    "step.handed_back": ("部门退回，联络站重新协调",
                         "Handed back by the department: with the liaison office again"),
    "step.reopened": ("重新办理，已交回联络站", "Reopened: back with the liaison office"),
    "step.with_departments": ("交由职能部门办理", "With the department(s)"),
    "step.with_departments_named": ("交由职能部门办理：{names}", "With the department(s): {names}"),
    "step.taken_on": ("部门已签收", "The department took it on"),
    "step.in_progress": ("部门正在办理", "The department is working on it"),
    "step.resolved": ("已办结", "Resolved"),
    "step.resolved_with_joined": ("已随合并的诉求办结", "Resolved with the concern it joined"),
    "step.rated": ("已评价", "Rated"),
    "step.closed": ("已关闭", "Closed"),
    "step.merged": ("与反映同一问题的诉求合并办理", "Joined with another concern about the same problem"),
    "step.rejected": ("不予受理", "Not taken up"),
    # rating
    "rate": ("评价办理结果", "Rate the result"),
    "rate_intro": ("您对办理结果满意吗？", "Are you satisfied with the result?"),
    "your_answer": ("您的评价", "Your rating"),
    "rating.satisfied": ("满意", "Satisfied"),
    "rating.basically_satisfied": ("基本满意", "Basically satisfied"),
    "rating.unsatisfied": ("不满意", "Unsatisfied"),
    "comment": ("意见（可选）", "Comment (optional)"),
    "send_rating": ("提交评价", "Send my rating"),
    "after.reopens": ("选择“不满意”，诉求将重新办理，交回代表联络站。",
                      "Unsatisfied reopens the concern: it goes back to the liaison office."),
    "after.closes": ("本诉求重新办理的次数已满：无论评价如何，诉求都将关闭，您的意见会被记录。",
                     "This concern has been reopened as often as allowed: whatever your rating, it"
                     " is closed, and your comment is kept."),
    "after.noted": ("您的评价将转告办理合并诉求的工作人员。",
                    "Your rating is passed on to those handling the concern it joined."),
    "thanks": ("谢谢您的评价。", "Thank you for your rating."),
    "thanks.closes": ("诉求将关闭。", "The concern is being closed."),
    "thanks.reopens": ("诉求将重新办理，交回代表联络站。",
                       "The concern is reopened and goes back to the liaison office."),
    "thanks.noted": ("您的评价已转告办理合并诉求的工作人员。",
                     "Your rating has been passed on to those handling the concern it joined."),
    # problems
    "already_rated": ("这次办理结果已经评价过了。", "This result has been rated already."),
    "not_resolved": ("诉求尚未办结，现在还不能评价。",
                     "The concern is not resolved: it cannot be rated now."),
    "fix_fields": ("请检查：", "Please check:"),
    "field.rating": ("评价", "Rating"),
    "field.comment": ("意见", "Comment"),
    "error.rating": ("请选择一项评价。", "Choose one of the three answers."),
    "error.comment": ("意见最多 2000 字，不能含控制字符。",
                      "At most 2000 characters, without control characters."),
    "form_unreadable": ("无法读取表单，请在本页重新提交。",
                        "The form could not be read: send it again from this page."),
    "not_found": ("页面不存在", "Not found"),
    "not_found_text": ("链接有误，或已失效。", "This link is wrong, or no longer works."),
    "too_many": ("请求过于频繁", "Too many requests"),
    "too_many_text": ("请稍后再试。", "Please try again in a moment."),
}
#: how each language lists names
SEPARATORS = {"zh-CN": "、", "en": ", "}


def pick_locale(asked, reporter_locale):
    """The page's language: asked for (``?lang=``), else the reporter's, else Chinese."""
    for choice in (asked, reporter_locale):
        if choice in LOCALES:
            return choice
    return DEFAULT_LOCALE


def say(locale, key, **values):
    text = WORDS[key][LOCALES.index(locale)]
    filled = {name: SEPARATORS[locale].join(value) if isinstance(value, (list, tuple)) else value
              for name, value in values.items()}
    return text.format(**filled) if filled else text
