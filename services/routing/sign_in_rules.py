"""The rules of signing in to the workbench with a one-time code: pure, no I/O.

Owns the shape and hashing of the secrets (a 6-digit code kept only as a salted, slow
hash; a session token kept as its sha256; a CSRF token), the policy of how long each
lives and how often one may ask (``SignInPolicy``, from the environment through
``services.common.config.sign_in_settings``), the answers to a refused code, and the
CSRF check. The use cases (``services.routing.use_cases.sign_in``) apply them to the
tables of ``services.routing.sign_in_store``.
"""
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from services.common.config import sign_in_settings
from services.common.errors import BadRequest, Forbidden, TooManyRequests

CODE_DIGITS = 6
CODE_SHAPE = re.compile(r"[0-9]{6}")
#: a code has a million values, so a stolen row can be guessed; the rounds make each guess
#: cost ~20 ms, so that the million take hours, far longer than a code lives
CODE_HASH_ROUNDS = 100_000
PERSON_ID_SHAPE = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
LONGEST_TOKEN = 256  # characters of a session token looked up; more is no token of ours
LONGEST_USER_AGENT = 256
MINUTE = timedelta(minutes=1)
#: a session's last_seen_at is written at most this often: one write a minute, not one a request
TOUCH_EVERY = MINUTE

FORGED_FORM = "The form is stale or forged: reload the page"


@dataclass(frozen=True)
class Limit:
    """At most ``times`` in any ``window``."""
    times: int
    window: timedelta


@dataclass(frozen=True)
class SignInPolicy:
    code_lifetime: timedelta = timedelta(minutes=10)
    idle_lifetime: timedelta = timedelta(minutes=120)
    session_lifetime: timedelta = timedelta(hours=12)
    attempts: int = 5  # wrong codes before the code is dead
    #: codes sent to one person: a few in a quarter of an hour, and a bound on a day's guesses
    codes_per_person: tuple = (Limit(5, timedelta(minutes=15)), Limit(20, timedelta(days=1)))
    #: code requests from one client address, known people or not (an office behind one NAT)
    codes_per_address: tuple = (Limit(20, timedelta(minutes=15)),)
    #: codes checked from one client address, right or wrong
    checks_per_address: tuple = (Limit(30, timedelta(minutes=15)),)

    @classmethod
    def from_environment(cls):
        """The policy with the lifetimes of ``ZD_SIGN_IN_CODE_MINUTES``,
        ``ZD_SESSION_IDLE_MINUTES`` and ``ZD_SESSION_HOURS``."""
        given = sign_in_settings()
        return cls(code_lifetime=timedelta(minutes=given["ZD_SIGN_IN_CODE_MINUTES"]),
                   idle_lifetime=timedelta(minutes=given["ZD_SESSION_IDLE_MINUTES"]),
                   session_lifetime=timedelta(hours=given["ZD_SESSION_HOURS"]))

    def longest_window(self):
        """How long a counted request matters to any limit."""
        return max(limit.window for limit in
                   (*self.codes_per_person, *self.codes_per_address, *self.checks_per_address))


def new_code():
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt():
    return secrets.token_hex(16)


def code_hash(code, salt):
    return hashlib.pbkdf2_hmac("sha256", code.encode(), bytes.fromhex(salt),
                               CODE_HASH_ROUNDS).hex()


def code_matches(code, salt, stored_hash):
    return hmac.compare_digest(code_hash(code, salt), stored_hash)


def new_session_token():
    return secrets.token_urlsafe(32)


def new_csrf_token():
    return secrets.token_urlsafe(32)


def token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_a_token(token):
    return isinstance(token, str) and 0 < len(token) <= LONGEST_TOKEN


def checked_person_id(person_id):
    """The sign-in id as given, trimmed, or BadRequest when it cannot be anyone's."""
    person_id = person_id.strip() if isinstance(person_id, str) else ""
    if not PERSON_ID_SHAPE.fullmatch(person_id):
        raise BadRequest("Enter the sign-in id the directory gives you.",
                         errors={"person_id": ["Enter your sign-in id (up to 64 characters)."]})
    return person_id


def checked_code(code):
    """The code as typed, spaces removed, or BadRequest when it is not 6 digits."""
    code = re.sub(r"\s", "", code) if isinstance(code, str) else ""
    if not CODE_SHAPE.fullmatch(code):
        raise _code_refused("The code is the 6 digits we sent you.")
    return code


def user_agent_kept(user_agent):
    """What is kept of a browser's User-Agent: printable, at most 256 characters."""
    if not isinstance(user_agent, str):
        return None
    return re.sub(r"[\x00-\x1f\x7f]", "", user_agent)[:LONGEST_USER_AGENT] or None


def no_code():
    return _code_refused("There is no code to check: ask for a new one.")


def code_expired():
    return _code_refused("The code has expired: ask for a new one.")


def code_dead():
    return _code_refused("Too many wrong codes: this code no longer works; ask for a new one.")


def wrong_code(attempts_left):
    if attempts_left <= 0:
        return _code_refused("Wrong code, and that was the last attempt: ask for a new one.",
                             attempts_left=0)
    return _code_refused(f"Wrong code: {attempts_left} attempt{'s' if attempts_left > 1 else ''}"
                         f" left.", attempts_left=attempts_left)


def _code_refused(detail, **extra):
    return BadRequest(detail, errors={"code": [detail]}, **extra)


def too_many(what, retry_after):
    """TooManyRequests for ``what`` (``codes`` or ``checks``), to try again in whole seconds."""
    wait = max(1, int(retry_after.total_seconds() + 0.999))
    minutes = max(1, round(wait / 60))
    detail = {"codes": "Too many codes asked for", "checks": "Too many codes checked"}[what]
    return TooManyRequests(f"{detail}: try again in {minutes} minute{'s' if minutes > 1 else ''}.",
                           retry_after=wait)


def check_csrf(session, submitted_token):
    """Forbidden unless ``submitted_token`` is the session's CSRF token."""
    if not isinstance(submitted_token, str) or not submitted_token or not hmac.compare_digest(
            submitted_token.encode(), session.csrf_token.encode()):
        raise Forbidden(FORGED_FORM)


def lifetime_over(started_at, last_seen_at, now, policy):
    """Why a session's time is up at ``now`` (``idle`` too long, or ``too old``), or None."""
    if now >= last_seen_at + policy.idle_lifetime:
        return "idle"
    if now >= started_at + policy.session_lifetime:
        return "too old"
    return None


def worth_touching(last_seen_at, now):
    return now - last_seen_at >= TOUCH_EVERY
