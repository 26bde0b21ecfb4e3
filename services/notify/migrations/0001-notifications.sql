-- Notify's own tables: the feedback contact of each reporter (kept from
-- concern.received), ticket events waiting for their concern, and every
-- notification recorded for sending.

-- One row per concern seen; contact {name, phone, email} only when the reporter
-- asked for feedback, else null. It never leaves this schema except to the reporter.
CREATE TABLE ticket_reporters (
    ticket_id text PRIMARY KEY,
    contact jsonb,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Ticket events the reporter may hear of that came before their concern.received:
-- held until it tells whether (and how) the reporter asked for feedback.
CREATE TABLE held_events (
    event_id text PRIMARY KEY,
    ticket_id text NOT NULL,
    event_type text NOT NULL,
    ticket jsonb NOT NULL,
    entry jsonb NOT NULL,
    held_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX held_events_ticket ON held_events (ticket_id);

-- status: recorded (not yet sent), then sent, failed or parked.
CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    event_id text NOT NULL,
    ticket_id text NOT NULL,
    event_type text NOT NULL,
    recipient text NOT NULL,
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'wechat', 'webhook')),
    address text NOT NULL,
    template text NOT NULL,
    locale text NOT NULL DEFAULT 'zh-CN',
    params jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'recorded'
        CHECK (status IN ('recorded', 'sent', 'failed', 'parked')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, recipient, channel)
);
CREATE INDEX notifications_ticket ON notifications (ticket_id, id);
CREATE INDEX notifications_to_send ON notifications (id) WHERE status = 'recorded';
-- A department hears of each dispatch once, whichever ticket event carried it.
CREATE UNIQUE INDEX notifications_one_per_dispatch
    ON notifications ((params ->> 'dispatch_id'), recipient, channel)
    WHERE params ->> 'dispatch_id' IS NOT NULL;
