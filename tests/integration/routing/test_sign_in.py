"""Signing in to the workbench on routing's real database: a code asked for is announced
to notify through the outbox and kept only hashed; the right code opens a session, five
wrong ones kill it, an expired one is refused; the limits per person and per client
address hold in the database; an id the directory does not know is answered alike; a
session ends when idle, when old, when its person leaves the directory or changes party,
when a key of its party is revoked, and when signed out; a change needs the session's
form token; no secret reaches a log line."""
import copy
import hashlib
import logging
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from psycopg.rows import dict_row

from services.admin.use_cases import operations as ops
from services.common import events
from services.common.config import settings
from services.common.credentials import apply_credential_event, split_key
from services.common.directory import load_directory
from services.common.errors import BadRequest, Forbidden, Problem, TooManyRequests
from services.common.messaging import Envelope
from services.routing.use_cases import sign_in
from tests.support.system import DEMO_DIRECTORY, reset_database

REPRESENTATIVE = "rep-liu-hanli"
OFFICE_STAFF = "office-baiyun-wu"
ADDRESS = "203.0.113.7"
BROWSER = "Mozilla/5.0 (Linux; Android 14) Mobile"


def directory_with_staff(office_staff_in="baiyun"):
    """The demo directory, with ``OFFICE_STAFF`` in one district's liaison office."""
    directory = directory_without_staff()
    directory["districts"][office_staff_in]["office"]["staff"].append(
        {"id": OFFICE_STAFF, "name": "吴敏", "contact": {"phone": "+8613900000101"}})
    return directory


def directory_without_staff():
    """The demo directory, ``OFFICE_STAFF`` in no office."""
    directory = copy.deepcopy(load_directory(DEMO_DIRECTORY))
    for district in directory["districts"].values():
        office = district["office"]
        office["staff"] = [member for member in office.get("staff", [])
                           if member["id"] != OFFICE_STAFF]
    return directory


DIRECTORY = directory_with_staff()


def clock():
    return datetime.now(timezone.utc)


def connect():
    return psycopg.connect(settings().database_url, row_factory=dict_row,
                           options="-c search_path=routing")


@pytest.fixture
def conn():
    reset_database()
    with connect() as conn:
        yield conn


def ask(conn, now, person_id=REPRESENTATIVE, address=ADDRESS, directory=DIRECTORY, locale="en"):
    """Ask for a code as the page would, in a transaction of its own."""
    try:
        sign_in.request_code(conn, directory, person_id, address, locale, now)
    except Problem:
        conn.rollback()
        raise
    conn.commit()


def check(conn, code, now, person_id=REPRESENTATIVE, address=ADDRESS, directory=DIRECTORY):
    """Check a code as the page would: its transaction rolled back on a refusal."""
    try:
        started = sign_in.verify_code(conn, directory, person_id, code, address, BROWSER, now)
    except Problem:
        conn.rollback()
        raise
    conn.commit()
    return started


def refused(call, *args, **kwargs):
    with pytest.raises(Problem) as refusal:
        call(*args, **kwargs)
    return refusal.value


def sent_codes(conn):
    """The ``staff.sign_in_code`` rows of routing's outbox, oldest first."""
    return conn.execute("SELECT message_id, exchange, routing_key, type, body FROM outbox"
                        " WHERE type = 'staff.sign_in_code' ORDER BY id").fetchall()


def last_code(conn):
    return sent_codes(conn)[-1]["body"]["code"]


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def signed_in(conn, now, person_id=REPRESENTATIVE, directory=DIRECTORY):
    ask(conn, now, person_id, directory=directory)
    started = check(conn, last_code(conn), now, person_id, directory=directory)
    return started


def session_of(conn, token, now, directory=DIRECTORY):
    found = sign_in.session_of(conn, directory, token, now)
    conn.commit()
    return found


def sessions(conn):
    return conn.execute("SELECT * FROM staff_sessions ORDER BY session_id").fetchall()


