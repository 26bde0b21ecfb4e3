"""What the admin CLI does, as functions over one ``Admin`` context.

Every change is recorded in the admin schema and announced through its outbox in the
same transaction (``credential.issued``, ``credential.revoked``, ``directory.published``);
the outbox is then relayed at once. When the broker cannot take it, the change stands
and its announcement waits in the outbox: every running service relays the admin
outbox too (``admin_outbox``), and publishes it as soon as the broker is back.
"""
import hashlib
import json
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import psycopg
from kombu import Connection
from psycopg import sql
from psycopg.types.json import Jsonb

from services.admin.broker_access import department_username
from services.admin.definitions import password_hash
from services.admin.rabbit_management import RabbitManagement, vhost_of
from services.common import topology
from services.common.config import amqp_ssl, settings
from services.common.credentials import Party, new_key
from services.common.db import make_pool
from services.common.directory import load_directory, shortest_personal_data_days
from services.common.events import ERASURE, personal_data_expired
from services.common.migrate import SCHEMAS
from services.common.outbox import emit_event, emit_events
from services.common.outbox_relay import Publisher, relay_pending

log = logging.getLogger(__name__)


@dataclass
class Admin:
    pool: object
    publisher: Publisher
    amqp_uri: str
    rabbit: RabbitManagement

    @classmethod
    def open(cls):
        current = settings()
        pool = make_pool(current.database_url, "admin", size=2)
        pool.open(wait=True)
        return cls(pool, Publisher(current.amqp_uri), current.amqp_uri,
                   RabbitManagement(current.management_url))

    def close(self):
        self.publisher.close()
        self.pool.close()

    def relay(self):
        """Publish the admin outbox now; returns how many messages went out. When the
        broker does not take them, they wait for the services' admin relay."""
        try:
            return relay_pending(self.pool, self.publisher, "admin")
        except Exception as exc:  # any broker failure: the change is stored, its news waits
            self.publisher.close()
            log.warning("the broker did not take the announcement (%s); it waits in the admin"
                        " outbox, and the running services publish it as soon as the broker is"
                        " back", type(exc).__name__)
            return 0


def declare_topology(admin, departments=(), directory=None):
    """Exchanges, queues and bindings over AMQP, then the queue policies over the
    management API (what queue arguments cannot change on queues that exist). Parked
    messages live no longer than the shortest ``personal_data_days`` of ``directory``
    (default: the directory loaded last)."""
    with Connection(admin.amqp_uri, connect_timeout=5, ssl=amqp_ssl(admin.amqp_uri)) as connection:
        topology.declare(connection, departments)
    directory = directory or _loaded_directory(admin)
    parked_days = (shortest_personal_data_days(directory) if directory
                   else topology.DEFAULT_PARKED_DAYS)
    admin.rabbit.apply_policies(vhost_of(admin.amqp_uri), parked_days)


def _loaded_directory(admin):
    with admin.pool.connection() as conn:
        row = conn.execute("SELECT body FROM directory_loads ORDER BY id DESC LIMIT 1").fetchone()
    return row and row["body"]


def load_directory_files(admin, paths):
    """Validate, declare the department queues, record and publish the snapshot."""
    return publish_directory(admin, load_directory(paths), paths)


def publish_directory(admin, directory, paths):
    """Declare the department queues of a directory already read from ``paths``, then record
    and publish the snapshot; the broker's failures (OSError) are its own, not the files'."""
    declare_topology(admin, list(directory["departments"]), directory)
    canonical = json.dumps(directory, sort_keys=True, ensure_ascii=False)
    version = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    published_at = datetime.now(timezone.utc).isoformat()
    with admin.pool.connection() as conn:
        conn.execute("INSERT INTO directory_loads (version, sources, body) VALUES (%s, %s, %s)",
                     (version, ", ".join(map(str, paths)), Jsonb(directory)))
        emit_event(conn, "directory.published", {
            "version": version, "published_at": published_at, "directory": directory},
            message_id=f"directory-{uuid.uuid4()}")
    admin.relay()
    return version, directory


