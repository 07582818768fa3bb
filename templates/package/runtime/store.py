"""The receiver's storage interface, its records, and how a store is chosen.

The endpoint and the worker use only `Store`, and the command line uses only
`StoreAdmin`. Two implementations exist: SQLite (`sqlite_store`, the default,
for one receiver process) and PostgreSQL (`postgres_store`, for several
receiver instances sharing one inbox). `open_store` and `open_admin` pick one
from the configured location: a `postgresql://` URL or a file path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .settings import DEFAULT_CLAIM_TIMEOUT_SECONDS, ConfigurationError

STATUSES: Final = ("pending", "done", "dead")
POSTGRESQL_SCHEMES: Final = ("postgresql", "postgres")
DRIVER_MODULES: Final = ("psycopg", "psycopg_pool")


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


ROW_COLUMNS: Final = (
    "id, message, operation_id, received_at, body, headers, body_sha256, status, "
    "attempts, last_error, next_attempt_at, handled_at"
)
"""Columns of the messages table in the order that `inbox_row` reads them."""
QUARANTINE_COLUMNS: Final = "id, operation_id, received_at, body, headers, problem"
"""Columns of the quarantine table in the order that `quarantined_row` reads."""


def inbox_row(values: Sequence[Any], timestamp: Callable[[Any], str] = str) -> InboxRow:
    """Build an InboxRow from ROW_COLUMNS values.

    `timestamp` turns a stored time into text: SQLite stores text already,
    while PostgreSQL returns datetime objects.
    """
    (
        row_id,
        message,
        operation_id,
        received_at,
        body,
        headers,
        body_sha256,
        status,
        attempts,
        last_error,
        next_attempt_at,
        handled_at,
    ) = values
    return InboxRow(
        id=int(row_id),
        message=str(message),
        operation_id=str(operation_id),
        received_at=timestamp(received_at),
        body=bytes(body),
        headers=dict(json.loads(headers)),
        body_sha256=str(body_sha256),
        status=str(status),
        attempts=int(attempts),
        last_error=None if last_error is None else str(last_error),
        next_attempt_at=timestamp(next_attempt_at),
        handled_at=None if handled_at is None else timestamp(handled_at),
    )


def quarantined_row(
    values: Sequence[Any], timestamp: Callable[[Any], str] = str
) -> QuarantinedRow:
    """Build a QuarantinedRow from QUARANTINE_COLUMNS values."""
    row_id, operation_id, received_at, body, headers, problem = values
    return QuarantinedRow(
        id=int(row_id),
        operation_id=str(operation_id),
        received_at=timestamp(received_at),
        body=bytes(body),
        headers=dict(json.loads(headers)),
        problem=dict(json.loads(problem)),
    )


def message_values(new: NewMessage, received_at: Any) -> tuple[Any, ...]:
    """Return the insert parameters of a new message.

    Their order is message, operation_id, received_at, body, headers,
    body_sha256, dedup_key, next_attempt_at. `received_at` is stored as given
    (text for SQLite, a datetime for PostgreSQL) and is also the time of the
    first handling attempt.
    """
    return (
        new.message,
        new.operation_id,
        received_at,
        new.body,
        json.dumps(dict(new.headers), sort_keys=True),
        hashlib.sha256(new.body).hexdigest(),
        dedup_key(new),
        received_at,
    )


def rejected_values(rejected: Rejected, received_at: Any) -> tuple[Any, ...]:
    """Return the insert parameters of a rejected body.

    Their order is operation_id, received_at, body, headers, body_sha256,
    problem; `received_at` is stored as given.
    """
    return (
        rejected.operation_id,
        received_at,
        rejected.body,
        json.dumps(dict(rejected.headers), sort_keys=True),
        hashlib.sha256(rejected.body).hexdigest(),
        json.dumps(dict(rejected.problem), sort_keys=True),
    )


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """Format a UTC time with fixed width, so that text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def dedup_key(new: NewMessage) -> str:
    """Return the SHA-256 hex digest that identifies a redelivered message.

    With an idempotency key from the payload, the key decides; otherwise the
    exact body does. The operation and the message name are part of the digest,
    so two messages of one operation that share a key value are both stored.
    Each part is prefixed with its length, so no two inputs share a digest input.
    """
    if new.idempotency_key is None:
        parts = (b"body", new.body)
    else:
        parts = (b"key", new.idempotency_key.encode("utf-8"))
    digest = hashlib.sha256()
    for part in (new.operation_id.encode("utf-8"), new.message.encode("utf-8"), *parts):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
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
        """Claim the oldest pending row whose next attempt is due, and return it.

        A claimed row is not returned to any other caller until this store
        marks it, or until its claim expires. The SQLite store serves one
        process, so its claim is only that the single worker takes rows in turn.
        """
        ...

    async def earliest_pending_attempt(self) -> datetime | None:
        """Return the earliest time at which a pending row can be claimed."""
        ...

    async def mark_done(self, row_id: int, handled_at: datetime) -> None:
        """Record a successful handler call on a row this store claimed.

        Nothing changes when another store has claimed the row since.
        """
        ...

    async def mark_failed(
        self, row_id: int, *, error: str, next_attempt_at: datetime | None
    ) -> None:
        """Record a failed handler call; without a next attempt the row is dead.

        Like `mark_done`, it applies only while this store has the claim.
        """
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