def test_a_code_asked_for_is_announced_to_notify_and_kept_only_as_a_hash(conn):
    now = clock()
    ask(conn, now)
    (row,) = sent_codes(conn)
    code = row["body"]["code"]
    expires_at = now + timedelta(minutes=10)
    assert (row["exchange"], row["routing_key"]) == ("zd.events", "staff.sign_in_code")
    assert row["body"] == events.sign_in_code(REPRESENTATIVE, code, expires_at, "en").body
    assert row["message_id"].startswith("sign-in-code-")
    kept = conn.execute("SELECT * FROM sign_in_codes").fetchall()
    assert [(c["person_id"], c["expires_at"], c["failed_attempts"]) for c in kept] == [
        (REPRESENTATIVE, expires_at, 0)]
    stored = conn.execute(
        "SELECT (SELECT json_agg(c) FROM sign_in_codes c)::text AS codes,"
        " (SELECT json_agg(r) FROM sign_in_requests r)::text AS requests").fetchone()
    assert code not in stored["codes"] and code not in stored["requests"]


def test_a_code_goes_out_in_the_persons_language_or_in_chinese(conn):
    now = clock()
    ask(conn, now, locale="en")
    ask(conn, now, person_id=OFFICE_STAFF, locale="fr")
    assert [(row["body"]["person_id"], row["body"]["locale"]) for row in sent_codes(conn)] == [
        (REPRESENTATIVE, "en"), (OFFICE_STAFF, "zh-CN")]


def test_the_right_code_opens_a_session_once(conn):
    now = clock()
    ask(conn, now)
    code = last_code(conn)
    started = check(conn, code, now + timedelta(minutes=9))
    assert started.person.id == REPRESENTATIVE
    assert started.person.party == "representative:rep-liu-hanli"
    assert started.expires_at == now + timedelta(minutes=9, hours=12)
    (row,) = sessions(conn)
    assert row["token_hash"] == hashlib.sha256(started.token.encode()).hexdigest()
    assert started.token not in str(row) and row["user_agent"] == BROWSER
    assert (row["person_id"], row["party"], row["client_address"]) == (
        REPRESENTATIVE, "representative:rep-liu-hanli", ADDRESS)
    found = session_of(conn, started.token, now + timedelta(minutes=10))
    assert (found.session_id, found.person, found.csrf_token) == (
        row["session_id"], started.person, started.csrf_token)
    again = refused(check, conn, code, now + timedelta(minutes=9))
    assert again.detail == "There is no code to check: ask for a new one."


def test_office_staff_sign_in_as_themselves_for_their_office(conn):
    started = signed_in(conn, clock(), OFFICE_STAFF)
    assert (started.person.id, started.person.name, started.person.party) == (
        OFFICE_STAFF, "吴敏", "congress:baiyun")


def test_five_wrong_codes_kill_the_code_and_the_sixth_attempt_fails_even_when_right(conn):
    now = clock()
    ask(conn, now)
    code = last_code(conn)
    for left in (4, 3, 2, 1):
        refusal = refused(check, conn, wrong(code), now)
        assert isinstance(refusal, BadRequest) and refusal.status == 400
        assert refusal.errors == {"code": [f"Wrong code: {left} attempt{'s' if left > 1 else ''}"
                                           f" left."]}
        assert refusal.extra == {"attempts_left": left}
    last = refused(check, conn, wrong(code), now)
    assert last.detail == "Wrong code, and that was the last attempt: ask for a new one."
    sixth = refused(check, conn, code, now)
    assert sixth.errors == {"code": [
        "Too many wrong codes: this code no longer works; ask for a new one."]}
    assert sessions(conn) == []


def test_an_expired_code_is_refused(conn):
    now = clock()
    ask(conn, now)
    refusal = refused(check, conn, last_code(conn), now + timedelta(minutes=10))
    assert refusal.status == 400
    assert refusal.errors == {"code": ["The code has expired: ask for a new one."]}
    assert sessions(conn) == []


def test_a_code_that_is_not_six_digits_is_refused_and_costs_no_attempt(conn):
    now = clock()
    ask(conn, now)
    for typed in ("12345", "abcdef", ""):
        assert refused(check, conn, typed, now).errors == {
            "code": ["The code is the 6 digits we sent you."]}
    assert check(conn, last_code(conn), now).person.id == REPRESENTATIVE


def test_a_new_code_replaces_the_unused_one(conn):
    now = clock()
    ask(conn, now)
    first = last_code(conn)
    ask(conn, now + timedelta(minutes=1))
    second = last_code(conn)
    if first != second:  # one draw in a million gives the same code again
        assert refused(check, conn, first, now + timedelta(minutes=2)).extra == {
            "attempts_left": 4}
    assert check(conn, second, now + timedelta(minutes=2)).person.id == REPRESENTATIVE