def latest_directory(admin):
    with admin.pool.connection() as conn:
        row = conn.execute("SELECT body FROM directory_loads ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("no directory loaded yet: run 'directory load' first")
    return row["body"]


#: how many keys a front-end may hold at once: the one in use and the one replacing it
FRONTEND_ACTIVE_KEYS = 2
ROTATION_GRACE_DAYS = 7


def issue_key(admin, party_text, expires_in_days=None):
    """A new key for the party (shown once); ``expires_in_days`` gives it a lifetime."""
    party = Party.parse(party_text)
    if expires_in_days is not None and expires_in_days < 1:
        raise SystemExit("--expires-in-days must be 1 or more")
    key, key_id, key_hash = new_key()
    with admin.pool.connection() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"keys:{party}",))
        if party.role == "frontend" and len(_active_keys(conn, party)) >= FRONTEND_ACTIVE_KEYS:
            raise SystemExit(f"{party} already has {FRONTEND_ACTIVE_KEYS} active keys: revoke"
                             " one, or rotate (the old key then expires)")
        expires_at = conn.execute(
            "INSERT INTO api_keys (key_id, party, key_hash, expires_at) VALUES (%s, %s, %s,"
            " now() + make_interval(days => %s)) RETURNING expires_at",
            (key_id, str(party), key_hash, expires_in_days)).fetchone()["expires_at"]
        emit_event(conn, "credential.issued",
                   {"key_id": key_id, "party": str(party), "key_hash": key_hash,
                    "expires_at": expires_at and expires_at.isoformat()},
                   message_id=f"credential-issued-{key_id}")
    admin.relay()
    return key


def rotate_key(admin, party_text, grace_days=ROTATION_GRACE_DAYS, expires_in_days=None):
    """A new key for the party; the key in use (its newest) keeps working for
    ``grace_days`` (unless it ends sooner), any older one ends now, so that no more than
    two are ever active. Returns the new key."""
    party = Party.parse(party_text)
    if grace_days < 0:
        raise SystemExit("--grace-days cannot be negative")
    with admin.pool.connection() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"keys:{party}",))
        active = _active_keys(conn, party)
        for row in active:
            days = grace_days if row is active[-1] else 0
            ending = conn.execute(
                "UPDATE api_keys SET expires_at = least(coalesce(expires_at, 'infinity'),"
                " now() + make_interval(days => %s)) WHERE key_id = %s RETURNING expires_at",
                (days, row["key_id"])).fetchone()["expires_at"]
            emit_event(conn, "credential.expiring",
                       {"key_id": row["key_id"], "expires_at": ending.isoformat()},
                       message_id=f"credential-expiring-{row['key_id']}-{uuid.uuid4()}")
    return issue_key(admin, party_text, expires_in_days)


def _active_keys(conn, party):
    return conn.execute("SELECT key_id, expires_at FROM api_keys WHERE party = %s"
                        " AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
                        " ORDER BY issued_at", (str(party),)).fetchall()


def revoke_key(admin, key_id):
    with admin.pool.connection() as conn:
        row = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE key_id = %s"
                           " AND revoked_at IS NULL RETURNING key_id", (key_id,)).fetchone()
        if row is None:
            raise SystemExit(f"no active key {key_id}")
        emit_event(conn, "credential.revoked", {"key_id": key_id},
                   message_id=f"credential-revoked-{key_id}")
    admin.relay()


def list_keys(admin):
    """Every key, without its secret or hash."""
    with admin.pool.connection() as conn:
        return conn.execute("SELECT key_id, party, issued_at, expires_at, revoked_at,"
                            " (expires_at IS NOT NULL AND expires_at <= now()) AS expired"
                            " FROM api_keys ORDER BY party, issued_at").fetchall()


def active_key_ids(admin):
    with admin.pool.connection() as conn:
        rows = conn.execute("SELECT key_id FROM api_keys WHERE revoked_at IS NULL"
                            " AND (expires_at IS NULL OR expires_at > now())").fetchall()
    return {row["key_id"] for row in rows}


def issue_department_user(admin, department, password=None):
    """Create (or refresh) the department's RabbitMQ user and its permissions."""
    password = password or secrets.token_urlsafe(18)
    vhost = vhost_of(admin.amqp_uri)
    user = admin.rabbit.grant_department(department, password, vhost)
    with admin.pool.connection() as conn:
        conn.execute(
            "INSERT INTO amqp_users (username, department, vhost, password_hash)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (username) DO UPDATE SET vhost = excluded.vhost,"
            " password_hash = excluded.password_hash, issued_at = now(), revoked_at = NULL",
            (user, department, vhost, password_hash(password)))
    return {"user": user, "password": password, "vhost": vhost}


