"""The PostgreSQL implementations of `Store` and `StoreAdmin`, for several receivers.

Several receiver instances can share one database. A unique dedup key
makes concurrent redeliveries insert one row, whichever instance receives them.
Workers claim rows with `SELECT ... FOR UPDATE SKIP LOCKED` and a lease
(`claimed_by`, `claimed_until`), so one worker at a time handles a row, and the
row of a worker that died can be claimed again once its lease has expired.

Connections run in autocommit mode with synchronous_commit on, so each write
returns only after the server has flushed its commit to the write-ahead log.
The schema is created and upgraded by numbered migrations (`migrate_database`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg_pool import AsyncConnectionPool

from .store import (
    QUARANTINE_COLUMNS,
    ROW_COLUMNS,
    STATUSES,
    InboxNotFoundError,
    InboxRow,
    NewMessage,
    QuarantinedRow,
    Rejected,
    StorageError,
    StoreResult,
    dedup_key,
    format_timestamp,
    inbox_row,
    message_values,
    quarantined_row,
    redact_url,
    rejected_values,
)

logger = logging.getLogger(__name__)

POOL_MIN_SIZE: Final = 1
POOL_MAX_SIZE: Final = 10
POOL_OPEN_TIMEOUT_SECONDS: Final = 30.0
MIGRATION_LOCK_KEY: Final = 0x6173796E63617069
"""Key of the advisory lock that serializes migrations across instances: the
ASCII bytes of "asyncapi" as a 64-bit integer."""


@dataclass(frozen=True)
class Migration:
    """One schema change, applied once per database in version order."""

    version: int
    description: str
    sql: str


MIGRATIONS: Final = (
    Migration(
        version=1,
        description="create the messages and quarantine tables",
        sql="""
CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    body BYTEA NOT NULL,
    headers TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    handled_at TIMESTAMPTZ,
    claimed_by TEXT,
    claimed_until TIMESTAMPTZ
);
CREATE INDEX messages_due ON messages (next_attempt_at, id)
    WHERE status = 'pending';
CREATE TABLE quarantine (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    body BYTEA NOT NULL,
    headers TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    problem TEXT NOT NULL,
    UNIQUE (operation_id, body_sha256)
);
""",
    ),
)


# The inner SELECT locks the oldest claimable row and skips rows that another
# transaction is claiming at the same moment. Lease times use the server's
# clock, so instances whose clocks differ still agree on when a lease expires.
_CLAIM = f"""
UPDATE messages
SET claimed_by = %(claimant)s, claimed_until = clock_timestamp() + %(lease)s
WHERE id = (
    SELECT id FROM messages
    WHERE status = 'pending' AND next_attempt_at <= %(now)s
        AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())
    ORDER BY id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING {ROW_COLUMNS}
"""


def migrate_database(
    url: str, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply the migrations that the database lacks; return a line per change.

    Raises StorageError when the server cannot be reached, a migration fails,
    or the database has a version newer than the last of `migrations`.
    """
    with _connect(url) as connection:
        applied = _apply_migrations(connection, url, migrations)
    if applied:
        return applied
    version = migrations[-1].version
    return [f"inbox at {redact_url(url)} is at schema version {version}"]


def _apply_migrations(
    connection: psycopg.Connection[Any], url: str, migrations: Sequence[Migration]
) -> list[str]:
    lines: list[str] = []
    try:
        with connection.transaction():
            # Instances that start together wait here, so each migration runs
            # once. The lock is released when the transaction ends.
            connection.execute(
                "SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,)
            )
            connection.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            found = connection.execute("SELECT version FROM schema_migrations")
            present = {int(row[0]) for row in found.fetchall()}
            newest = max(present, default=0)
            if newest > migrations[-1].version:
                raise StorageError(
                    f"inbox at {redact_url(url)} has schema version {newest}, newer "
                    f"than this receiver's version {migrations[-1].version}: "
                    "upgrade the receiver"
                )
            for migration in migrations:
                if migration.version in present:
                    continue
                connection.execute(migration.sql)
                connection.execute(
                    "INSERT INTO schema_migrations (version, description) "
                    "VALUES (%s, %s)",
                    (migration.version, migration.description),
                )
                lines.append(
                    f"applied migration {migration.version}: {migration.description}"
                )
    except psycopg.Error as error:
        raise _storage_error(url, error) from error
    return lines


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        connection = psycopg.connect(url, autocommit=True)
        # The server's default may be off, which can lose acknowledged writes.
        connection.execute("SET synchronous_commit TO on")
    except psycopg.Error as error:
        raise _storage_error(url, error) from error
    return connection


