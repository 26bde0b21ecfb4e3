"""API keys: their format, their hashes, and checking a request's bearer key.

A key reads ``zd_<key_id>.<secret>``. Only ``sha256(secret)`` is ever stored. The
admin CLI issues, rotates and revokes keys and announces each change with a
``credential.issued`` (with its ``expires_at``, if any), ``credential.expiring`` (a
rotated key's end) or ``credential.revoked`` event; every service keeps its own
``credentials`` table from those events (``apply_credential_event``) and
authenticates against it. An expired or revoked key is refused.

A request whose key fails (none, malformed, unknown) counts against its client
address, in the process (``FailedKeyGate``): once an address has used up its failures
(``ZD_AUTH_FAILURES_PER_MINUTE``, a burst of as many), its requests are answered 429
before the database is asked, except those bearing a key (the whole key, not only its
id) that this process has seen succeed lately: a front-end behind the same proxy or NAT
keeps working, while guesses at a known key id's secret are limited like any other.

Parties: ``frontend:<district>``, ``representative:<id>``, ``congress:<district>``,
``department:<code>``, ``admin``.
"""
import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from services.common.errors import Forbidden, TooManyRequests, Unauthorized

ROLES = ("frontend", "representative", "congress", "department", "admin")


@dataclass(frozen=True)
class Party:
    role: str
    scope: str = ""  # district, representative id or department code

    @classmethod
    def parse(cls, text):
        role, _, scope = text.partition(":")
        if role not in ROLES or (role == "admin") != (scope == ""):
            raise ValueError(f"unknown party {text!r}; use one of {', '.join(ROLES)}")
        return cls(role, scope)

    def __str__(self):
        return f"{self.role}:{self.scope}" if self.scope else self.role


@dataclass(frozen=True)
class Caller:
    key_id: str
    party: Party


