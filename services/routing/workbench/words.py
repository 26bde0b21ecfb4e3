"""The workbench's words in ``zh-CN`` and ``en``: labels, statuses, actions, notices.

``WORDS`` maps a key to its two wordings; ``say(locale, key, **values)`` gives one,
filled. A key missing from the table is a programming error and raises ``KeyError``
(a unit test renders every page in both languages). Pure: no I/O.
"""
LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"

WORDS = {
    # frame
    "app": ("零距离工作台", "Zero Distance workbench"),
    "skip": ("跳到正文", "Skip to content"),
    "sign_out": ("退出", "Sign out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "language": ("English", "中文"),
    "nav": ("导航", "Navigation"),
    "my_queue": ("我的诉求", "My queue"),
    "district_queue": ("本区诉求", "District tickets"),
    "replies": ("常用回复", "Saved replies"),
    "rejected_feedback": ("未能处理的部门反馈", "Feedback that could not apply"),
    "dispatches": ("本部门派单", "Our dispatches"),
    "changed_banner": ("列表有更新。", "This list has changed."),
    "reload": ("刷新", "Reload"),
    # sign-in
    "sign_in": ("登录", "Sign in"),
    "sign_in_intro": ("输入通讯录中您的编号（如 rep-liu-hanli），验证码将发送到登记的手机、邮箱或微信。",
                      "Enter your id from the directory (e.g. rep-liu-hanli); a code goes to the"
                      " phone, email or WeChat it lists for you."),
    "person_id": ("编号", "Your id"),
    "send_code": ("发送验证码", "Send the code"),
    "code": ("验证码", "Code"),
    "code_sent": ("如果编号正确，验证码已发送，{minutes} 分钟内有效。",
                  "If the id is right, a code is on its way; it is valid for {minutes} minutes."),
    "code_hint": ("6 位数字", "6 digits"),
    "verify": ("登录", "Sign in"),
    "another_code": ("重新获取验证码", "Ask for another code"),
    "signed_out": ("您已退出。", "You are signed out."),
    "session_ended": ("请重新登录。", "Please sign in again."),
    # tickets
    "ticket": ("诉求", "Ticket"),
    "tickets": ("诉求", "Tickets"),
    "title": ("标题", "Title"),
    "description": ("内容", "Description"),
    "place": ("地点", "Place"),
    "attachments": ("附件", "Attachments"),
    "community": ("社区", "Community"),
    "category": ("类别", "Category"),
    "undecided_category": ("未定类别", "no category"),
    "status": ("状态", "Status"),
    "representative": ("代表", "Representative"),
    "department": ("部门", "Department"),
    "received_at": ("受理时间", "Received"),
    "due": ("期限", "Due"),
    "time_left": ("剩余时间", "Time left"),
    "office_takes_over": ("之后转联络室", "until the office takes over"),
    "overdue": ("已超时", "Overdue"),
    "timeline": ("办理过程", "Timeline"),
    "none": ("无", "none"),
    "empty_queue": ("没有待办诉求。", "Nothing waiting."),
    "open": ("打开", "Open"),
    "likely_duplicate": ("疑似重复", "Likely duplicate"),
    "likely_duplicate_of": ("可能与 {ticket} 重复（相似度 {score}，共同词：{words}）",
                            "May repeat {ticket} (score {score}, shared words: {words})"),
    "repeated_by": ("{ticket} 可能重复本诉求（相似度 {score}）",
                    "{ticket} may repeat this one (score {score})"),
    "internal_notes": ("内部备注", "Internal notes"),
    "internal_hint": ("仅工作人员可见，群众和前端看不到。",
                      "Staff only: neither the reporter nor the front-end sees these."),
    "add_note": ("添加备注", "Add the note"),
    "note": ("说明", "Note"),
    "result": ("办理结果", "Result"),
    "reason": ("理由", "Reason"),
    "saved_reply": ("常用回复", "Saved reply"),
    "no_reply": ("（不使用）", "(none)"),
    "reporter": ("反映人（要求回复）", "Reporter (asked for feedback)"),
    "reporter_wants_feedback": ("群众要求回复", "The reporter asked for feedback"),
    # actions
    "actions": ("办理", "Act"),
    "action.forward": ("转联络室", "Forward to the office"),
    "action.resolve": ("直接办结", "Resolve"),
    "action.merge": ("合并", "Merge"),
    "action.merge_into": ("合并到 {ticket}", "Merge into {ticket}"),
    "action.reject": ("不予受理", "Reject"),
    "action.reassign": ("改派代表", "Reassign"),
    "action.dispatch": ("派单", "Dispatch"),
    "action.escalate": ("督办", "Escalate"),
    "into": ("合并到诉求号", "Merge into ticket"),
    "lead": ("主办部门", "Lead department"),
    "assist": ("协办部门", "Assisting departments"),
    "due_at": ("办理期限（可选）", "Due (optional)"),
    "category_correction": ("更正类别", "Correct the category"),
    "keep_each_category": ("（各诉求保持原类别）", "(keep each ticket's category)"),
    "keep_category": ("（保持 {category}）", "(keep {category})"),
    "done.forward": ("已转联络室。", "Forwarded to the office."),
    "done.resolve": ("已办结。", "Resolved."),
    "done.merge": ("已合并。", "Merged."),
    "done.reject": ("已不予受理。", "Rejected."),
    "done.reassign": ("已改派。", "Reassigned."),
    "done.dispatch": ("已派单。", "Dispatched."),
    "done.escalate": ("已督办。", "Escalated."),
    "done.note": ("备注已保存。", "Note kept."),
    "done.feedback": ("已反馈。", "Answer sent."),
    "done.reply": ("已保存。", "Saved."),
    "done.handled": ("已标记为已处理。", "Marked as handled."),
    # the office's follow-up call
    "follow_up": ("电话回访", "Follow-up call (回访)"),
    "follow_up_hint": ("为没有智能手机的群众记录电话回访中的满意度评价；每次办结只记录一次。",
                       "Record the rating a reporter without a smartphone gave on the phone;"
                       " one call per resolution."),
    "rating": ("满意度", "Rating"),
    "rating.satisfied": ("满意", "Satisfied"),
    "rating.basically_satisfied": ("基本满意", "Basically satisfied"),
    "rating.unsatisfied": ("不满意", "Unsatisfied"),
    "rating_comment": ("群众意见（可选）", "What the reporter said (optional)"),
    "record_follow_up": ("记录回访", "Record the call"),
    "done.follow_up": ("回访已记录，评价稍后生效。",
                       "The follow-up call is recorded; its rating applies in a moment."),
    "follow_up_recorded": ("{who} 已于 {at} 记录回访（{rating}），评价稍后生效。",
                           "{who} recorded the follow-up call at {at} ({rating}); its rating"
                           " applies in a moment."),
    "changed_meanwhile": ("该诉求已被他人更新，请查看最新状态后再操作。",
                          "Someone changed this ticket meanwhile: look at it again before you act."),
    "fix_fields": ("请检查以下内容：", "Please check:"),
    # office
    "filters": ("筛选", "Filters"),
    "any": ("全部", "any"),
    "only_overdue": ("仅超时", "Overdue only"),
    "only_undecided": ("仅未定类别", "Undecided only"),
    "only_duplicates": ("仅疑似重复", "Likely duplicates only"),
    "sort_due": ("按期限排序", "Sort by due time"),
    "apply": ("筛选", "Apply"),
    "select": ("选择", "Select"),
    "select_all": ("全选", "Select all"),
    "bulk": ("批量办理所选", "Act on the selected"),
    "bulk_done": ("{ok} 件成功，{failed} 件未办理。", "{ok} done, {failed} not done."),
    "bulk_none": ("请先选择诉求。", "Select tickets first."),
    "outcome": ("结果", "Outcome"),
    # replies
    "kind": ("用途", "Use"),
    "kind.note": ("说明", "Note"),
    "kind.result": ("办理结果", "Result"),
    "save": ("保存", "Save"),
    "delete": ("删除", "Delete"),
    "no_replies": ("暂无常用回复。", "No saved replies yet."),
    # rejected feedback
    "mark_handled": ("标记为已处理", "Mark as handled"),
    "no_rejected": ("没有未处理的反馈。", "Nothing to act on."),
    # department
    "role.lead": ("主办", "lead"),
    "role.assist": ("协办", "assisting"),
    "feedback.acknowledged": ("签收", "Acknowledge"),
    "feedback.in_progress": ("办理中", "In progress"),
    "feedback.resolved": ("办结", "Resolve"),
    "feedback.rejected": ("退回：不属本部门", "Hand back: not ours"),
    "feedback.transfer_requested": ("退回：申请转派", "Hand back: transfer"),
    "no_dispatches": ("暂无派单。", "No dispatches."),
    "dispatch_status": ("派单状态", "Dispatch status"),
}

STATUS_WORDS = {
    "received": ("已受理", "received"), "assigned": ("代表办理中", "with the representative"),
    "forwarded": ("联络室办理中", "with the office"), "dispatched": ("已派单", "dispatched"),
    "in_progress": ("部门办理中", "in progress"), "resolved": ("已办结", "resolved"),
    "closed": ("已关闭", "closed"), "merged": ("已合并", "merged"), "rejected": ("不予受理", "rejected"),
    "sent": ("已派发", "sent"), "acknowledged": ("已签收", "acknowledged"),
    "withdrawn": ("已撤回", "withdrawn"), "transfer_requested": ("申请转派", "transfer requested"),
}


def pick_locale(asked, cookie, accept_languages):
    """The page's language: asked for (``?lang=``), else remembered, else the browser's."""
    for choice in (asked, cookie):
        if choice in LOCALES:
            return choice
    best = accept_languages.best_match(["zh-CN", "zh", "en"], default=DEFAULT_LOCALE)
    return "en" if best == "en" else DEFAULT_LOCALE


def say(locale, key, **values):
    text = WORDS[key][LOCALES.index(locale)]
    return text.format(**values) if values else text


def status_word(locale, status):
    return STATUS_WORDS.get(status, (status, status))[LOCALES.index(locale)]
