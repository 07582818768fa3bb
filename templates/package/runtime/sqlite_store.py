"""The SQLite implementations of `Store` and `StoreAdmin`."""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import IO, Any, TypeVar

from . import inbox
from .store import (
    InboxRow,
    NewMessage,
    QuarantinedRow,
    Rejected,
    StorageError,
    StoreResult,
)
from .writer import InboxWriter

T = TypeVar("T")


class SQLiteStore:
    """The default store: one SQLite file in WAL mode, written with group commits.

    Writes go through the single `InboxWriter` thread. Reads use a second
    connection, which only the worker calls, one query at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer = InboxWriter(path)
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        self._process_lock: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.writer.running

    async def open(self) -> None:
        self._process_lock = _lock_inbox(self.path)
        try:
            await asyncio.to_thread(self.writer.start)
            self._reader = inbox.connect(self.path, check_same_thread=False)
        except BaseException:
            self._release_process_lock()
            raise

    async def close(self) -> None:
        if self._reader is not None:
            with self._reader_lock:
                self._reader.close()
            self._reader = None
        await asyncio.to_thread(self.writer.stop)
        self._release_process_lock()

    def _release_process_lock(self) -> None:
        if self._process_lock is not None:
            self._process_lock.close()
            self._process_lock = None

    async def add_message(self, new: NewMessage, received_at: datetime) -> StoreResult:
        return await self.writer.run(
            partial(inbox.insert_message, new=new, received_at=received_at)
        )

    async def add_rejected(self, rejected: Rejected, received_at: datetime) -> int:
        return await self.writer.run(
            partial(inbox.insert_quarantine, rejected=rejected, received_at=received_at)
        )

    async def next_due(self, now: datetime) -> InboxRow | None:
        return await asyncio.to_thread(self._read, partial(inbox.next_due, now=now))

    async def earliest_pending_attempt(self) -> datetime | None:
        return await asyncio.to_thread(self._read, inbox.earliest_pending_attempt)

    async def mark_done(self, row_id: int, handled_at: datetime) -> None:
        await self.writer.run(
            partial(inbox.mark_done, row_id=row_id, handled_at=handled_at)
        )

    async def mark_failed(
        self, row_id: int, *, error: str, next_attempt_at: datetime | None
    ) -> None:
        await self.writer.run(
            partial(
                inbox.mark_failed,
                row_id=row_id,
                error=error,
                next_attempt_at=next_attempt_at,
            )
        )

    def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        with self._reader_lock:
            if self._reader is None:
                raise StorageError("the store is closed")
            try:
                return query(self._reader)
            except sqlite3.Error as error:
                raise StorageError(f"reading the inbox failed: {error}") from error


def migrate_file(path: Path) -> list[str]:
    """Create the inbox file and schema, or upgrade them; return what changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = inbox.connect(path)
        try:
            before = inbox.schema_version(connection)
            inbox.initialize(connection)
            after = inbox.schema_version(connection)
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise StorageError(f"inbox at {path}: {error}") from error
    if before == after:
        return [f"inbox at {path} is at schema version {after}"]
    return [f"inbox at {path} upgraded from schema version {before} to {after}"]


def _lock_inbox(path: Path) -> IO[bytes]:
    """Take the inbox's lock file, so that a second receiver cannot use it.

    The SQLite store does not claim rows, so two receivers on one file would
    each hand every message to their handler. The lock ends with the process.
    Raises StorageError when another process has the lock.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_path.open("ab")
    except OSError as error:
        raise StorageError(
            f"cannot create the inbox lock file {lock_path}: {error.strerror}; "
            "check RECEIVER_DB_PATH"
        ) from error
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        handle.close()
        raise StorageError(
            f"another receiver is using the inbox {path}: stop it, or give this "
            "one its own RECEIVER_DB_PATH (instances that share work need "
            "RECEIVER_DATABASE_URL)"
        ) from error
    return handle


class SQLiteAdmin:
    """Operator access to an existing SQLite inbox file."""

    def __init__(self, path: Path) -> None:
        self.location = str(path)
        try:
            self._connection = inbox.open_existing(path)
        except sqlite3.Error as error:
            raise StorageError(f"inbox at {path}: {error}") from error

    def close(self) -> None:
        self._connection.close()

    def list_rows(self, *, status: str | None, limit: int) -> list[InboxRow]:
        return self._call(inbox.list_rows, status=status, limit=limit)

    def get_row(self, row_id: int) -> InboxRow | None:
        return self._call(inbox.get_row, row_id)

    def count_by_status(self) -> dict[str, int]:
        return self._call(inbox.count_by_status)

    def retry_dead(self, row_id: int, now: datetime) -> bool:
        return self._call(inbox.retry_dead, row_id, now)

    def purge_finished(self, row_id: int) -> bool:
        return self._call(inbox.purge_finished, row_id)

    def list_quarantine(self, limit: int) -> list[QuarantinedRow]:
        return self._call(inbox.list_quarantine, limit)

    def get_quarantine(self, row_id: int) -> QuarantinedRow | None:
        return self._call(inbox.get_quarantine, row_id)

    def purge_quarantine(self, row_id: int) -> bool:
        return self._call(inbox.purge_quarantine, row_id)

    def _call(self, query: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return query(self._connection, *args, **kwargs)
        except sqlite3.Error as error:
            raise StorageError(f"inbox at {self.location}: {error}") from error
