"""What a workbench form means: the same commands the API takes, loaded by the same schemas.

A form posts flat fields; ``action_command`` turns them into the body of
``POST /api/v1/tickets/{id}/actions`` (departments as ``{lead, assist}``, a due time
typed in the district's local time made aware, a saved reply standing in for an empty
note or result) and loads it with ``ActionSchema``, so a form can ask for nothing the
API would refuse. ``feedback_body`` does the same for a department's answer with
``FeedbackSchema``. Pure: no I/O.
"""
from datetime import datetime
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

from services.routing.schemas import ActionSchema, FeedbackSchema

TEXT_FIELDS = ("note", "result", "reason", "into", "representative", "category", "rating",
               "comment")
#: the field a saved reply fills when it is left empty, per action
REPLY_FILLS = {"resolve": "result", "forward": "note", "reject": "reason", "dispatch": "note",
               "escalate": "note", "reassign": "note", "merge": "note"}
#: a department's answer on the page, and the feedback field its text goes to
ANSWER_TEXT = {"acknowledged": "note", "in_progress": "note", "resolved": "result",
               "rejected": "note", "transfer_requested": "note"}


def action_command(form, timezone, replies=()):
    """The action a ticket's form asks for, loaded by ``ActionSchema`` (ValidationError)."""
    command = {"action": form.get("action", "")}
    for name in TEXT_FIELDS:
        value = (form.get(name) or "").strip()
        if value:
            command[name] = value
    fills = REPLY_FILLS.get(command["action"])
    reply = next((reply for reply in replies if str(reply["reply_id"]) == form.get("reply")), None)
    if fills and reply is not None and fills not in command:
        command[fills] = reply["text"]
    if form.get("lead"):
        command["departments"] = {"lead": form["lead"], "assist": [
            code for code in form.getlist("assist") if code and code != form["lead"]]}
    if form.get("due_at"):
        command["due_at"] = _aware(form["due_at"], timezone)
    if form.get("version"):
        command["version"] = form["version"]
    return ActionSchema().load(command)


def _aware(local_time, timezone):
    """A ``datetime-local`` value (``2026-12-07T18:00``) in the district's time, as ISO."""
    try:
        return datetime.fromisoformat(local_time).replace(tzinfo=ZoneInfo(timezone)).isoformat()
    except ValueError:
        raise ValidationError({"due_at": ["Not a date and time."]}) from None


def feedback_body(dispatch_id, form):
    """A department's answer on the page as the feedback of docs/reference.md#department-feedback."""
    status, text = form.get("status", ""), (form.get("text") or "").strip()
    body = {"dispatch_id": dispatch_id, "status": status}
    if text:
        body[ANSWER_TEXT.get(status, "note")] = text
    FeedbackSchema().load(body)
    return body