async def _configure(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.execute("SET synchronous_commit TO on")


class PostgresStore:
    """A store shared by several receiver instances through one PostgreSQL database.

    Each instance draws connections from its own pool. Rows are claimed under
    `claimant`, an id unique to this store object.
    """

    def __init__(self, url: str, *, claim_timeout_seconds: float) -> None:
        self.url = url
        self.location = redact_url(url)
        self.lease = timedelta(seconds=claim_timeout_seconds)
        self.claimant = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] | None = None

    @property
    def running(self) -> bool:
        return self._pool is not None and not self._pool.closed

    async def open(self) -> None:
        # A direct connection first, because its error names the cause, where a
        # pool that cannot connect only reports a timeout.
        await asyncio.to_thread(migrate_database, self.url)
        pool = AsyncConnectionPool(
            self.url,
            min_size=POOL_MIN_SIZE,
            max_size=POOL_MAX_SIZE,
            kwargs={"autocommit": True},
            configure=_configure,
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=POOL_OPEN_TIMEOUT_SECONDS)
        except psycopg.Error as error:
            await pool.close()
            raise _storage_error(self.url, error) from error
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def add_message(self, new: NewMessage, received_at: datetime) -> StoreResult:
        inserted, _ = await self._execute(
            "INSERT INTO messages (message, operation_id, received_at, body, "
            "headers, body_sha256, dedup_key, next_attempt_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
            message_values(new, received_at),
        )
        if inserted:
            return StoreResult(id=int(inserted[0][0]), duplicate=False)
        # The conflicting insert has committed by now: ON CONFLICT waits for it.
        existing, _ = await self._execute(
            "SELECT id FROM messages WHERE dedup_key = %s", (dedup_key(new),)
        )
        if not existing:
            raise StorageError(
                "insert ignored but no row has its dedup key; the row was purged "
                "meanwhile, so the sender should retry"
            )
        return StoreResult(id=int(existing[0][0]), duplicate=True)

    async def add_rejected(self, rejected: Rejected, received_at: datetime) -> int:
        inserted, _ = await self._execute(
            "INSERT INTO quarantine (operation_id, received_at, body, headers, "
            "body_sha256, problem) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (operation_id, body_sha256) DO NOTHING RETURNING id",
            rejected_values(rejected, received_at),
        )
        if inserted:
            return int(inserted[0][0])
        existing, _ = await self._execute(
            "SELECT id FROM quarantine WHERE operation_id = %s AND body_sha256 = %s",
            (rejected.operation_id, hashlib.sha256(rejected.body).hexdigest()),
        )
        if not existing:
            raise StorageError("quarantine insert ignored but no row matches")
        return int(existing[0][0])

    async def next_due(self, now: datetime) -> InboxRow | None:
        claimed, _ = await self._execute(
            _CLAIM, {"claimant": self.claimant, "lease": self.lease, "now": now}
        )
        return inbox_row(claimed[0], format_timestamp) if claimed else None

    async def earliest_pending_attempt(self) -> datetime | None:
        # A row claimed by a live worker becomes claimable when its lease ends.
        found, _ = await self._execute(
            "SELECT MIN(GREATEST(next_attempt_at, "
            "COALESCE(claimed_until, next_attempt_at))) "
            "FROM messages WHERE status = 'pending'",
            (),
        )
        earliest: datetime | None = found[0][0] if found else None
        return earliest

    async def mark_done(self, row_id: int, handled_at: datetime) -> None:
        _, count = await self._execute(
            "UPDATE messages SET status = 'done', attempts = attempts + 1, "
            "last_error = NULL, handled_at = %s, claimed_by = NULL, "
            "claimed_until = NULL "
            "WHERE id = %s AND status = 'pending' AND claimed_by = %s",
            (handled_at, row_id, self.claimant),
        )
        if count == 0:
            self._log_lost_claim(row_id, "done")

    async def mark_failed(
        self, row_id: int, *, error: str, next_attempt_at: datetime | None
    ) -> None:
        if next_attempt_at is None:
            query = (
                "UPDATE messages SET status = 'dead', attempts = attempts + 1, "
                "last_error = %s, claimed_by = NULL, claimed_until = NULL "
                "WHERE id = %s AND status = 'pending' AND claimed_by = %s"
            )
            params: tuple[Any, ...] = (error, row_id, self.claimant)
        else:
            query = (
                "UPDATE messages SET attempts = attempts + 1, last_error = %s, "
                "next_attempt_at = %s, claimed_by = NULL, claimed_until = NULL "
                "WHERE id = %s AND status = 'pending' AND claimed_by = %s"
            )
            params = (error, next_attempt_at, row_id, self.claimant)
        _, count = await self._execute(query, params)
        if count == 0:
            self._log_lost_claim(row_id, "failed")

    def _log_lost_claim(self, row_id: int, outcome: str) -> None:
        logger.warning(
            "inbox row %d not marked %s because this worker lost its claim: "
            "the claim expired and another worker took the row, so its "
            "handler may run twice; set RECEIVER_CLAIM_TIMEOUT_SECONDS above the "
            "longest handler call",
            row_id,
            outcome,
        )

    async def _execute(
        self, query: str, params: Sequence[Any] | dict[str, Any]
    ) -> tuple[list[tuple[Any, ...]], int]:
        """Run one statement in its own transaction; return its rows and row count."""
        pool = self._pool
        if pool is None:
            raise StorageError("the store is closed")
        try:
            async with pool.connection() as connection:
                cursor = await connection.execute(query, params)
                rows = await cursor.fetchall() if cursor.description else []
                return rows, cursor.rowcount
        except psycopg.Error as error:
            raise _storage_error(self.url, error) from error


