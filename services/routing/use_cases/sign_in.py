"""Signing in to the workbench: a one-time code sent to a person of the directory, then a
session, until it is signed out, idle or old, or its person is no longer who they were.

The workbench's pages call these and set their cookies from what they return:

- ``request_code``: a fresh 6-digit code for a person, kept hashed, announced to notify
  with ``staff.sign_in_code`` through the outbox in the same transaction (notify sends it
  to the person's directory contact). An id the directory does not know is answered alike
  and gets a code row too, of a code nobody is sent: every later answer about it is
  the same as about a known person's, so the answers tell nothing of who exists.
- ``verify_code``: the code checked, a session started (``NewSession``: its token, the
  only copy, and its CSRF token).
- ``session_of``: the live session of a token, else None (and the session is deleted).
- ``check_csrf``, ``sign_out``, ``end_sessions_of``, ``forget_expired`` (the hourly
  clean-up).

Limits (``SignInPolicy``): codes per person and per client address, checks per client
address, counted in routing's database so that they hold across its instances; a code
dies after ``attempts`` wrong ones. Codes, tokens and CSRF tokens never reach a log line.
Times are the caller's ``now`` (UTC), but for a key's revocation, which routing records
when the event comes.
"""
import logging
from dataclasses import dataclass
from datetime import datetime

from services.common import events
from services.common.errors import BadRequest
from services.common.outbox import emit_events
from services.common.people import Person, find_person
from services.routing import sign_in_rules as rules
from services.routing import sign_in_store as store
from services.routing.sign_in_rules import SignInPolicy, check_csrf