def test_codes_for_one_person_are_limited_from_whatever_address(conn):
    now = clock()
    for n in range(5):
        ask(conn, now + timedelta(minutes=n), address=f"198.51.100.{n}")
    refusal = refused(ask, conn, now + timedelta(minutes=5), address="198.51.100.99")
    assert isinstance(refusal, TooManyRequests) and refusal.status == 429
    assert refusal.extra == {"retry_after": 10 * 60}  # the first one leaves the window then
    assert refusal.detail == "Too many codes asked for: try again in 10 minutes."
    assert len(sent_codes(conn)) == 5
    ask(conn, now + timedelta(minutes=15, seconds=1), address="198.51.100.99")
    ask(conn, now + timedelta(minutes=5), person_id=OFFICE_STAFF)  # another person's own limit
    assert len(sent_codes(conn)) == 7


def test_codes_for_one_person_are_limited_over_a_day_as_well(conn):
    now = clock()
    for quarter in range(4):
        for n in range(5):
            ask(conn, now + timedelta(minutes=16 * quarter + n), address=f"198.51.100.{n}")
    later = now + timedelta(minutes=64)
    refusal = refused(ask, conn, later, address="198.51.100.99")
    assert refusal.extra == {"retry_after": int((now + timedelta(days=1) - later).total_seconds())}
    ask(conn, now + timedelta(days=1, seconds=1))


def test_code_requests_from_one_address_are_limited_known_people_or_not(conn):
    now = clock()
    for n in range(19):
        ask(conn, now, person_id=f"rep-nobody-{n}")
    ask(conn, now)
    refusal = refused(ask, conn, now, person_id=OFFICE_STAFF)
    assert refusal.status == 429 and refusal.extra == {"retry_after": 15 * 60}
    ask(conn, now, person_id=OFFICE_STAFF, address="198.51.100.1")
    assert [row["body"]["person_id"] for row in sent_codes(conn)] == [REPRESENTATIVE, OFFICE_STAFF]


def test_two_routing_instances_counting_for_one_address_take_turns(conn):
    now = clock()
    for n in range(19):
        ask(conn, now, person_id=f"rep-nobody-{n}")
    sign_in.request_code(conn, DIRECTORY, REPRESENTATIVE, ADDRESS, "en", now)  # the 20th
    with psycopg.connect(settings().database_url, row_factory=dict_row,
                         options="-c search_path=routing -c lock_timeout=200") as other:
        with pytest.raises(psycopg.errors.LockNotAvailable):  # it waits for the first to end
            sign_in.request_code(other, DIRECTORY, OFFICE_STAFF, ADDRESS, "en", now)
        other.rollback()
        conn.commit()
        refusal = refused(sign_in.request_code, other, DIRECTORY, OFFICE_STAFF, ADDRESS, "en", now)
        assert refusal.status == 429
    assert [row["body"]["person_id"] for row in sent_codes(conn)] == [REPRESENTATIVE]


def test_code_checks_from_one_address_are_limited(conn):
    now = clock()
    ask(conn, now, address="198.51.100.1")
    for n in range(30):
        assert refused(check, conn, "000000", now, person_id=f"rep-nobody-{n}").status == 400
    refusal = refused(check, conn, last_code(conn), now)
    assert refusal.status == 429 and refusal.extra == {"retry_after": 15 * 60}
    assert refusal.detail == "Too many codes checked: try again in 15 minutes."
    assert check(conn, last_code(conn), now, address="198.51.100.1").person.id == REPRESENTATIVE


def test_an_unknown_id_is_answered_as_a_known_one_and_sent_nothing(conn):
    now = clock()
    ask(conn, now, person_id="rep-nobody")
    ask(conn, now)
    assert [row["body"]["person_id"] for row in sent_codes(conn)] == [REPRESENTATIVE]
    answers = {}
    for person_id in ("rep-nobody", REPRESENTATIVE):
        answers[person_id] = [(problem.status, problem.detail, problem.errors, problem.extra)
                              for problem in (refused(check, conn, "000000", now, person_id),
                                              refused(check, conn, "000000", now, person_id))]
        answers[person_id].append(refused(check, conn, "000000", now + timedelta(minutes=10),
                                          person_id).detail)
    assert answers["rep-nobody"] == answers[REPRESENTATIVE]
    assert answers["rep-nobody"][0][2] == {"code": ["Wrong code: 4 attempts left."]}
    never_asked = [refused(check, conn, "000000", now, person_id).detail
                   for person_id in ("rep-nobody-2", "rep-zhao-min")]
    assert never_asked == ["There is no code to check: ask for a new one."] * 2


