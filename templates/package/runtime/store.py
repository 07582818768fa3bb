"""The receiver's storage interface, its records, and the SQLite implementation.

The endpoint and the worker see only `Store`, and the command line sees only
`StoreAdmin`. A server-backed store for several receiver instances implements
the same two protocols; `open_store` and `open_admin` pick the implementation
from the configured location.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

STATUSES: Final = ("pending", "done", "dead")


class StorageError(Exception):
    """The store could not store or update a row."""


class InboxNotFoundError(Exception):
    """The inbox does not exist yet."""


@dataclass(frozen=True)
class NewMessage:
    """A validated request body to store."""

    message: str
    operation_id: str
    body: bytes
    headers: Mapping[str, str]
    idempotency_key: str | None = None
    """The sender's identifier for the message, if the spec names one."""


@dataclass(frozen=True)
class Rejected:
    """An authenticated body that failed parsing or validation, to quarantine."""

    operation_id: str
    body: bytes
    headers: Mapping[str, str]
    problem: Mapping[str, Any]
    """The problem document that the sender received."""


@dataclass(frozen=True)
class StoreResult:
    """Row id of a stored message, and whether an identical one was stored before."""

    id: int
    duplicate: bool


@dataclass(frozen=True)
class InboxRow:
    """One stored message and its processing state."""

    id: int
    message: str
    operation_id: str
    received_at: str
    body: bytes
    headers: dict[str, str]
    body_sha256: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: str
    handled_at: str | None

    def to_json_object(self) -> dict[str, Any]:
        """Return the row as a JSON-ready dict with the body parsed as JSON."""
        try:
            body: Any = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            # Stored bodies passed validation, so this only covers rows written
            # by other tools.
            body = self.body.decode("utf-8", errors="replace")
        return {
            "id": self.id,
            "message": self.message,
            "operation_id": self.operation_id,
            "received_at": self.received_at,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at,
            "handled_at": self.handled_at,
            "body_sha256": self.body_sha256,
            "headers": self.headers,
            "body": body,
        }


@dataclass(frozen=True)
class QuarantinedRow:
    """An authenticated body that was rejected, kept for an operator to replay."""

    id: int
    operation_id: str
    received_at: str
    body: bytes
    headers: dict[str, str]
    problem: dict[str, Any]

    def to_json_object(self) -> dict[str, Any]:
        """Return the row as JSON values; the body as text where it is UTF-8."""
        try:
            body: Any = self.body.decode("utf-8")
        except UnicodeDecodeError:
            body = None
        return {
            "id": self.id,
            "operation_id": self.operation_id,
            "received_at": self.received_at,
            "headers": self.headers,
            "problem": self.problem,
            "body": body,
        }


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format a UTC time with fixed width, so that text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def dedup_key(
    operation_id: str, body: bytes, idempotency_key: str | None = None
) -> str:
    """Return the SHA-256 hex digest that identifies a redelivered message.

    With an idempotency key from the payload, the key decides; otherwise the
    exact body does. The two kinds are tagged, so they never collide.
    """
    digest = hashlib.sha256(operation_id.encode("utf-8"))
    # NUL cannot occur in an operation id, so the boundary is unambiguous.
    if idempotency_key is None:
        digest.update(b"\x00body\x00")
        digest.update(body)
    else:
        digest.update(b"\x00key\x00")
        digest.update(idempotency_key.encode("utf-8"))
    return digest.hexdigest()


class Store(Protocol):
    """Storage as the receiver uses it: write messages, then work through them.

    Every write method returns only after its change is durable, and raises
    StorageError when it is not.
    """

    @property
    def running(self) -> bool:
        """Whether the store accepts writes."""
        ...

    async def open(self) -> None:
        """Create or upgrade the schema and start accepting writes."""
        ...

    async def close(self) -> None:
        """Finish the writes already submitted, then release the store."""
        ...

    async def add_message(self, new: NewMessage, received_at: datetime) -> StoreResult:
        """Store a message once; a redelivery returns the first row's id."""
        ...

    async def add_rejected(self, rejected: Rejected, received_at: datetime) -> int:
        """Keep a rejected body once per operation; return its quarantine id."""
        ...

    async def next_due(self, now: datetime) -> InboxRow | None:
        """Return the oldest pending row whose next attempt is due."""
        ...

    async def earliest_pending_attempt(self) -> datetime | None:
        """Return the earliest next attempt time among pending rows."""
        ...

    async def mark_done(self, row_id: int, handled_at: datetime) -> None:
        """Record a successful handler call."""
        ...

    async def mark_failed(
        self, row_id: int, *, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Record a failed handler call; without a next attempt the row is dead."""
        ...


class StoreAdmin(Protocol):
    """Storage as an operator uses it from the command line."""

    location: str
    """Location of the store for messages: a file path, or a URL without password."""

    def close(self) -> None:
        """Release the connection."""
        ...

    def list_rows(self, *, status: str | None, limit: int) -> list[InboxRow]:
        """Return up to `limit` rows, newest first, optionally with one status."""
        ...

    def get_row(self, row_id: int) -> InboxRow | None:
        """Return one row by id."""
        ...

    def count_by_status(self) -> dict[str, int]:
        """Return the number of rows per status, including statuses with none."""
        ...

    def retry_dead(self, row_id: int, now: datetime) -> bool:
        """Move a dead row back to pending; return whether it was dead."""
        ...

    def purge_finished(self, row_id: int) -> bool:
        """Delete a done or dead row; return whether one was deleted."""
        ...

    def list_quarantine(self, limit: int) -> list[QuarantinedRow]:
        """Return quarantined bodies, newest first."""
        ...

    def get_quarantine(self, row_id: int) -> QuarantinedRow | None:
        """Return one quarantined body, or None."""
        ...

    def purge_quarantine(self, row_id: int) -> bool:
        """Delete one quarantined body; return whether it existed."""
        ...


def open_store(location: Path) -> Store:
    """Return the store for the configured inbox location, not yet opened."""
    # Imported here because the implementations import this module.
    from .sqlite_store import SQLiteStore

    return SQLiteStore(location)


def open_admin(location: Path) -> StoreAdmin:
    """Open an existing inbox for the command line.

    Raises InboxNotFoundError when there is none, and StorageError when it
    cannot be read.
    """
    from .sqlite_store import SQLiteAdmin

    return SQLiteAdmin(location)