__all__ = ["NewSession", "Session", "SignInPolicy", "check_csrf", "end_sessions_of",
           "forget_expired", "request_code", "session_of", "sign_out", "verify_code"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewSession:
    """A session just started: ``token`` is its only copy (the cookie's value)."""
    token: str
    csrf_token: str
    person: Person
    expires_at: datetime  # the latest it can last; idle, it ends sooner


@dataclass(frozen=True)
class Session:
    session_id: int
    person: Person
    csrf_token: str
    started_at: datetime
    last_seen_at: datetime


def request_code(conn, directory, person_id, client_address, locale, now, *, policy=None):
    """Send ``person_id`` a fresh code (replacing an unused one), valid for the policy's
    ``code_lifetime``. BadRequest for an id that cannot be anyone's; TooManyRequests (with
    ``retry_after``) past the limits of the person or of ``client_address``."""
    policy = policy or SignInPolicy.from_environment()
    person_id = rules.checked_person_id(person_id)
    _take_turns(conn, "codes", now, (_codes_for(person_id), policy.codes_per_person),
                (_asked_from(client_address, "codes"), policy.codes_per_address))
    code, salt = rules.new_code(), rules.new_salt()
    expires_at = now + policy.code_lifetime
    store.replace_code(conn, person_id, rules.code_hash(code, salt), salt, now, expires_at)
    person = find_person(directory, person_id)
    if person is None:
        log.info("a sign-in code was asked for an id the directory does not know: none sent")
        return
    emit_events(conn, events.sign_in_code(person.id, code, expires_at, _locale(locale)))
    log.info("sign-in code for %s sent, valid until %s", person.id, expires_at.isoformat())


def verify_code(conn, directory, person_id, code, client_address, user_agent, now, *,
                policy=None):
    """The session that ``code`` opens for ``person_id``; the code is used up.

    Call it alone in its transaction: a refused check and a wrong code are committed
    before the refusal is raised, so that they count whatever the caller does next.
    BadRequest (``errors["code"]``) for no code, an expired one, one dead of too many
    wrong attempts, a wrong one (``attempts_left`` says how many remain); TooManyRequests
    past the checks of ``client_address``."""
    policy = policy or SignInPolicy.from_environment()
    person_id = rules.checked_person_id(person_id)
    _take_turns(conn, "checks", now, (_asked_from(client_address, "checks"),
                                      policy.checks_per_address))
    try:
        person = _code_holder(conn, directory, person_id, code, now, policy)
    except BadRequest:
        conn.commit()
        raise
    token, csrf_token = rules.new_session_token(), rules.new_csrf_token()
    session_id = store.insert_session(conn, rules.token_hash(token), csrf_token, person, now,
                                      client_address, rules.user_agent_kept(user_agent))
    log.info("session %s of %s (%s) started", session_id, person.id, person.party)
    return NewSession(token, csrf_token, person, now + policy.session_lifetime)


def session_of(conn, directory, token, now, *, policy=None):
    """The live session of ``token``, or None: unknown, idle or old, its person gone from
    the directory or now of another party, or a key of its party revoked since it started.
    A session found over is deleted."""
    policy = policy or SignInPolicy.from_environment()
    if not rules.looks_like_a_token(token):
        return None
    row = store.session_by_token(conn, rules.token_hash(token))
    if row is None:
        return None
    person = find_person(directory, row["person_id"])
    why_over = _why_over(conn, row, person, now, policy)
    if why_over:
        store.delete_session(conn, row["session_id"])
        log.info("session %s of %s ended: %s", row["session_id"], row["person_id"], why_over)
        return None
    last_seen_at = row["last_seen_at"]
    if rules.worth_touching(last_seen_at, now):
        store.touch_session(conn, row["session_id"], now)
        last_seen_at = now
    return Session(row["session_id"], person, row["csrf_token"], row["started_at"], last_seen_at)


def sign_out(conn, token):
    """End the session of ``token``, if there is one."""
    if rules.looks_like_a_token(token):
        session_id = store.delete_session_by_token(conn, rules.token_hash(token))
        if session_id is not None:
            log.info("session %s signed out", session_id)


def end_sessions_of(conn, person_id):
    """End every session of the person; returns how many there were."""
    ended = store.delete_sessions_of(conn, person_id)
    if ended:
        log.info("%s sessions of %s ended", ended, person_id)
    return ended


def forget_expired(conn, now, *, policy=None):
    """Delete what no longer serves at ``now``: expired codes, sessions over, counted
    requests past every limit's window, published code messages of expired codes.
    Returns ``{kind: rows}``."""
    forgotten = store.forget_expired(conn, now, policy or SignInPolicy.from_environment())
    if any(forgotten.values()):
        log.info("sign-in records forgotten: %s", forgotten)
    return forgotten


def _take_turns(conn, what, now, *buckets):
    """Count one request in each ``(bucket, limits)``, or TooManyRequests (counting none)
    when one of them has no room. Buckets are locked in the order given."""
    waits = [store.requests_over(conn, bucket, limits, now) for bucket, limits in buckets]
    waits = [wait for wait in waits if wait is not None]
    if waits:
        log.info("sign-in refused: too many %s", what)
        raise rules.too_many(what, max(waits))
    for bucket, _ in buckets:
        store.count_request(conn, bucket, now)


def _code_holder(conn, directory, person_id, code, now, policy):
    """The person ``code`` signs in, the code used up; else BadRequest. A right guess at
    the code of an id the directory does not know (or no longer knows) is a wrong code."""
    code = rules.checked_code(code)
    row = store.lock_code(conn, person_id)
    if row is None:
        raise rules.no_code()
    if row["expires_at"] <= now:
        raise rules.code_expired()
    if row["failed_attempts"] >= policy.attempts:
        raise rules.code_dead()
    matches = rules.code_matches(code, row["salt"], row["code_hash"])  # for nobody too: as slow
    person = find_person(directory, person_id)
    if person is None or not matches:
        failed = store.count_wrong_code(conn, person_id)
        log.info("wrong sign-in code (%s of %s) for %s", failed, policy.attempts,
                 person.id if person else "an id the directory does not know")
        raise rules.wrong_code(policy.attempts - failed)
    store.delete_code(conn, person_id)
    return person


def _why_over(conn, row, person, now, policy):
    """Why the session of ``row`` is over at ``now``, or None while it lives."""
    over = rules.lifetime_over(row["started_at"], row["last_seen_at"], now, policy)
    if over:
        return over
    if person is None:
        return "the person is no longer in the directory"
    if person.party != row["party"]:
        return f"the person now acts for {person.party}"
    if store.party_key_revoked_since(conn, row["party"], row["started_at"]):
        return f"a key of {row['party']} was revoked"
    return None


def _codes_for(person_id):
    return f"codes-for:{person_id}"


def _asked_from(client_address, what):
    return f"{what}-from:{client_address or ''}"


def _locale(locale):
    return locale if locale in events.LOCALES else events.DEFAULT_LOCALE
