"""Building a clean test system: schemas, vhost, topology, directory and keys.

Used by the integration and end-to-end fixtures; talks to the real PostgreSQL and
RabbitMQ named by ZD_DATABASE_URL and ZD_AMQP_URI (set in tests/conftest.py).
"""
import copy
import functools
import os
import signal
import socket
import warnings
from pathlib import Path
from typing import NamedTuple
from unittest import mock
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from kombu import Connection
from psycopg import sql

from services.admin.rabbit_management import RabbitManagement, vhost_of
from services.admin.use_cases import operations as ops
from services.common import topology
from services.common.config import settings
from services.common.directory import load_directory
from services.common.migrate import SCHEMAS, migrate, migrations_of
from services.routing import store as routing_store

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIRECTORY = ROOT / "deploy" / "directory.yaml"


def reset_database():
    """Every schema migrated and every table empty, its identities restarted."""
    url = settings().database_url
    if not migrated(url):
        migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)"
            " AND tablename NOT LIKE '\\_yoyo%%'", (list(SCHEMAS),)).fetchall()
        # only the tables a test wrote to: TRUNCATE makes new files for each table it
        # names, and most of the 60-odd tables are still empty (a row deleted since leaves
        # its identity used: that table is emptied and restarted as well)
        written = {tuple(row) for row in conn.execute(" UNION ALL ".join(
            f"SELECT '{schema}', '{table}' WHERE EXISTS (SELECT FROM \"{schema}\".\"{table}\")"
            for schema, table in tables)).fetchall()} if tables else set()
        written |= {tuple(row) for row in conn.execute(
            "SELECT DISTINCT used.schemaname, owner.relname FROM pg_sequences used"
            " JOIN pg_depend owned ON owned.classid = 'pg_class'::regclass"
            "  AND owned.objid = format('%%I.%%I', used.schemaname, used.sequencename)::regclass"
            "  AND owned.refclassid = 'pg_class'::regclass"
            " JOIN pg_class owner ON owner.oid = owned.refobjid"
            " WHERE used.schemaname = ANY(%s) AND used.last_value IS NOT NULL",
            (list(SCHEMAS),)).fetchall()}
        names = ", ".join(f'"{schema}"."{table}"' for schema, table in tables
                          if (schema, table) in written)
        if names:
            conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    # routing asks which category model is in use every few seconds: one running in this
    # process next must not choose with the model of the system before
    routing_store.forget_category_model()


def migrated(url):
    """Whether every schema of the database at ``url`` has every migration applied (one
    connection; yoyo opens one per schema and reads and locks each)."""
    try:
        with psycopg.connect(url) as conn:
            return all({row[0] for row in conn.execute(sql.SQL(
                "SELECT migration_id FROM {}._yoyo_migration").format(sql.Identifier(schema)))}
                == migration_ids(schema) for schema in SCHEMAS)
    except psycopg.Error:  # no database, schema or table yet
        return False


@functools.cache
def migration_ids(schema):
    return {migration.id for migration in migrations_of(schema)}


def reset_vhost(declare=True):
    """The test vhost deleted and made again, empty; with ``declare``, the topology
    without department queues and its policies declared in it."""
    current = settings()
    rabbit = RabbitManagement(current.management_url)
    vhost = vhost_of(current.amqp_uri)
    assert vhost != "/", "tests must not run on the default vhost"
    rabbit.delete_vhost(vhost)
    rabbit.ensure_vhost(vhost)
    if declare:
        with Connection(current.amqp_uri) as connection:
            topology.declare(connection)
        rabbit.apply_policies(vhost)


#: what may be left running: the services and the stack (the sink touches no queue)
STRAY_MODULES = {f"services.{name}".encode() for name in
                 ("intake", "routing", "notify", "reporting", "devstack")}


def stop_strays():
    """Kill service processes an earlier test left running on the test system (a service
    or stack process whose environment names the test vhost): a stray consumer or
    courier would take messages meant for the services of the tests that follow. Each
    one is named in the warnings summary; none should ever be found."""
    test_uri = settings().amqp_uri
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-m" not in argv or not set(argv) & STRAY_MODULES:
            continue
        if f"ZD_AMQP_URI={test_uri}".encode() in environment:
            warnings.warn(f"stray test service killed: pid {entry.name}:"
                          f" {b' '.join(argv).decode(errors='replace')}", stacklevel=2)
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                pass


class FreshSystem(NamedTuple):
    """What a test holds of a system just reset."""
    keys: dict        #: every party's API key, by party: ``admin``, ``frontend:baiyun``, ...
    amqp_users: dict  #: the broker users of the department systems, by department
    directory: dict   #: the directory snapshot as published


def fresh_system(directory=DEMO_DIRECTORY) -> FreshSystem:
    """Reset everything, load ``directory`` and issue every party's keys."""
    stop_strays()
    reset_database()
    reset_vhost(declare=False)  # loading the directory declares it all, departments too
    admin = ops.Admin.open()
    try:
        # the loader as the admin CLI runs it, the file read once per content
        with mock.patch.object(ops, "load_directory", read_directory):
            _, snapshot = ops.load_directory_files(admin, [directory])
        keys, users = ops.demo_credentials(admin, {}, {})
    finally:
        admin.close()
    return FreshSystem(keys, users, snapshot)


def read_directory(paths):
    """``load_directory(paths)``, read once for each content of the files: reading the
    demo directory (YAML with each part's line, then its schema) takes 0.3 to 2 s of CPU."""
    return copy.deepcopy(_directory_of(tuple((str(path), Path(path).read_bytes())
                                             for path in paths)))


@functools.lru_cache(maxsize=32)
def _directory_of(files):
    return load_directory([path for path, _ in files])


def department_uri(user):
    """The broker URI a department system uses, with its own user (docs/reference.md#department-queues)."""
    parts = urlsplit(settings().amqp_uri)
    netloc = f"{quote(user['user'])}:{quote(user['password'])}@{parts.hostname}:{parts.port or 5672}"
    return urlunsplit(parts._replace(netloc=netloc))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