def new_key():
    """A fresh key and the (key_id, hash) pair that is stored for it."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return f"zd_{key_id}.{secret}", key_id, hash_secret(secret)


def hash_secret(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


KEY_SHAPE = re.compile(r"zd_([A-Za-z0-9_-]{1,64})\.([\x21-\x7e]{1,256})")  # printable ASCII


def split_key(key):
    """``(key_id, secret)`` of a key, or Unauthorized when it is not shaped like one
    (nothing else, a NUL least of all, is looked up)."""
    shaped = KEY_SHAPE.fullmatch(key)
    if shaped is None:
        raise Unauthorized("The API key is malformed.")
    return shaped.group(1), shaped.group(2)


def bearer_key(request):
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Send 'Authorization: Bearer <key>'.")
    return key.strip()


#: a key's credentials, and a token of its bucket taken when the secret's hash matches and
#: its party may act in one of ``roles`` (any, when none is named): one round trip
CALLER_SQL = (
    "WITH caller AS (SELECT party, key_hash FROM credentials WHERE key_id = %(key_id)s"
    " AND revoked_at IS NULL AND key_hash IS NOT NULL"
    " AND (expires_at IS NULL OR expires_at > now())),"
    " taken AS (INSERT INTO rate_buckets AS b (key_id, tokens, updated_at)"
    " SELECT %(key_id)s, %(capacity)s - 1, clock_timestamp() FROM caller"
    " WHERE key_hash = %(key_hash)s AND (cardinality(%(roles)s::text[]) = 0"
    "  OR split_part(party, ':', 1) = ANY(%(roles)s::text[]))"
    " ON CONFLICT (key_id) DO UPDATE SET updated_at = clock_timestamp(),"
    " tokens = least(%(capacity)s, b.tokens + %(rate)s"
    "   * extract(epoch FROM clock_timestamp() - b.updated_at)) - 1"
    " RETURNING tokens)"
    " SELECT party, key_hash, (SELECT tokens FROM taken) AS tokens,"
    " set_config('synchronous_commit', 'off', true) FROM caller")


def authenticated_caller(conn, key, roles, limiter):
    """``(caller, tokens left)`` for a key, its bucket's token taken (None when none was:
    the party may not act in ``roles``), or Unauthorized. The statement goes in one round
    trip with the ``BEGIN`` of its transaction."""
    key_id, secret = split_key(key)
    secret_hash = hash_secret(secret)
    with conn.pipeline():
        found = conn.execute(CALLER_SQL, {"key_id": key_id, "key_hash": secret_hash,
                                          "roles": list(roles), "capacity": limiter.capacity,
                                          "rate": limiter.rate})
    row = found.fetchone()
    if row is None or not hmac.compare_digest(row["key_hash"], secret_hash):
        raise Unauthorized("The API key is unknown, expired or revoked.")
    return Caller(key_id, Party.parse(row["party"])), row["tokens"]


#: of two expiries, in whatever order they came, the sooner holds
_SOONER = ("CASE WHEN credentials.expires_at IS NULL THEN excluded.expires_at"
           " WHEN excluded.expires_at IS NULL THEN credentials.expires_at"
           " ELSE least(credentials.expires_at, excluded.expires_at) END")


def apply_credential_event(conn, envelope):
    """Keep this service's ``credentials`` table in step with the admin's events, in
    whatever order they come: a revocation seen before its issue still wins."""
    body = envelope.body
    if envelope.type == "credential.issued":
        conn.execute(
            "INSERT INTO credentials (key_id, party, key_hash, expires_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (key_id) DO UPDATE SET party = excluded.party,"
            " key_hash = excluded.key_hash, expires_at = " + _SOONER
            + " WHERE credentials.key_hash IS NULL",
            (body["key_id"], body["party"], body["key_hash"], body.get("expires_at")))
    elif envelope.type == "credential.expiring":
        conn.execute("INSERT INTO credentials (key_id, expires_at) VALUES (%s, %s)"
                     " ON CONFLICT (key_id) DO UPDATE SET expires_at = " + _SOONER,
                     (body["key_id"], body["expires_at"]))
    elif envelope.type == "credential.revoked":
        conn.execute("INSERT INTO credentials (key_id, revoked_at) VALUES (%s, now())"
                     " ON CONFLICT (key_id) DO UPDATE SET"
                     " revoked_at = coalesce(credentials.revoked_at, excluded.revoked_at)",
                     (body["key_id"],))


class RateLimiter:
    """A token bucket per key, ``rate`` per second with bursts of twice that, kept in the
    service's ``rate_buckets`` table so that it holds across all its instances. One
    statement refills the bucket and takes a token; a bucket left below zero means
    refused, and the refusal's rolled-back transaction takes nothing. A token taken is
    committed at once, so a request that fails later still counts."""

    # a token need not wait for the disk: one lost in a crash lets a key a request more
    TAKE_SQL = (
        "WITH taken AS (INSERT INTO rate_buckets AS b (key_id, tokens, updated_at)"
        " VALUES (%(key_id)s, %(capacity)s - 1, clock_timestamp())"
        " ON CONFLICT (key_id) DO UPDATE SET updated_at = clock_timestamp(),"
        " tokens = least(%(capacity)s, b.tokens + %(rate)s"
        "   * extract(epoch FROM clock_timestamp() - b.updated_at)) - 1"
        " RETURNING tokens)"
        " SELECT tokens, set_config('synchronous_commit', 'off', true) FROM taken")

    def __init__(self, rate):
        self.rate, self.capacity = rate, rate * 2

    def check(self, conn, key_id):
        self.settle(conn, conn.execute(self.TAKE_SQL, {
            "key_id": key_id, "capacity": self.capacity, "rate": self.rate}).fetchone()["tokens"])

    def settle(self, conn, left):
        """Refuse the request when the bucket was left below zero (its transaction rolled
        back, taking nothing); else commit the token taken."""
        if left < 0:
            raise TooManyRequests("Too many requests for this key; slow down.",
                                  retry_after=-left / self.rate)
        conn.commit()  # the token is taken, whatever the request does next


def forget_full_buckets(conn):
    """Delete the buckets nobody drew from in the last hour, and return how many. Each is
    full again by then (a bucket refills from empty in two seconds) and taking from a
    missing bucket starts it full, so no limit changes: only the table stops growing with
    every address seen once and every guessed page token."""
    return conn.execute("DELETE FROM rate_buckets WHERE updated_at < now() - interval '1 hour'"
                        ).rowcount


class FailedKeyGate:
    """Failed keys per client address, in this process: a token bucket of ``per_minute``
    failures per address (a burst of as many), refilled continuously. An address with no
    failure left is refused before the database is asked, but for a key that has
    succeeded here in the last ``TRUST_SECONDS`` (remembered by its hash). Green threads
    switch only on I/O, so the buckets need no lock."""

    TRUST_SECONDS = 3600
    MAX_ENTRIES = 10_000  # addresses and trusted key ids each: a bound on the memory it takes

    def __init__(self, per_minute, clock=time.monotonic):
        if not per_minute > 0:
            raise ValueError(f"ZD_AUTH_FAILURES_PER_MINUTE must be above 0, not {per_minute}")
        self.capacity, self.rate, self.clock = per_minute, per_minute / 60, clock
        self.buckets = OrderedDict()  # address → (failures left, when counted)
        self.trusted = OrderedDict()  # a key's hash → when it last succeeded

    def check(self, address, key=None):
        """TooManyRequests when ``address`` has no failure left and ``key`` is not trusted."""
        if key is not None and self.clock() - self.trusted.get(
                hash_secret(key), -self.TRUST_SECONDS) < self.TRUST_SECONDS:
            return
        left = self._left(address)
        if left < 1:
            raise TooManyRequests("Too many requests without a valid key from this address;"
                                  " slow down.", retry_after=(1 - left) / self.rate)

    def failed(self, address):
        self._remember(self.buckets, address, (self._left(address) - 1, self.clock()))

    def succeeded(self, key):
        self._remember(self.trusted, hash_secret(key), self.clock())

    def _left(self, address):
        left, counted = self.buckets.get(address, (self.capacity, self.clock()))
        return min(self.capacity, left + (self.clock() - counted) * self.rate)

    def _remember(self, entries, name, value):
        entries[name] = value
        entries.move_to_end(name)
        if len(entries) > self.MAX_ENTRIES:
            entries.popitem(last=False)  # the longest unseen: a full bucket, an old success


class ApiKeys(DependencyProvider):
    """Gives workers ``caller(conn, request, *roles)``: authenticated, authorised, rate-limited."""

    def setup(self):
        config = self.container.config
        self.limiter = RateLimiter(float(config.get("ZD_RATE_LIMIT", 20)))
        self.gate = FailedKeyGate(float(config.get("ZD_AUTH_FAILURES_PER_MINUTE", 30)))

    def get_dependency(self, worker_ctx):
        return KeyCheck(self.limiter, self.gate)


class KeyCheck:
    def __init__(self, limiter, gate):
        self.limiter, self.gate = limiter, gate

    def caller(self, conn, request, *roles, key=None):
        """The authenticated caller (by ``key``, else the request's bearer key); call it
        first in its transaction (the rate check commits the token it takes). The key is
        looked up and its token taken in one statement."""
        address = request.remote_addr or ""
        try:
            key = key or bearer_key(request)
            split_key(key)
        except Unauthorized:
            self.gate.check(address)
            self.gate.failed(address)
            raise
        self.gate.check(address, key)
        try:
            caller, left = authenticated_caller(conn, key, roles, self.limiter)
        except Unauthorized:
            self.gate.failed(address)
            raise
        self.gate.succeeded(key)
        if roles and caller.party.role not in roles:
            raise Forbidden(f"A {caller.party.role} key cannot do this.")
        self.limiter.settle(conn, left)
        return caller
