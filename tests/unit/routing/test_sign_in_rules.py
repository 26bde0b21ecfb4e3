"""The pure rules of signing in to the workbench: the secrets' shapes and hashes, the
answers to a refused code or a forged form, a session's lifetime, the policy read from the
environment, and the people found in the directory."""
import hashlib
import re
from datetime import datetime, timedelta, timezone

import pytest

from services.common import events
from services.common.errors import BadRequest, Forbidden, TooManyRequests
from services.common.people import find_person
from services.routing import sign_in_rules as rules
from services.routing.sign_in_rules import SignInPolicy
from services.routing.use_cases.sign_in import Session

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
DIRECTORY = {
    "representatives": {"rep-liu": {"id": "rep-liu", "name": "刘汉立", "district": "baiyun",
                                    "contact": {"phone": "+8613800000001"}}},
    "districts": {
        "baiyun": {"code": "baiyun", "office": {"name": "联络室", "staff": [
            {"id": "office-baiyun-wu", "name": "吴敏", "contact": {"phone": "+8613900000002"}}]}},
        "tianhe": {"code": "tianhe", "office": {"name": "联络室"}},
    },
    "departments": {
        "baiyun-water": {"code": "baiyun-water", "staff": [
            {"id": "water-baiyun-he", "name": "何平", "contact": {"email": "he@water.example"}}]},
        "tianhe-roads": {"code": "tianhe-roads"},
    },
}


def session(csrf_token="the-form-token"):
    return Session(1, find_person(DIRECTORY, "rep-liu"), csrf_token, NOW, NOW)


def test_a_code_is_six_random_digits():
    codes = {rules.new_code() for _ in range(200)}
    assert all(re.fullmatch(r"[0-9]{6}", code) for code in codes)
    assert len(codes) > 190


def test_a_code_is_kept_as_a_salted_hash_that_only_the_code_matches():
    salt, other_salt = rules.new_salt(), rules.new_salt()
    kept = rules.code_hash("012345", salt)
    assert "012345" not in kept and kept != rules.code_hash("012345", other_salt)
    assert rules.code_matches("012345", salt, kept)
    assert not rules.code_matches("012346", salt, kept)
    assert not rules.code_matches("012345", other_salt, kept)


def test_a_session_token_is_long_random_and_kept_as_its_sha256():
    token = rules.new_session_token()
    assert len(token) >= 43 and token != rules.new_session_token()
    assert rules.token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert rules.new_csrf_token() != rules.new_csrf_token()
    assert rules.looks_like_a_token(token)
    assert not any(rules.looks_like_a_token(given) for given in (None, "", 5, "x" * 257))


def test_a_sign_in_id_is_trimmed_and_one_that_cannot_be_anyones_is_refused():
    assert rules.checked_person_id("  rep-liu ") == "rep-liu"
    for given in (None, "", "   ", "rep\nliu", "rep\x00", "r" * 65, 42):
        with pytest.raises(BadRequest) as refused:
            rules.checked_person_id(given)
        assert list(refused.value.errors) == ["person_id"]


def test_a_code_is_read_without_spaces_and_anything_but_six_digits_is_refused():
    assert rules.checked_code(" 012 345 ") == "012345"
    for given in (None, "", "01234", "0123456", "abcdef", "０１２３４５", 12345):
        with pytest.raises(BadRequest) as refused:
            rules.checked_code(given)
        assert refused.value.errors == {"code": ["The code is the 6 digits we sent you."]}


@pytest.mark.parametrize("refusal, detail", [
    (rules.no_code(), "There is no code to check: ask for a new one."),
    (rules.code_expired(), "The code has expired: ask for a new one."),
    (rules.code_dead(), "Too many wrong codes: this code no longer works; ask for a new one."),
    (rules.wrong_code(3), "Wrong code: 3 attempts left."),
    (rules.wrong_code(1), "Wrong code: 1 attempt left."),
    (rules.wrong_code(0), "Wrong code, and that was the last attempt: ask for a new one."),
])
def test_each_refused_code_is_a_bad_request_that_says_why_on_the_code_field(refusal, detail):
    assert isinstance(refusal, BadRequest) and refusal.status == 400
    assert refusal.detail == detail and refusal.errors == {"code": [detail]}


def test_a_wrong_code_tells_how_many_attempts_are_left():
    assert rules.wrong_code(2).extra == {"attempts_left": 2}
    assert rules.wrong_code(-1).extra == {"attempts_left": 0}