def test_an_unknown_ids_requests_count_against_the_person_too(conn):
    now = clock()
    for _ in range(5):
        ask(conn, now, person_id="rep-nobody")
    assert refused(ask, conn, now, person_id="rep-nobody", address="198.51.100.1").status == 429


def test_a_session_lives_while_used_and_ends_when_idle(conn):
    now = clock()
    started = signed_in(conn, now)
    later = now
    for _ in range(3):  # 357 minutes in all, never 120 without a request
        later += timedelta(minutes=119)
        assert session_of(conn, started.token, later).last_seen_at == later
    assert session_of(conn, started.token, later + timedelta(minutes=120)) is None
    assert sessions(conn) == []


def test_a_session_ends_after_its_hours_however_busy(conn):
    now = clock()
    started = signed_in(conn, now)
    for hours in range(1, 12):
        assert session_of(conn, started.token, now + timedelta(hours=hours)) is not None
    assert session_of(conn, started.token, now + timedelta(hours=12)) is None
    assert sessions(conn) == []


def test_a_session_is_written_at_most_once_a_minute(conn):
    now = clock()
    started = signed_in(conn, now)
    found = session_of(conn, started.token, now + timedelta(seconds=59))
    assert found.last_seen_at == now and sessions(conn)[0]["last_seen_at"] == now
    found = session_of(conn, started.token, now + timedelta(seconds=61))
    assert sessions(conn)[0]["last_seen_at"] == now + timedelta(seconds=61) == found.last_seen_at


def test_an_unknown_or_malformed_token_has_no_session(conn):
    now = clock()
    signed_in(conn, now)
    for token in ("not-a-session", "", None, "x" * 5000):
        assert session_of(conn, token, now) is None
    assert len(sessions(conn)) == 1


def test_a_session_ends_when_its_person_leaves_the_directory(conn):
    now = clock()
    started = signed_in(conn, now, OFFICE_STAFF)
    without = directory_without_staff()
    assert session_of(conn, started.token, now, directory=without) is None
    assert session_of(conn, started.token, now) is None, "the session is gone, not paused"
    assert sessions(conn) == []


def test_a_session_ends_when_its_person_moves_to_another_party(conn):
    now = clock()
    started = signed_in(conn, now, OFFICE_STAFF)
    moved = directory_with_staff(office_staff_in="tianhe")
    assert session_of(conn, started.token, now, directory=moved) is None
    assert sessions(conn) == []


def test_the_code_of_someone_who_left_the_directory_opens_nothing(conn):
    now = clock()
    ask(conn, now, OFFICE_STAFF)
    without = directory_without_staff()
    refusal = refused(check, conn, last_code(conn), now, OFFICE_STAFF, directory=without)
    assert refusal.extra == {"attempts_left": 4}
    assert sessions(conn) == []


@pytest.fixture
def admin(clean_system):
    """The admin CLI on a fresh system, and routing's connection."""
    admin = ops.Admin.open()
    try:
        with connect() as conn:
            yield admin, conn
    finally:
        admin.close()


def apply_admin_events(admin, conn, key_id):
    """Apply to routing's credentials the admin's events about ``key_id``, as routing's
    consumer does."""
    with admin.pool.connection() as admin_conn:
        rows = admin_conn.execute("SELECT message_id, type, body FROM outbox"
                                  " WHERE body ->> 'key_id' = %s ORDER BY id", (key_id,)).fetchall()
    for row in rows:
        apply_credential_event(conn, Envelope(row["message_id"], row["type"], row["body"]))
    conn.commit()
    return [row["type"] for row in rows]


def test_a_session_ends_when_a_key_of_its_party_is_revoked(admin):
    admin, conn = admin
    key_id, _ = split_key(ops.issue_key(admin, "representative:rep-liu-hanli"))
    assert apply_admin_events(admin, conn, key_id) == ["credential.issued"]
    started = signed_in(conn, clock())
    other = signed_in(conn, clock(), OFFICE_STAFF)
    assert session_of(conn, started.token, clock()) is not None
    ops.revoke_key(admin, key_id)
    assert apply_admin_events(admin, conn, key_id) == ["credential.issued", "credential.revoked"]
    assert session_of(conn, started.token, clock()) is None
    assert [row["person_id"] for row in sessions(conn)] == [OFFICE_STAFF]
    assert session_of(conn, other.token, clock()) is not None


