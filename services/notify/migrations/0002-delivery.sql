-- Sending: each notification is an outbox row, claimed by a sender for a lease,
-- retried with back-off, and finally sent, failed (parked, shown to operators) or
-- skipped (its channel is not configured). Every attempt is kept with its outcome.
ALTER TABLE ticket_reporters ADD COLUMN feedback_requested boolean;
UPDATE ticket_reporters SET feedback_requested = (contact IS NOT NULL);

ALTER TABLE notifications DROP CONSTRAINT notifications_status_check;
UPDATE notifications SET status = 'pending' WHERE status = 'recorded';
UPDATE notifications SET status = 'failed' WHERE status = 'parked';
ALTER TABLE notifications ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE notifications ADD CONSTRAINT notifications_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'skipped'));
-- the same key on every attempt: gateways and webhook receivers deduplicate by it
ALTER TABLE notifications ADD COLUMN idempotency_key text;
UPDATE notifications SET idempotency_key = 'zd-notification-' || id;
ALTER TABLE notifications ALTER COLUMN idempotency_key SET NOT NULL;
ALTER TABLE notifications ADD COLUMN attempts integer NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE notifications ADD COLUMN lease_until timestamptz;
ALTER TABLE notifications ADD COLUMN sent_at timestamptz;
ALTER TABLE notifications ADD COLUMN last_error text;
DROP INDEX notifications_to_send;
CREATE INDEX notifications_due ON notifications (channel, next_attempt_at) WHERE status = 'pending';

CREATE TABLE notification_attempts (
    id bigserial PRIMARY KEY,
    notification_id bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempt integer NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    outcome text NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed', 'skipped')),
    detail text,
    seconds double precision
);
CREATE INDEX notification_attempts_of ON notification_attempts (notification_id, id);
