"""Create the database named in DATABASE_URL if it does not exist yet.

Idempotent: run it as often as you like (``make db`` does, before migrating).
It connects to the ``postgres`` maintenance database (``template1`` as a
fallback), looks the database up in ``pg_database`` and runs ``CREATE
DATABASE`` if it is missing. Where no maintenance database can be reached
(some managed services), it is content if the target database itself accepts
a connection. Two runs at once are fine: the loser of the race sees the
database as already there.

Usage: .venv/bin/python scripts/create_db.py [DATABASE_URL]
"""

from __future__ import annotations

import os
import re
import sys

import psycopg
from psycopg import conninfo, errors, sql

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres:postgres@localhost:5432/movie_booking"
MAINTENANCE_DATABASES = ("postgres", "template1")


def libpq_url(url: str) -> str:
    """Turn an SQLAlchemy URL (``postgresql+psycopg://``, ``postgres://``) into a libpq one."""
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url, count=1)


def describe(dsn: str) -> str:
    params = conninfo.conninfo_to_dict(dsn)
    host = params.get("host") or "the local socket"
    return f"{database_name(dsn)!r} on {host}:{params.get('port') or 5432}"


def connect(dsn: str, **overrides: str) -> psycopg.Connection:
    return psycopg.connect(conninfo.make_conninfo(dsn, **overrides), connect_timeout=5, autocommit=True)


def ensure_database(url: str) -> bool:
    """Return True if the database was created, False if it was already there."""
    dsn = libpq_url(url)
    dbname = database_name(dsn)

    errors_seen: list[str] = []
    for maintenance_db in MAINTENANCE_DATABASES:
        try:
            admin = connect(dsn, dbname=maintenance_db)
        except psycopg.OperationalError as exc:
            errors_seen.append(str(exc).strip())
            continue
        with admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
                return False
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname))
            # A SQL_ASCII template (old initdb defaults) would store text unchecked:
            # ask for UTF-8 from template0 instead.
            encoding = admin.execute(
                "SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = 'template1'"
            ).fetchone()
            if encoding and encoding[0] == "SQL_ASCII":
                statement += sql.SQL(" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
            try:
                admin.execute(statement)
            except (errors.DuplicateDatabase, errors.UniqueViolation):
                return False  # created by a concurrent run a moment ago
            return True

    # No maintenance database for us (managed services often hide them): the
    # target itself may still be there, which is all we need.
    try:
        connect(dsn, dbname=dbname).close()
        return False
    except psycopg.OperationalError as exc:
        errors_seen.append(str(exc).strip())
    raise RuntimeError("\n  ".join(dict.fromkeys(errors_seen)))  # each distinct error once


def database_name(dsn: str) -> str:
    params = conninfo.conninfo_to_dict(dsn)
    return params.get("dbname") or params.get("user") or os.environ.get("USER") or "postgres"


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not re.match(r"^postgres(?:ql)?(?:\+\w+)?://", url):
        print("create_db: DATABASE_URL must be a postgresql:// URL", file=sys.stderr)
        return 1
    try:
        where = describe(libpq_url(url))
    except psycopg.Error as exc:
        print(f"create_db: DATABASE_URL is not a valid PostgreSQL URL: {exc}", file=sys.stderr)
        return 1
    try:
        created = ensure_database(url)
    except errors.InsufficientPrivilege as exc:
        print(f"create_db: not allowed to create database {where}: {exc}", file=sys.stderr)
        print("  create it yourself (createdb), or use a user with CREATEDB.", file=sys.stderr)
        return 1
    except (psycopg.Error, RuntimeError) as exc:
        print(f"create_db: cannot make sure database {where} exists:\n  {exc}", file=sys.stderr)
        return 1
    print(f"create_db: {'created' if created else 'found'} database {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
