-- A sign-in code is claimed before whatever else waits on its channel: its own small index.
CREATE INDEX notifications_urgent_due ON notifications (channel, next_attempt_at, id)
    WHERE status = 'pending' AND template = 'staff.sign_in_code.staff';
