"""What crosses notify's API: the operators' query of recorded notifications."""
from marshmallow import Schema, fields, validate

STATUSES = ("recorded", "sent", "failed", "parked")


class NotificationQuerySchema(Schema):
    ticket_id = fields.String(validate=validate.Length(1, 64))
    status = fields.String(validate=validate.OneOf(STATUSES))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class NotificationSchema(Schema):
    """A notification as operators see it: never its address."""
    id = fields.Integer()
    event_id = fields.String()
    ticket_id = fields.String()
    event_type = fields.String()
    recipient = fields.String(metadata={"example": "representative:rep-liu-hanli"})
    channel = fields.String(metadata={"enum": ["email", "sms", "wechat", "webhook"]})
    template = fields.String(metadata={"example": "ticket.assigned.representative"})
    locale = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    created_at = fields.AwareDateTime()


class NotificationListSchema(Schema):
    notifications = fields.List(fields.Nested(NotificationSchema))
