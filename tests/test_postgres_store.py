"""What only the PostgreSQL store promises: claims, leases, migrations and URLs.

The behaviour that both stores share is in test_store.py. These tests use a
new schema of the test server each (the `postgres_url` fixture).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from realtor_connections_plus.runtime.postgres_store import (
    MIGRATIONS,
    Migration,
    PostgresStore,
    migrate_database,
)
from realtor_connections_plus.runtime.settings import ConfigurationError, Settings
from realtor_connections_plus.runtime.store import (
    NewMessage,
    StorageError,
    describe_location,
    open_admin,
    redact_url,
    utc_now,
)

PACKAGE = "realtor_connections_plus"
SHORT_LEASE_SECONDS = 0.5
WAIT_SECONDS = 30.0
MESSAGE_COUNT = 60
CLAIMERS_PER_STORE = 4
MIGRATING_PROCESSES = 4


def lead(number: int) -> NewMessage:
    return NewMessage(
        message="BuyerLead",
        operation_id="receiveLead",
        body=b'{"lead_id": "%d"}' % number,
        headers={"content-type": "application/json"},
        idempotency_key=str(number),
    )


def test_expired_lease_lets_another_claim(postgres_url: str) -> None:
    async def scenario() -> None:
        first = PostgresStore(postgres_url, claim_timeout_seconds=SHORT_LEASE_SECONDS)
        second = PostgresStore(postgres_url, claim_timeout_seconds=SHORT_LEASE_SECONDS)
        await first.open()
        await second.open()
        try:
            row_id = (await first.add_message(lead(1), utc_now())).id
            claimed = await first.next_due(utc_now())
            assert claimed is not None
            assert claimed.id == row_id
            assert await second.next_due(utc_now()) is None

            deadline = time.monotonic() + WAIT_SECONDS
            taken_over = None
            while taken_over is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                taken_over = await second.next_due(utc_now())
            assert taken_over is not None, "the lease never expired"
            assert taken_over.id == row_id

            # The first claimer lost its claim, so its result is ignored.
            await first.mark_done(row_id, utc_now())
            assert await second.next_due(utc_now()) is None
            await second.mark_done(row_id, utc_now())
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())
    admin = open_admin(postgres_url)
    try:
        assert admin.count_by_status() == {"pending": 0, "done": 1, "dead": 0}
        row = admin.list_rows(status="done", limit=1)[0]
        assert row.attempts == 1
    finally:
        admin.close()


def test_concurrent_claimers_never_share_row(postgres_url: str) -> None:
    async def claim_all(store: PostgresStore) -> list[int]:
        claimed: list[int] = []
        while (row := await store.next_due(utc_now())) is not None:
            claimed.append(row.id)
            await store.mark_done(row.id, utc_now())
        return claimed

    async def scenario() -> tuple[list[int], list[list[int]]]:
        stores = [
            PostgresStore(postgres_url, claim_timeout_seconds=60.0) for _ in range(2)
        ]
        for store in stores:
            await store.open()
        try:
            ids = [
                (await stores[0].add_message(lead(number), utc_now())).id
                for number in range(MESSAGE_COUNT)
            ]
            claimers = [
                claim_all(store) for store in stores for _ in range(CLAIMERS_PER_STORE)
            ]
            return ids, list(await asyncio.gather(*claimers))
        finally:
            for store in stores:
                await store.close()

    ids, claimed_per_claimer = asyncio.run(scenario())
    claimed = [row_id for claims in claimed_per_claimer for row_id in claims]
    assert sorted(claimed) == sorted(ids)
    assert len(set(claimed)) == len(claimed)


def test_concurrent_migrations_apply_once(postgres_url: str) -> None:
    with ThreadPoolExecutor(MIGRATING_PROCESSES) as pool:
        results = list(
            pool.map(
                lambda _: migrate_database(postgres_url), range(MIGRATING_PROCESSES)
            )
        )
    applied = [line for lines in results for line in lines if "applied" in line]
    assert applied == ["applied migration 1: create the messages and quarantine tables"]
    with psycopg.connect(postgres_url) as connection:
        versions = connection.execute(
            "SELECT version FROM schema_migrations"
        ).fetchall()
    assert versions == [(1,)]


def test_migrate_command_from_processes(postgres_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "RECEIVER_DATABASE_URL": postgres_url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", PACKAGE, "migrate"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(MIGRATING_PROCESSES)
    ]
    outputs = [process.communicate(timeout=WAIT_SECONDS) for process in processes]
    assert [process.returncode for process in processes] == [0] * len(processes)
    stdout = "".join(out for out, _ in outputs)
    assert stdout.count("applied migration 1:") == 1
    assert stdout.count("is at schema version 1") == MIGRATING_PROCESSES - 1
    assert not (tmp_path / "var").exists(), "migrate created a SQLite file"


def test_new_migration_applied_on_upgrade(postgres_url: str) -> None:
    migrate_database(postgres_url)
    upgrade = Migration(
        version=2,
        description="add a note column",
        sql="ALTER TABLE messages ADD COLUMN note TEXT",
    )
    lines = migrate_database(postgres_url, (*MIGRATIONS, upgrade))
    assert lines == ["applied migration 2: add a note column"]
    with pytest.raises(StorageError, match="newer than this receiver's version 1"):
        migrate_database(postgres_url)


def test_inbox_command_reads_postgres(postgres_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "RECEIVER_DATABASE_URL": postgres_url}
    command = [sys.executable, "-m", PACKAGE, "inbox", "stats"]

    before = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert before.returncode == 1
    assert "no inbox in the database" in before.stderr

    async def store_one() -> None:
        store = PostgresStore(postgres_url, claim_timeout_seconds=60.0)
        await store.open()
        try:
            await store.add_message(lead(1), utc_now())
        finally:
            await store.close()

    asyncio.run(store_one())
    after = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines() == ["pending\t1", "done\t0", "dead\t0", "total\t1"]


def test_password_hidden_from_location() -> None:
    url = "postgresql://inbox:hunter2@db.internal:5432/leads?password=hunter2&x=1"
    assert redact_url(url) == "postgresql://inbox@db.internal:5432/leads?x=1"
    assert "hunter2" not in describe_location(url)
    settings = Settings.from_env({"RECEIVER_DATABASE_URL": url}, (), None)
    assert settings.inbox_location == url
    assert "hunter2" not in repr(settings)


def test_password_hidden_from_errors() -> None:
    # A closed port on 127.0.0.1: the connection fails with libpq's message.
    url = "postgresql://inbox:hunter2@127.0.0.1:1/leads?connect_timeout=5"

    async def open_store() -> None:
        await PostgresStore(url, claim_timeout_seconds=60.0).open()

    with pytest.raises(StorageError) as raised:
        asyncio.run(open_store())
    assert "hunter2" not in str(raised.value)
    assert "postgresql://inbox@127.0.0.1:1/leads" in str(raised.value)


def test_non_postgres_url_rejected() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"RECEIVER_DATABASE_URL": "mysql://u:hunter2@h/db"}, (), None)
    assert "hunter2" not in str(raised.value)