def test_too_many_requests_says_when_to_try_again_in_whole_seconds():
    refused = rules.too_many("codes", timedelta(minutes=4, seconds=0.2))
    assert isinstance(refused, TooManyRequests) and refused.status == 429
    assert refused.extra == {"retry_after": 241}
    assert refused.detail == "Too many codes asked for: try again in 4 minutes."
    soon = rules.too_many("checks", timedelta(seconds=0.01))
    assert soon.extra == {"retry_after": 1}
    assert soon.detail == "Too many codes checked: try again in 1 minute."


def test_the_form_token_of_the_session_passes():
    rules.check_csrf(session(), "the-form-token")


@pytest.mark.parametrize("submitted", [None, "", "the-form-token ", "another", "表单", 7])
def test_a_change_without_the_sessions_form_token_is_forbidden(submitted):
    with pytest.raises(Forbidden) as refused:
        rules.check_csrf(session(), submitted)
    assert refused.value.status == 403
    assert refused.value.detail == "The form is stale or forged: reload the page"


def test_a_session_ends_when_idle_too_long_or_open_too_long():
    policy = SignInPolicy()
    started = NOW - timedelta(hours=11)
    assert rules.lifetime_over(started, NOW - timedelta(minutes=119), NOW, policy) is None
    assert rules.lifetime_over(started, NOW - timedelta(minutes=120), NOW, policy) == "idle"
    assert rules.lifetime_over(NOW - timedelta(hours=12), NOW, NOW, policy) == "too old"


def test_a_sessions_last_request_is_written_at_most_once_a_minute():
    assert not rules.worth_touching(NOW - timedelta(seconds=59), NOW)
    assert rules.worth_touching(NOW - timedelta(seconds=60), NOW)


def test_what_is_kept_of_a_user_agent_is_printable_and_short():
    assert rules.user_agent_kept("Mozilla/5.0\r\nX: y") == "Mozilla/5.0X: y"
    assert len(rules.user_agent_kept("a" * 1000)) == 256
    assert rules.user_agent_kept(None) is None and rules.user_agent_kept("\n") is None


def test_the_policy_reads_its_lifetimes_from_the_environment(monkeypatch):
    assert SignInPolicy.from_environment() == SignInPolicy()
    assert (SignInPolicy().code_lifetime, SignInPolicy().idle_lifetime,
            SignInPolicy().session_lifetime) == (timedelta(minutes=10), timedelta(minutes=120),
                                                 timedelta(hours=12))
    monkeypatch.setenv("ZD_SIGN_IN_CODE_MINUTES", "5")
    monkeypatch.setenv("ZD_SESSION_IDLE_MINUTES", "30")
    monkeypatch.setenv("ZD_SESSION_HOURS", "8")
    policy = SignInPolicy.from_environment()
    assert (policy.code_lifetime, policy.idle_lifetime, policy.session_lifetime) == (
        timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=8))
    assert policy.longest_window() == timedelta(days=1)


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", "", "²"])
def test_a_lifetime_that_is_not_a_whole_number_above_zero_is_refused(monkeypatch, value):
    monkeypatch.setenv("ZD_SESSION_HOURS", value)
    with pytest.raises(ValueError, match="ZD_SESSION_HOURS must be a whole number above 0"):
        SignInPolicy.from_environment()


def test_a_representative_acts_for_themselves_and_staff_for_their_office_or_department():
    liu, wu, he = (find_person(DIRECTORY, person_id)
                   for person_id in ("rep-liu", "office-baiyun-wu", "water-baiyun-he"))
    assert (liu.name, liu.party, liu.contact) == ("刘汉立", "representative:rep-liu",
                                                  {"phone": "+8613800000001"})
    assert (wu.name, wu.role, wu.scope, wu.party) == ("吴敏", "congress", "baiyun",
                                                      "congress:baiyun")
    assert (he.name, he.party, he.contact) == ("何平", "department:baiyun-water",
                                               {"email": "he@water.example"})


def test_someone_the_directory_does_not_list_is_nobody():
    assert find_person(DIRECTORY, "office-tianhe-nobody") is None
    assert find_person(DIRECTORY, "baiyun") is None  # a district is not a person


def test_the_sign_in_code_event_carries_the_code_for_notify_and_a_message_id_of_its_own():
    expires_at = NOW + timedelta(minutes=10)
    event = events.sign_in_code("rep-liu", "012345", expires_at, "en")
    assert event.type == events.STAFF_SIGN_IN_CODE == "staff.sign_in_code"
    assert event.body == {"person_id": "rep-liu", "code": "012345",
                          "expires_at": "2026-12-05T12:10:00+00:00", "locale": "en"}
    again = events.sign_in_code("rep-liu", "012345", expires_at, "en")
    assert event.message_id.startswith("sign-in-code-") and again.message_id != event.message_id
    assert "012345" not in event.message_id