def is_postgresql_url(location: Path | str) -> bool:
    """Return whether `location` is a PostgreSQL URL rather than a file path."""
    return isinstance(location, str) and urlsplit(location).scheme in (
        POSTGRESQL_SCHEMES
    )


def redact_url(url: str) -> str:
    """Return `url` without its password, for logs and error messages.

    libpq takes the password from the user-info part or from a `password`
    query parameter, so both are removed.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user_info, _, hosts = netloc.rpartition("@")
        user = user_info.partition(":")[0]
        netloc = f"{user}@{hosts}" if user else hosts
    query = urlencode(
        [
            (name, value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if name != "password"
        ]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe_location(location: Path | str) -> str:
    """Return the store location as it may appear in logs: no password."""
    if is_postgresql_url(location):
        return redact_url(str(location))
    return str(location)


def open_store(
    location: Path | str,
    *,
    claim_timeout_seconds: float = DEFAULT_CLAIM_TIMEOUT_SECONDS,
) -> Store:
    """Return the store for the configured inbox location, not yet opened.

    A `postgresql://` URL selects PostgreSQL, with claims that expire after
    `claim_timeout_seconds`. Anything else is the path of a SQLite file.
    """
    if is_postgresql_url(location):
        return _postgres_module().PostgresStore(  # type: ignore[no-any-return]
            str(location), claim_timeout_seconds=claim_timeout_seconds
        )

    # Imported here because the implementations import this module.
    from .sqlite_store import SQLiteStore

    return SQLiteStore(Path(location))


def open_admin(location: Path | str) -> StoreAdmin:
    """Open an existing inbox for the command line.

    Raises InboxNotFoundError when there is none, and StorageError when it
    cannot be read.
    """
    if is_postgresql_url(location):
        return _postgres_module().PostgresAdmin(  # type: ignore[no-any-return]
            str(location)
        )

    from .sqlite_store import SQLiteAdmin

    return SQLiteAdmin(Path(location))


def migrate(location: Path | str) -> list[str]:
    """Create or upgrade the inbox schema; return a line per change made.

    Raises StorageError when the store cannot be reached or upgraded.
    """
    if is_postgresql_url(location):
        return _postgres_module().migrate_database(  # type: ignore[no-any-return]
            str(location)
        )

    from .sqlite_store import migrate_file

    return migrate_file(Path(location))


def _postgres_module() -> ModuleType:
    """Import the PostgreSQL store, which needs psycopg, only when it is used.

    Raises ConfigurationError when psycopg or its pool is not installed.
    """
    try:
        from . import postgres_store
    except ModuleNotFoundError as error:
        if error.name not in DRIVER_MODULES:
            raise
        raise ConfigurationError(
            "RECEIVER_DATABASE_URL names a PostgreSQL server, but the driver is "
            f"not installed ({error.name}): pip install 'psycopg[binary]' "
            "psycopg-pool"
        ) from error
    return postgres_store
