"""SQLite inbox: schema, connections and the queries on stored messages.

Every accepted request becomes one row of the `messages` table, with the exact
raw body. Rows move from "pending" to "done" when the handler succeeds, or to
"dead" after the last failed attempt. `sqlite_store` calls these functions:
writes through `InboxWriter` in the receiver, and directly on a connection in
the command line tools.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Final

from .store import (
    QUARANTINE_COLUMNS,
    ROW_COLUMNS,
    STATUSES,
    InboxNotFoundError,
    InboxRow,
    NewMessage,
    QuarantinedRow,
    Rejected,
    StoreResult,
    dedup_key,
    format_timestamp,
    inbox_row,
    message_values,
    quarantined_row,
    rejected_values,
)

SCHEMA_VERSION: Final = 2
BUSY_TIMEOUT_SECONDS: Final = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message TEXT NOT NULL,
    operation_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    dedup_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt_at TEXT NOT NULL,
    handled_at TEXT
);
CREATE INDEX IF NOT EXISTS messages_due ON messages (status, next_attempt_at, id);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    operation_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    body BLOB NOT NULL,
    headers TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    problem TEXT NOT NULL,
    UNIQUE (operation_id, body_sha256)
);
"""


def connect(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """Open the inbox in WAL mode with full fsync on every commit.

    The connection is in autocommit mode, so callers run explicit BEGIN and
    COMMIT statements around writes.
    """
    connection = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=check_same_thread,
    )
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def open_existing(path: Path) -> sqlite3.Connection:
    """Open an inbox that must exist already. Raises InboxNotFoundError otherwise."""
    if not path.is_file():
        raise InboxNotFoundError(
            f"inbox database not found at {path}: set RECEIVER_DB_PATH to the "
            "receiver's database file"
        )
    connection = connect(path)
    initialize(connection)
    return connection


def schema_version(connection: sqlite3.Connection) -> int:
    """Return the schema version stored in the file; 0 for a new file."""
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def initialize(connection: sqlite3.Connection) -> None:
    """Create the table and index when missing, and check the schema version."""
    version = schema_version(connection)
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"inbox schema version {version} is newer than this receiver's "
            f"version {SCHEMA_VERSION}"
        )
    if version == SCHEMA_VERSION:
        return
    connection.executescript(_SCHEMA)
    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def insert_message(
    connection: sqlite3.Connection, new: NewMessage, received_at: datetime
) -> StoreResult:
    """Insert a message unless its dedup key exists. Runs inside a transaction."""
    cursor = connection.execute(
        "INSERT INTO messages (message, operation_id, received_at, body, headers, "
        "body_sha256, dedup_key, status, attempts, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?) "
        "ON CONFLICT (dedup_key) DO NOTHING",
        message_values(new, format_timestamp(received_at)),
    )
    if cursor.rowcount == 1 and cursor.lastrowid is not None:
        return StoreResult(id=cursor.lastrowid, duplicate=False)
    existing = connection.execute(
        "SELECT id FROM messages WHERE dedup_key = ?",
        (dedup_key(new),),
    ).fetchone()
    if existing is None:
        raise sqlite3.IntegrityError("insert ignored but no row has its dedup key")
    return StoreResult(id=int(existing[0]), duplicate=True)


def mark_done(
    connection: sqlite3.Connection, row_id: int, handled_at: datetime
) -> None:
    """Record a successful handler call."""
    connection.execute(
        "UPDATE messages SET status = 'done', attempts = attempts + 1, "
        "last_error = NULL, handled_at = ? WHERE id = ? AND status = 'pending'",
        (format_timestamp(handled_at), row_id),
    )


def mark_failed(
    connection: sqlite3.Connection,
    row_id: int,
    *,
    error: str,
    next_attempt_at: datetime | None,
) -> None:
    """Record a failed handler call. Without a next attempt time the row is dead."""
    if next_attempt_at is None:
        connection.execute(
            "UPDATE messages SET status = 'dead', attempts = attempts + 1, "
            "last_error = ? WHERE id = ? AND status = 'pending'",
            (error, row_id),
        )
    else:
        connection.execute(
            "UPDATE messages SET attempts = attempts + 1, last_error = ?, "
            "next_attempt_at = ? WHERE id = ? AND status = 'pending'",
            (error, format_timestamp(next_attempt_at), row_id),
        )