class PostgresAdmin:
    """Operator access to an existing PostgreSQL inbox."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = redact_url(url)
        self._connection = _connect(url)
        try:
            found = self._connection.execute(
                "SELECT to_regclass('schema_migrations')"
            ).fetchone()
            if found is None or found[0] is None:
                raise InboxNotFoundError(
                    f"no inbox in the database at {self.location}: start the "
                    "receiver or run its migrate command, and check "
                    "RECEIVER_DATABASE_URL"
                )
            _apply_migrations(self._connection, url, MIGRATIONS)
        except psycopg.Error as error:
            self._connection.close()
            raise _storage_error(url, error) from error
        except (InboxNotFoundError, StorageError):
            self._connection.close()
            raise

    def close(self) -> None:
        self._connection.close()

    def list_rows(self, *, status: str | None, limit: int) -> list[InboxRow]:
        if status is None:
            rows, _ = self._execute(
                f"SELECT {ROW_COLUMNS} FROM messages ORDER BY id DESC LIMIT %s",
                (limit,),
            )
        else:
            rows, _ = self._execute(
                f"SELECT {ROW_COLUMNS} FROM messages WHERE status = %s "
                "ORDER BY id DESC LIMIT %s",
                (status, limit),
            )
        return [inbox_row(values, format_timestamp) for values in rows]

    def get_row(self, row_id: int) -> InboxRow | None:
        rows, _ = self._execute(
            f"SELECT {ROW_COLUMNS} FROM messages WHERE id = %s", (row_id,)
        )
        return inbox_row(rows[0], format_timestamp) if rows else None

    def count_by_status(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        rows, _ = self._execute(
            "SELECT status, COUNT(*) FROM messages GROUP BY status", ()
        )
        for status, count in rows:
            counts[str(status)] = int(count)
        return counts

    def retry_dead(self, row_id: int, now: datetime) -> bool:
        _, count = self._execute(
            "UPDATE messages SET status = 'pending', attempts = 0, "
            "next_attempt_at = %s, claimed_by = NULL, claimed_until = NULL "
            "WHERE id = %s AND status = 'dead'",
            (now, row_id),
        )
        return count == 1

    def purge_finished(self, row_id: int) -> bool:
        _, count = self._execute(
            "DELETE FROM messages WHERE id = %s AND status IN ('done', 'dead')",
            (row_id,),
        )
        return count == 1

    def list_quarantine(self, limit: int) -> list[QuarantinedRow]:
        rows, _ = self._execute(
            f"SELECT {QUARANTINE_COLUMNS} FROM quarantine ORDER BY id DESC LIMIT %s",
            (limit,),
        )
        return [quarantined_row(values, format_timestamp) for values in rows]

    def get_quarantine(self, row_id: int) -> QuarantinedRow | None:
        rows, _ = self._execute(
            f"SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE id = %s", (row_id,)
        )
        return quarantined_row(rows[0], format_timestamp) if rows else None

    def purge_quarantine(self, row_id: int) -> bool:
        _, count = self._execute("DELETE FROM quarantine WHERE id = %s", (row_id,))
        return count == 1

    def _execute(
        self, query: str, params: Sequence[Any]
    ) -> tuple[list[tuple[Any, ...]], int]:
        try:
            cursor = self._connection.execute(query, params)
            rows = cursor.fetchall() if cursor.description else []
            return rows, cursor.rowcount
        except psycopg.Error as error:
            raise _storage_error(self.url, error) from error


def _storage_error(url: str, error: psycopg.Error) -> StorageError:
    """Wrap a driver error, with the password removed from the URL and the text."""
    text = str(error).strip()
    for password in _passwords(url):
        text = text.replace(password, "***")
    return StorageError(f"inbox at {redact_url(url)}: {text}")


def _passwords(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found.extend(
        value for name, value in parse_qsl(parts.query) if name == "password" and value
    )
    return found
