"""Each service's own PostgreSQL role, with rights on its own schema only.

A deployment gives every service its own URL (``ZD_<SERVICE>_DATABASE_URL``). When
that URL names a role other than the one migrating (``ZD_DATABASE_URL``, the owner of
the database and its schemas), the migration job creates the role, or sets its
password again, and grants it what the service does with its schema: read and write
its tables and sequences. It may not create, alter or drop anything, nor read another
service's schema. The one exception is the admin outbox: every service relays the
admin's announcements (``directory.published``, ``credential.*``) when the admin CLI
could not, so it may read, mark and clear ``admin.outbox`` and clear old
``admin.inbox`` records, and nothing else of the admin schema (no keys, no users).

Grants are given again after every migration, so tables a new migration adds are
covered. The migrations' own bookkeeping (yoyo's tables) stays the owner's. Each role's
attributes are given again too (``ROLE_ATTRIBUTES``: login, nothing more), and it is taken out
of any role someone made it a member of: what was changed by hand does not outlive a deploy.

KEDA scales notify on its notifications due (deploy/kubernetes/base/autoscaling.yaml). When
``ZD_KEDA_DATABASE_URL`` is given, the migration job makes that URL's role the backlog's
reader: it may connect, use the notify schema and read the two columns that count filters on
(``notify.notifications``' status and next_attempt_at), and nothing else: no other column
(addresses, messages), no other table, no writing.
"""
import os
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from services.common.config import SERVICES, credentials_of

YOYO_TABLES = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock")
ADMIN_RELAY_GRANTS = (("outbox", "SELECT, UPDATE, DELETE"), ("inbox", "SELECT, DELETE"))
#: what KEDA's count of notify's notifications due reads: schema, table and columns
BACKLOG = ("notify", "notifications", ("status", "next_attempt_at"))


def service_roles(database_url, environ=None):
    """``{service: (role, password)}`` for every service whose own URL names a role
    other than ``database_url``'s."""
    environ = os.environ if environ is None else environ
    owner, _ = credentials_of(database_url)
    roles = {}
    for service in SERVICES:
        url = environ.get(f"ZD_{service.upper()}_DATABASE_URL")
        if url:
            role, password = credentials_of(url)
            if role and role != owner:
                roles[service] = (role, password)
    return roles


def ensure_service_roles(database_url, environ=None):
    """Create or update the service roles and grant each its schema; returns them."""
    roles = service_roles(database_url, environ)
    database = urlsplit(database_url).path.lstrip("/")
    with psycopg.connect(database_url, autocommit=True) as conn:
        for service, (role, password) in roles.items():
            with conn.transaction():
                _ensure_role(conn, role, password)
                _grant_schema(conn, database, service, role)
    return roles


def backlog_reader(database_url, environ=None):
    """``(role, password)`` of ``ZD_KEDA_DATABASE_URL``, or None when it is not given. It
    must be a role of its own, neither the owner nor a service's."""
    environ = os.environ if environ is None else environ
    url = environ.get("ZD_KEDA_DATABASE_URL")
    if not url:
        return None
    role, password = credentials_of(url)
    others = {credentials_of(database_url)[0]}
    others |= {name for name, _ in service_roles(database_url, environ).values()}
    if not role or role in others:
        raise ValueError(f"ZD_KEDA_DATABASE_URL must name a role of its own, not {role!r}")
    return role, password


def ensure_backlog_reader(database_url, environ=None):
    """Create or update KEDA's role with what it reads of notify's backlog and nothing else
    (what it held before is taken back, in the same transaction); returns its name or None."""
    reader = backlog_reader(database_url, environ)
    if reader is None:
        return None
    role, password = reader
    schema, table, columns = BACKLOG
    database = urlsplit(database_url).path.lstrip("/")
    names = {"role": sql.Identifier(role), "schema": sql.Identifier(schema),
             "table": sql.Identifier(table), "database": sql.Identifier(database),
             "columns": sql.SQL(", ").join(map(sql.Identifier, columns))}
    statements = ("GRANT CONNECT ON DATABASE {database} TO {role}",
                  "GRANT USAGE ON SCHEMA {schema} TO {role}",
                  "REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
                  "REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
                  "GRANT SELECT ({columns}) ON {schema}.{table} TO {role}")
    with psycopg.connect(database_url) as conn:  # one transaction: KEDA never sees a gap
        _ensure_role(conn, role, password)
        for statement in statements:
            conn.execute(sql.SQL(statement).format(**names))
    return role


#: every attribute a role of ours has, given again on each deploy: what anyone changed by hand
#: is taken back. No role is a member of another (``_leave_other_roles``), so none inherits.
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"


def _ensure_role(conn, role, password):
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
    verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
    password_clause = (sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password
                       else sql.SQL(""))
    conn.execute(sql.SQL("{} {} WITH " + ROLE_ATTRIBUTES + "{}").format(
        verb, sql.Identifier(role), password_clause))
    _leave_other_roles(conn, role)


def _leave_other_roles(conn, role):
    """Take ``role`` out of every role it was made a member of: it holds its own grants only."""
    granted = conn.execute(
        "SELECT granted.rolname FROM pg_auth_members m JOIN pg_roles granted ON granted.oid = m.roleid"
        " JOIN pg_roles member ON member.oid = m.member WHERE member.rolname = %s", (role,)).fetchall()
    for (other,) in granted:
        conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(other), sql.Identifier(role)))


def _grant_schema(conn, database, schema, role):
    role_id, schema_id = sql.Identifier(role), sql.Identifier(schema)
    statements = [
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role_id),
        sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema_id, role_id),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            schema_id, role_id),
        sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
            schema_id, role_id),
        sql.SQL("GRANT USAGE ON SCHEMA admin TO {}").format(role_id),
    ]
    statements += [sql.SQL("GRANT " + privileges + " ON admin.{} TO {}").format(
        sql.Identifier(table), role_id) for table, privileges in ADMIN_RELAY_GRANTS]
    for statement in statements:
        conn.execute(statement)
    for table in YOYO_TABLES:
        exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{table}",)).fetchone()[0]
        if exists:
            conn.execute(sql.SQL("REVOKE ALL ON {}.{} FROM {}").format(
                schema_id, sql.Identifier(table), role_id))