def department_password_hashes(database_url, vhost):
    """``{user: password hash}`` of the active department users of ``vhost``, as the admin
    schema keeps them; empty when the database cannot be read (the first deploy)."""
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            rows = conn.execute("SELECT username, password_hash FROM admin.amqp_users"
                                " WHERE vhost = %s AND revoked_at IS NULL"
                                " AND password_hash IS NOT NULL", (vhost,)).fetchall()
    except psycopg.Error as exc:
        log.warning("no department passwords kept (%s): their users get none; issue them"
                    " again with amqp-users issue", type(exc).__name__)
        return {}
    return dict(rows)


def revoke_department_user(admin, department):
    user = department_username(department, vhost_of(admin.amqp_uri))
    admin.rabbit.delete_user(user)
    with admin.pool.connection() as conn:
        conn.execute("UPDATE amqp_users SET revoked_at = now() WHERE username = %s", (user,))


def list_department_users(admin):
    with admin.pool.connection() as conn:
        return conn.execute("SELECT username, department, vhost, issued_at, revoked_at"
                            " FROM amqp_users ORDER BY department").fetchall()


def parties_of(directory):
    """Every party of a directory that needs an API key, in a stable order."""
    parties = ["admin"]
    for code in directory["districts"]:
        parties += [f"frontend:{code}", f"congress:{code}"]
    parties += [f"representative:{rep}" for rep in directory["representatives"]]
    parties += [f"department:{code}" for code in directory["departments"]]
    return parties


def demo_credentials(admin, known_keys, known_users):
    """Keys and department users for every party that has none yet (development only).

    ``known_keys``/``known_users`` are what an earlier run wrote; entries still valid
    are kept, the rest are issued anew.
    """
    directory = latest_directory(admin)
    active = active_key_ids(admin)
    keys = {}
    for party in parties_of(directory):
        key = known_keys.get(party)
        if key and key.startswith("zd_") and key[3:].partition(".")[0] in active:
            keys[party] = key
        else:
            # a front-end holds two keys at most: a lost demo key is replaced, not added to
            keys[party] = (rotate_key(admin, party, grace_days=0) if party.startswith("frontend:")
                           else issue_key(admin, party))
    users = {}
    vhost = vhost_of(admin.amqp_uri)
    for code, department in directory["departments"].items():
        if department["delivery"] == "amqp":
            known = known_users.get(code) or {}
            password = known.get("password") if known.get("vhost") == vhost else None
            users[code] = issue_department_user(admin, code, password)
    return keys, users


def stored_message(admin, message_id):
    """The body of a message as its producer's outbox keeps it; None when no outbox does."""
    if not message_id:
        return None
    with admin.pool.connection() as conn:
        for schema in SCHEMAS:
            row = conn.execute(sql.SQL("SELECT body FROM {}.outbox WHERE message_id = %s").format(
                sql.Identifier(schema)), (message_id,)).fetchone()
            if row is not None:
                return row["body"]
    return None


#: a ticket id as intake draws it, or as a test or an older version named it
TICKET_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def request_erasure(admin, ticket_id, requested_by, reason=None):
    """Record who asked to erase the reporter's details of ``ticket_id`` and announce it
    (``personal_data.expired``, reason ``erasure``) in one transaction; every service
    that keeps them anonymises them as it receives it. Returns the audit record."""
    if not TICKET_ID.fullmatch(ticket_id or ""):
        raise SystemExit(f"not a ticket id: {ticket_id!r}")
    if not (requested_by or "").strip() or "\x00" in requested_by or "\x00" in (reason or ""):
        raise SystemExit("--requested-by must say who asked (and no NUL)")
    with admin.pool.connection() as conn:
        request_id = conn.execute("SELECT nextval(pg_get_serial_sequence('erasure_requests', 'id'))"
                                  " AS id").fetchone()["id"]
        event = personal_data_expired(ticket_id, ERASURE, request_id)
        record = conn.execute(
            "INSERT INTO erasure_requests (id, ticket_id, requested_by, reason, message_id)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING *",
            (request_id, ticket_id, requested_by.strip(), reason, event.message_id)).fetchone()
        emit_events(conn, event)
    admin.relay()
    return record


def erasure_requests(admin, ticket_id=None):
    with admin.pool.connection() as conn:
        return conn.execute("SELECT * FROM erasure_requests WHERE %(ticket)s::text IS NULL"
                            " OR ticket_id = %(ticket)s ORDER BY id", {"ticket": ticket_id}).fetchall()
