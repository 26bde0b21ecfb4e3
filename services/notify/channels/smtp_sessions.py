"""The SMTP sessions the email channel keeps between messages (docs in
``services.notify.channels.email``): one per sender at once, each taken by one sender at
a time, closed after ``SESSION_IDLE_SECONDS`` unused or ``SESSION_MESSAGES`` messages,
reset (``RSET``) after a refused transaction; and the client that notes whether the
server accepted a transaction's ``MAIL`` (a failure before that delivered nothing)."""
import time

import eventlet

#: a kept session unused this long is closed: well before servers drop theirs (Postfix's
#: smtpd_timeout is 300 s), so few of them are found dropped when taken again
SESSION_IDLE_SECONDS = 30
#: messages one session carries before it is closed: servers limit them per connection
#: (Exim's smtp_accept_max_per_connection is 1000), and a long session holds memory there
SESSION_MESSAGES = 100
#: the most sessions kept open while nothing is sent on them, unless told how many senders
KEPT_SESSIONS = 32


class SmtpSessions:
    """The sessions kept open between messages, each taken by one sender at a time (green
    threads switch only on I/O, and a session is out of the list whenever anything is
    said on it)."""

    def __init__(self, idle_seconds=SESSION_IDLE_SECONDS, messages=SESSION_MESSAGES,
                 kept=KEPT_SESSIONS, clock=time.monotonic):
        self.idle_seconds, self.messages, self.most_kept = idle_seconds, messages, kept
        self.clock = clock
        self.idle = []  # sessions free to take, the most recently used last

    def take(self):
        """A kept session used recently enough, or None."""
        self.close_idle()
        return self.idle.pop() if self.idle else None

    def keep(self, session):
        """A session that carried a message, kept for the next one unless it carried enough;
        then closed without a word to the server: the message's outcome is known, and no
        answer awaited now may turn it (at the send's deadline) into a retry."""
        session.carried = getattr(session, "carried", 0) + 1
        if session.carried >= self.messages or len(self.idle) >= self.most_kept:
            return self.discard(session)
        session.idle_since = self.clock()
        self.idle.append(session)

    def reset_and_keep(self, session):
        """After a refused transaction: RSET, then kept; closed when that fails, is not
        answered 250, or meets the send's deadline (the refusal is what counts)."""
        try:
            code, _ = session.rset()
        except (Exception, eventlet.Timeout):  # closed already (a 421), lost, or too slow
            return self.discard(session)
        if code != 250:
            return self.discard(session)
        self.keep(session)

    def discard(self, session):
        try:
            session.close()
        except Exception:  # noqa: S110 - a socket that would not close is gone anyway
            pass

    def close_idle(self):
        now = self.clock()
        stale = [session for session in self.idle if now - session.idle_since > self.idle_seconds]
        if stale:
            self.idle = [session for session in self.idle if session not in stale]
            for session in stale:
                self.discard(session)

    def close_all(self):
        idle, self.idle = self.idle, []
        for session in idle:
            self._quit(session)

    def _quit(self, session):
        try:
            session.quit()
        except Exception:
            self.discard(session)


class _MailAccepted:
    """Notes whether the server accepted the transaction's ``MAIL`` command: a failure
    before that delivered nothing."""
    mail_accepted = False

    def mail(self, *args, **kwargs):
        answer = super().mail(*args, **kwargs)
        self.mail_accepted = answer[0] == 250
        return answer


_TRACKING = {}


def tracking(client):
    """``client`` (``smtplib.SMTP`` or ``SMTP_SSL``) that notes when ``MAIL`` is accepted."""
    if client not in _TRACKING:
        _TRACKING[client] = type(client.__name__, (_MailAccepted, client), {})
    return _TRACKING[client]
