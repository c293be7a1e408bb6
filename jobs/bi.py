"""Read-only access for BI tools: a PostgreSQL login role that can read the `bi` schema's
views (migration 0020, docs/bi.md) and nothing else.

The views run with their owner's rights, so the role is granted the schema alone: a
query on `app_user`, `api_key` or any other table is refused by PostgreSQL itself, and
the role's sessions are read-only by default. The password never travels in clear: libpq
turns it into a SCRAM-SHA-256 verifier on this side, so server logs and
`pg_stat_activity` never see it. Every statement is composed with psycopg's `sql`
module (identifiers quoted by the driver), none from strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from psycopg import sql
from sqlalchemy import Engine

from models.audit import CLI
from models.audit import record as audit_record
from models.db import transaction
from models.errors import Conflict, InvalidQuantity

#: A role name PostgreSQL takes unquoted: lower case, digits and underscores.
_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: Names PostgreSQL keeps for itself.
_RESERVED_PREFIX = "pg_"
MIN_PASSWORD_LENGTH = 12
#: Per-role settings: a BI session reads, sees the views unqualified and cannot run away.
_ROLE_SETTINGS = {
    "default_transaction_read_only": "on",
    "search_path": "bi",
    "statement_timeout": "120s",
}
#: At most this many sessions at once (a dashboard tool opens a small pool).
CONNECTION_LIMIT = 10


class BiUnavailable(Conflict):
    """The database cannot hold a BI role (SQLite, or not migrated)."""


@dataclass(frozen=True)
class BiGrant:
    role: str
    created: bool
    database: str
    views: tuple[str, ...]


def _require_role_name(role: str) -> str:
    if not _ROLE_NAME.fullmatch(role) or role.startswith(_RESERVED_PREFIX):
        raise InvalidQuantity(
            f"Role name {role!r} is not allowed: use 1-63 lower-case letters, digits and "
            "underscores, starting with a letter or underscore, not pg_.",
            field="role",
        )
    return role


def _require_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidQuantity(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    if "\x00" in password:
        raise InvalidQuantity("The password cannot contain a NUL character.", field="password")
    return password


def grant_bi_reader(engine: Engine, role: str, password: str) -> BiGrant:
    """Create `role` (or update its password) as a login that reads `bi` and nothing else.

    Refused on SQLite, before migration 0020, and for a role that could do more than read
    (a superuser, one that creates roles or databases, replicates, bypasses row security,
    or the role Rackroom itself connects as).
    """
    _require_role_name(role)
    _require_password(password)
    if engine.dialect.name != "postgresql":
        raise BiUnavailable(
            "BI access needs PostgreSQL: the embedded SQLite database has no roles or "
            "schemas. Point DATABASE_URL at the PostgreSQL database."
        )
    with transaction(engine) as session:
        connection = session.connection()
        raw = connection.connection.driver_connection
        cursor = raw.cursor()
        cursor.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'bi' "
            "ORDER BY table_name"
        )
        views = tuple(name for (name,) in cursor.fetchall())
        if not views:
            raise BiUnavailable(
                "The database has no bi schema yet: run `alembic upgrade head` first."
            )
        cursor.execute("SELECT current_user, current_database()")
        owner, database = cursor.fetchone()
        if role == owner:
            raise Conflict(f"{role} is the role Rackroom connects as; choose another name.")
        cursor.execute(
            "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls"
            " FROM pg_roles WHERE rolname = %s",
            (role,),
        )
        found = cursor.fetchone()
        if found and found[0]:
            raise Conflict(
                f"Role {role} can do more than read (superuser, creates roles or databases, "
                "replicates or bypasses row security); choose another name."
            )
        verifier = raw.pgconn.encrypt_password(
            password.encode(), role.encode(), b"scram-sha-256"
        ).decode()
        name = sql.Identifier(role)
        if found is None:
            cursor.execute(
                sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT {} PASSWORD {}").format(
                    name, sql.Literal(CONNECTION_LIMIT), sql.Literal(verifier)
                )
            )
        else:
            cursor.execute(
                sql.SQL("ALTER ROLE {} LOGIN CONNECTION LIMIT {} PASSWORD {}").format(
                    name, sql.Literal(CONNECTION_LIMIT), sql.Literal(verifier)
                )
            )
        for setting, value in _ROLE_SETTINGS.items():
            cursor.execute(
                sql.SQL("ALTER ROLE {} SET {} = {}").format(
                    name, sql.Identifier(setting), sql.Literal(value)
                )
            )
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {role}",
            "GRANT USAGE ON SCHEMA bi TO {role}",
            "GRANT SELECT ON ALL TABLES IN SCHEMA bi TO {role}",
            # Views later migrations add to bi are readable too.
            "ALTER DEFAULT PRIVILEGES IN SCHEMA bi GRANT SELECT ON TABLES TO {role}",
        ):
            cursor.execute(sql.SQL(statement).format(db=sql.Identifier(database), role=name))
        audit_record(
            session,
            CLI,
            "bi.role_granted",
            target_type="bi_role",
            target_id=role,
            label=role,
            changes={"created": found is None, "password": "secret set", "views": list(views)},
        )
    return BiGrant(role=role, created=found is None, database=database, views=views)