def test_a_key_revoked_before_the_session_started_does_not_end_it(admin):
    admin, conn = admin
    key_id, _ = split_key(ops.issue_key(admin, "representative:rep-liu-hanli"))
    ops.revoke_key(admin, key_id)
    apply_admin_events(admin, conn, key_id)
    started = signed_in(conn, clock())
    assert session_of(conn, started.token, clock()).person.id == REPRESENTATIVE


def test_a_change_needs_the_sessions_form_token(conn):
    now = clock()
    started = signed_in(conn, now)
    found = session_of(conn, started.token, now)
    sign_in.check_csrf(found, started.csrf_token)
    other = signed_in(conn, now, OFFICE_STAFF)
    for submitted in (None, "", other.csrf_token):
        refusal = refused(sign_in.check_csrf, found, submitted)
        assert isinstance(refusal, Forbidden) and refusal.status == 403
        assert refusal.detail == "The form is stale or forged: reload the page"


def test_signing_out_ends_that_session_only(conn):
    now = clock()
    phone, desk = signed_in(conn, now), signed_in(conn, now)
    sign_in.sign_out(conn, phone.token)
    sign_in.sign_out(conn, "not-a-session")
    conn.commit()
    assert session_of(conn, phone.token, now) is None
    assert session_of(conn, desk.token, now).person.id == REPRESENTATIVE


def test_every_session_of_a_person_can_be_ended_at_once(conn):
    now = clock()
    phone, desk, office = (signed_in(conn, now), signed_in(conn, now),
                           signed_in(conn, now, OFFICE_STAFF))
    assert sign_in.end_sessions_of(conn, REPRESENTATIVE) == 2
    conn.commit()
    assert [session_of(conn, started.token, now) is None for started in (phone, desk, office)] == [
        True, True, False]


def test_what_no_longer_serves_is_forgotten(conn):
    now = clock()
    idle = signed_in(conn, now)
    ask(conn, now, OFFICE_STAFF)
    busy = signed_in(conn, now, "rep-zhao-min")
    assert session_of(conn, busy.token, now + timedelta(minutes=100)) is not None
    conn.execute("UPDATE outbox SET published_at = now()")
    conn.commit()
    forgotten = sign_in.forget_expired(conn, now + timedelta(minutes=120))
    conn.commit()
    assert forgotten == {"codes": 1, "sessions": 1, "requests": 0, "code_messages": 3}
    assert session_of(conn, idle.token, now + timedelta(minutes=120)) is None
    assert [row["person_id"] for row in sessions(conn)] == ["rep-zhao-min"]
    assert sent_codes(conn) == []
    later = sign_in.forget_expired(conn, now + timedelta(days=1, seconds=1))
    conn.commit()
    # three codes asked for, each counted for its person and its address; two checked
    assert later["requests"] == 8 and later["sessions"] == 1
    assert conn.execute("SELECT count(*) AS left FROM sign_in_requests").fetchone()["left"] == 0


def test_an_unpublished_code_message_is_kept_for_the_relay(conn):
    now = clock()
    ask(conn, now)
    forgotten = sign_in.forget_expired(conn, now + timedelta(hours=1))
    conn.commit()
    assert forgotten["code_messages"] == 0 and len(sent_codes(conn)) == 1


def test_no_code_token_or_form_token_reaches_a_log_line(conn, caplog):
    caplog.set_level(logging.DEBUG)
    now = clock()
    ask(conn, now)
    code = last_code(conn)
    refused(check, conn, wrong(code), now)
    started = check(conn, code, now)
    ask(conn, now, person_id="rep-nobody")
    refused(check, conn, "123456", now, person_id="rep-nobody")
    found = session_of(conn, started.token, now + timedelta(minutes=5))
    refused(sign_in.check_csrf, found, "forged")
    session_of(conn, started.token, now + timedelta(hours=13))
    again = signed_in(conn, now)
    sign_in.sign_out(conn, again.token)
    for n in range(5):
        ask(conn, now, "rep-zhao-min", address=f"198.51.100.{n}")
    assert refused(ask, conn, now, "rep-zhao-min").status == 429
    sign_in.forget_expired(conn, now + timedelta(days=2))
    secrets = {code, wrong(code), started.token, started.csrf_token, again.token,
               again.csrf_token, *(row["body"]["code"] for row in sent_codes(conn))}
    logged = [record.getMessage() + repr(record.args) for record in caplog.records]
    assert any("session" in line for line in logged) and any("wrong" in line for line in logged)
    assert [line for line in logged if any(secret in line for secret in secrets)] == []