def retry_dead(connection: sqlite3.Connection, row_id: int, now: datetime) -> bool:
    """Move a dead row back to pending with no attempts. Returns whether it was."""
    cursor = connection.execute(
        "UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = ? "
        "WHERE id = ? AND status = 'dead'",
        (format_timestamp(now), row_id),
    )
    return cursor.rowcount == 1


def purge_finished(connection: sqlite3.Connection, row_id: int) -> bool:
    """Delete a done or dead row; return whether one was deleted.

    A pending row is never deleted, since its handler has not run yet.
    """
    cursor = connection.execute(
        "DELETE FROM messages WHERE id = ? AND status IN ('done', 'dead')",
        (row_id,),
    )
    connection.commit()
    return cursor.rowcount == 1


def next_due(connection: sqlite3.Connection, now: datetime) -> InboxRow | None:
    """Return the pending row with the lowest id whose next attempt is due."""
    found = connection.execute(
        f"SELECT {ROW_COLUMNS} FROM messages "
        "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 1",
        (format_timestamp(now),),
    ).fetchone()
    return None if found is None else inbox_row(found)


def earliest_pending_attempt(connection: sqlite3.Connection) -> datetime | None:
    """Return the earliest next attempt time among pending rows."""
    found = connection.execute(
        "SELECT MIN(next_attempt_at) FROM messages WHERE status = 'pending'"
    ).fetchone()
    if found is None or found[0] is None:
        return None
    return datetime.fromisoformat(found[0])


def get_row(connection: sqlite3.Connection, row_id: int) -> InboxRow | None:
    """Return one row by id."""
    found = connection.execute(
        f"SELECT {ROW_COLUMNS} FROM messages WHERE id = ?", (row_id,)
    ).fetchone()
    return None if found is None else inbox_row(found)


def list_rows(
    connection: sqlite3.Connection, *, status: str | None, limit: int
) -> list[InboxRow]:
    """Return up to `limit` rows, newest first, optionally with one status."""
    if status is None:
        found = connection.execute(
            f"SELECT {ROW_COLUMNS} FROM messages ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
    else:
        found = connection.execute(
            f"SELECT {ROW_COLUMNS} FROM messages WHERE status = ? "
            "ORDER BY id DESC LIMIT ?",
            (status, limit),
        ).fetchall()
    return [inbox_row(values) for values in found]


def count_by_status(connection: sqlite3.Connection) -> dict[str, int]:
    """Return the number of rows per status, including statuses with none."""
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in connection.execute(
        "SELECT status, COUNT(*) FROM messages GROUP BY status"
    ):
        counts[str(status)] = int(count)
    return counts


def insert_quarantine(
    connection: sqlite3.Connection, rejected: Rejected, received_at: datetime
) -> int:
    """Keep a rejected body once per operation and return its quarantine id."""
    connection.execute(
        "INSERT INTO quarantine (operation_id, received_at, body, headers, "
        "body_sha256, problem) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (operation_id, body_sha256) DO NOTHING",
        rejected_values(rejected, format_timestamp(received_at)),
    )
    row = connection.execute(
        "SELECT id FROM quarantine WHERE operation_id = ? AND body_sha256 = ?",
        (rejected.operation_id, hashlib.sha256(rejected.body).hexdigest()),
    ).fetchone()
    return int(row[0])


def list_quarantine(connection: sqlite3.Connection, limit: int) -> list[QuarantinedRow]:
    """Return quarantined bodies, newest first."""
    rows = connection.execute(
        f"SELECT {QUARANTINE_COLUMNS} FROM quarantine ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [quarantined_row(row) for row in rows]


def get_quarantine(
    connection: sqlite3.Connection, row_id: int
) -> QuarantinedRow | None:
    """Return one quarantined body, or None."""
    row = connection.execute(
        f"SELECT {QUARANTINE_COLUMNS} FROM quarantine WHERE id = ?",
        (row_id,),
    ).fetchone()
    return None if row is None else quarantined_row(row)


def purge_quarantine(connection: sqlite3.Connection, row_id: int) -> bool:
    """Delete one quarantined body; return whether it existed."""
    cursor = connection.execute("DELETE FROM quarantine WHERE id = ?", (row_id,))
    connection.commit()
    return cursor.rowcount == 1
