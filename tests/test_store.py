"""The store contract: what the endpoint, the worker and the command line rely on.

Each test runs against every store implementation through the `Store` and
`StoreAdmin` protocols only, so a new implementation passes this file or is
not done. Each PostgreSQL test gets a new, empty schema; without a server those
tests skip, and under CI they fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from realtor_connections_plus.runtime.store import (
    NewMessage,
    Rejected,
    StorageError,
    Store,
    StoreAdmin,
    open_admin,
    open_store,
    utc_now,
)

T = TypeVar("T")


@dataclass
class Backend:
    """Opens stores and admins on one location."""

    location: Path | str

    def store(self) -> Store:
        return open_store(self.location)

    def admin(self) -> StoreAdmin:
        return open_admin(self.location)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "postgresql":
        return Backend(request.getfixturevalue("postgres_url"))
    return Backend(tmp_path / "inbox.sqlite3")


def run(action: Callable[[Store], Awaitable[T]], backend: Backend) -> T:
    """Open a store, run `action` on it, and close it again."""

    async def body() -> T:
        store = backend.store()
        await store.open()
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(body())


async def add_and_claim(store: Store) -> int:
    """Store one message and claim it, as the worker does before a handler call."""
    row_id = (await store.add_message(message(), utc_now())).id
    claimed = await store.next_due(utc_now())
    assert claimed is not None
    assert claimed.id == row_id
    return row_id


def message(body: bytes = b'{"lead_id": 1}', key: str | None = "1") -> NewMessage:
    return NewMessage(
        message="BuyerLead",
        operation_id="receiveLead",
        body=body,
        headers={"content-type": "application/json"},
        idempotency_key=key,
    )


def test_redelivery_is_stored_once(backend: Backend) -> None:
    async def action(store: Store) -> list[Any]:
        first = await store.add_message(message(), utc_now())
        again = await store.add_message(message(b'{"lead_id": 1} '), utc_now())
        return [first, again]

    first, again = run(action, backend)
    assert not first.duplicate
    assert again.duplicate
    assert again.id == first.id


def test_same_key_of_other_message_is_stored(backend: Backend) -> None:
    seller = NewMessage(
        message="SellerLead",
        operation_id="receiveLead",
        body=b'{"lead_id": 1, "role": "seller"}',
        headers={},
        idempotency_key="1",
    )

    async def action(store: Store) -> list[Any]:
        buyer = await store.add_message(message(), utc_now())
        return [buyer, await store.add_message(seller, utc_now())]

    buyer, stored = run(action, backend)
    assert not stored.duplicate
    assert stored.id != buyer.id


def test_bodies_without_key_dedupe_by_bytes(backend: Backend) -> None:
    async def action(store: Store) -> list[Any]:
        return [
            await store.add_message(message(b"{}", None), utc_now()),
            await store.add_message(message(b"{ }", None), utc_now()),
            await store.add_message(message(b"{}", None), utc_now()),
        ]

    first, other, same = run(action, backend)
    assert other.id != first.id
    assert not other.duplicate
    assert same.duplicate
    assert same.id == first.id


def test_concurrent_redeliveries_store_one_row(backend: Backend) -> None:
    async def action(store: Store) -> list[Any]:
        writes = [store.add_message(message(), utc_now()) for _ in range(20)]
        return list(await asyncio.gather(*writes))

    results = run(action, backend)
    assert len({result.id for result in results}) == 1
    assert sum(not result.duplicate for result in results) == 1


def test_rows_survive_reopening(backend: Backend) -> None:
    async def action(store: Store) -> int:
        return (await store.add_message(message(), utc_now())).id

    row_id = run(action, backend)
    admin = backend.admin()
    try:
        row = admin.get_row(row_id)
    finally:
        admin.close()
    assert row is not None
    assert row.body == b'{"lead_id": 1}'
    assert row.status == "pending"
    assert row.headers == {"content-type": "application/json"}


def test_due_rows_come_oldest_first(backend: Backend) -> None:
    async def action(store: Store) -> list[Any]:
        first = await store.add_message(message(b"1", "1"), utc_now())
        await store.add_message(message(b"2", "2"), utc_now())
        return [first.id, await store.next_due(utc_now())]

    first_id, due = run(action, backend)
    assert due is not None
    assert due.id == first_id


def test_failed_row_waits_for_next_attempt(backend: Backend) -> None:
    later = utc_now() + timedelta(hours=1)

    async def action(store: Store) -> list[Any]:
        row_id = await add_and_claim(store)
        await store.mark_failed(row_id, error="boom", next_attempt_at=later)
        return [
            await store.next_due(utc_now()),
            await store.earliest_pending_attempt(),
            await store.next_due(later),
        ]

    now_due, earliest, later_due = run(action, backend)
    assert now_due is None
    assert later_due is not None
    assert later_due.attempts == 1
    assert later_due.last_error == "boom"
    assert earliest == later


def test_row_is_dead_after_last_failure(backend: Backend) -> None:
    async def action(store: Store) -> int:
        row_id = await add_and_claim(store)
        await store.mark_failed(row_id, error="boom", next_attempt_at=None)
        assert await store.next_due(utc_now() + timedelta(days=30)) is None
        return row_id

    row_id = run(action, backend)
    admin = backend.admin()
    try:
        assert admin.count_by_status() == {"pending": 0, "done": 0, "dead": 1}
        assert admin.purge_finished(row_id) is True
        assert admin.get_row(row_id) is None
    finally:
        admin.close()


def test_dead_row_can_be_retried(backend: Backend) -> None:
    async def fail(store: Store) -> int:
        row_id = await add_and_claim(store)
        await store.mark_failed(row_id, error="boom", next_attempt_at=None)
        return row_id

    row_id = run(fail, backend)
    admin = backend.admin()
    try:
        assert admin.retry_dead(row_id, utc_now()) is True
        assert admin.retry_dead(row_id, utc_now()) is False
        assert admin.purge_finished(row_id) is False
    finally:
        admin.close()

    async def handle(store: Store) -> Any:
        due = await store.next_due(utc_now())
        assert due is not None
        assert due.attempts == 0
        await store.mark_done(due.id, utc_now())
        return await store.next_due(utc_now())

    assert run(handle, backend) is None
    admin = backend.admin()
    try:
        rows = admin.list_rows(status="done", limit=10)
    finally:
        admin.close()
    assert [row.id for row in rows] == [row_id]
    assert rows[0].handled_at is not None


def test_rejected_body_is_kept_once(backend: Backend) -> None:
    rejected = Rejected(
        operation_id="receiveLead",
        body=b'{"lead_id": "x"}',
        headers={"content-type": "application/json"},
        problem={"status": 422, "title": "Unprocessable Content"},
    )

    async def action(store: Store) -> list[int]:
        return [
            await store.add_rejected(rejected, utc_now()),
            await store.add_rejected(rejected, utc_now()),
        ]

    first, again = run(action, backend)
    assert again == first
    admin = backend.admin()
    try:
        held = admin.list_quarantine(10)
        assert [row.id for row in held] == [first]
        assert held[0].problem["status"] == 422
        found = admin.get_quarantine(first)
        assert found is not None
        assert found.body == rejected.body
        assert admin.purge_quarantine(first) is True
        assert admin.get_quarantine(first) is None
    finally:
        admin.close()


def test_closed_store_rejects_writes(backend: Backend) -> None:
    async def action() -> None:
        store = backend.store()
        await store.open()
        assert store.running
        await store.close()
        assert not store.running
        with pytest.raises(StorageError):
            await store.add_message(message(), utc_now())

    asyncio.run(action())
