"""What crosses notify's API: the operators' view of notifications and their attempts."""
from marshmallow import Schema, fields, validate

STATUSES = ("pending", "sent", "failed", "skipped")
OUTCOMES = ("sent", "retry", "failed", "skipped")


class NotificationQuerySchema(Schema):
    ticket_id = fields.String(validate=validate.Length(1, 64))
    status = fields.String(validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class AttemptSchema(Schema):
    attempt = fields.Integer()
    at = fields.AwareDateTime()
    outcome = fields.String(metadata={"enum": list(OUTCOMES)})
    detail = fields.String(allow_none=True, metadata={"example": "HTTP 503"})
    seconds = fields.Float(allow_none=True)


class NotificationSchema(Schema):
    """A notification as operators see it: never its address nor its content."""
    id = fields.Integer()
    event_id = fields.String()
    ticket_id = fields.String(allow_none=True)  # null: rejected feedback that named no ticket
    event_type = fields.String()
    recipient = fields.String(metadata={"example": "representative:rep-liu-hanli"})
    channel = fields.String(metadata={"enum": ["email", "sms", "wechat", "webhook"]})
    template = fields.String(metadata={"example": "ticket.assigned.representative"})
    locale = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema))


class NotificationListSchema(Schema):
    notifications = fields.List(fields.Nested(NotificationSchema))
