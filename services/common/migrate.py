"""Creating the database and applying every schema's migrations with yoyo.

Each service owns one schema of the same database: the common plumbing tables
(``services/common/migrations``) then the service's own (``services/<name>/migrations``).
The admin schema belongs to the admin CLI (keys, department users, directory loads).
"""
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from yoyo import get_backend, read_migrations

SCHEMAS = ("admin", "intake", "routing", "notify", "reporting")
SERVICES_DIR = Path(__file__).resolve().parent.parent


def ensure_database(database_url):
    """Create the database named in the URL when it does not exist."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate(database_url, schemas=SCHEMAS):
    ensure_database(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    for schema in schemas:
        backend = get_backend(_yoyo_url(database_url, schema))
        with backend.lock():
            backend.apply_migrations(backend.to_apply(migrations_of(schema)))


def migrations_of(schema):
    """The schema's migrations: the common plumbing tables', then its service's own."""
    sources = [SERVICES_DIR / "common" / "migrations", SERVICES_DIR / schema / "migrations"]
    return read_migrations(*[str(path) for path in sources if path.is_dir()])


def _yoyo_url(database_url, schema):
    parts = urlsplit(database_url)
    query = f"{parts.query}&schema={schema}" if parts.query else f"schema={schema}"
    return urlunsplit(parts._replace(scheme="postgresql+psycopg", query=query))
