"""Two receiver processes sharing one PostgreSQL inbox, as behind a load balancer.

Each test runs two `python -m realtor_connections_plus serve` processes on two
ports of 127.0.0.1 against a new schema of the test server, and sends every
lead to both, as a sender does that retries through another instance.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
from realtor_connections_plus.runtime.testing import RunningReceiver, running_receiver

from .test_receiver_faults import API_KEY, LeadSender

PACKAGE = "realtor_connections_plus"
LEAD_COUNT = 300
SENDER_THREADS = 16
WAIT_SECONDS = 60.0
HANDLER_MODULE = "shared_inbox_handler"
LOG_VARIABLE = "SHARED_HANDLER_LOG"
INSTANCE_VARIABLE = "SHARED_HANDLER_INSTANCE"
HANG_VARIABLE = "SHARED_HANDLER_HANG"
KILL_AFTER_RESPONSES = 60
KILL_LEASE_SECONDS = 10

# Each call appends "<instance> <lead_id>" with one O_APPEND write, so lines
# from both processes, and from before a SIGKILL, are whole. An instance with
# HANG_VARIABLE set blocks in its first handler call, holding that row's claim
# until the process is killed.
HANDLER_SOURCE = f"""
import os
import time

LOG_PATH = os.environ[{LOG_VARIABLE!r}]
INSTANCE = os.environ[{INSTANCE_VARIABLE!r}]
HANG = {HANG_VARIABLE!r} in os.environ


class RecordingHandler:
    def _record(self, payload):
        line = f"{{INSTANCE}} {{payload.lead_id}}\\n".encode("utf-8")
        descriptor = os.open(LOG_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)
        if HANG:
            time.sleep(3600)

    def on_buyer_lead(self, payload):
        self._record(payload)

    def on_seller_lead(self, payload):
        self._record(payload)
"""


def handler_calls(log_path: Path) -> list[tuple[str, str]]:
    """Return (instance, lead_id) of every handler call, in order."""
    if not log_path.exists():
        return []
    lines = log_path.read_text("utf-8").splitlines()
    return [(line.split(" ")[0], line.split(" ")[1]) for line in lines]


def stored_rows(url: str) -> list[tuple[Any, ...]]:
    """Return (lead_id, status, claimed_by) of every inbox row."""
    with psycopg.connect(url) as connection:
        return connection.execute(
            "SELECT convert_from(body, 'UTF8')::jsonb ->> 'lead_id', status, "
            "claimed_by FROM messages"
        ).fetchall()


def wait_until_no_pending(url: str, receivers: list[RunningReceiver]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while any(status == "pending" for _, status, _ in stored_rows(url)):
        for receiver in receivers:
            if receiver.process.poll() is not None:
                pytest.fail(f"receiver exited. Its output:\n{receiver.output_text()}")
        if time.monotonic() > deadline:
            outputs = "\n".join(receiver.output_text() for receiver in receivers)
            pytest.fail(f"rows still pending after {WAIT_SECONDS} s:\n{outputs}")
        time.sleep(0.2)


def instance_env(base: dict[str, str], instance: str, **extra: str) -> dict[str, str]:
    return {**base, INSTANCE_VARIABLE: instance, **extra}


@pytest.fixture
def shared_env(postgres_url: str, tmp_path: Path) -> dict[str, str]:
    """Return the environment of both receivers, with the handler in tmp_path."""
    handler_folder = tmp_path / "handler"
    handler_folder.mkdir()
    (handler_folder / f"{HANDLER_MODULE}.py").write_text(HANDLER_SOURCE, "utf-8")
    return {
        "RECEIVER_API_KEYS": API_KEY,
        "RECEIVER_DATABASE_URL": postgres_url,
        # A SQLite file here would show that the URL was ignored.
        "RECEIVER_DB_PATH": str(tmp_path / "unused.sqlite3"),
        "RECEIVER_HANDLER": f"{HANDLER_MODULE}:RecordingHandler",
        LOG_VARIABLE: str(tmp_path / "handled.log"),
        "PYTHONPATH": str(handler_folder),
    }


@pytest.fixture
def lead_ids() -> list[str]:
    return [f"L-{number}" for number in range(1, LEAD_COUNT + 1)]


def test_two_instances_store_and_handle_once(
    shared_env: dict[str, str], lead_ids: list[str], tmp_path: Path
) -> None:
    url = shared_env["RECEIVER_DATABASE_URL"]
    with ExitStack() as stack:
        receivers = [
            stack.enter_context(
                running_receiver(PACKAGE, instance_env(shared_env, name))
            )
            for name in ("A", "B")
        ]
        senders = [LeadSender(receiver.base_url) for receiver in receivers]
        try:
            with ThreadPoolExecutor(SENDER_THREADS) as pool:
                futures = [
                    pool.submit(sender.send, lead_id)
                    for lead_id in lead_ids
                    for sender in senders
                ]
                for future in futures:
                    future.result()
        finally:
            for sender in senders:
                sender.close()
        wait_until_no_pending(url, receivers)

    for lead_id in lead_ids:
        statuses = sorted(sender.statuses[lead_id] or 0 for sender in senders)
        assert statuses == [200, 202], f"{lead_id}: one stores, one sees a duplicate"

    rows = stored_rows(url)
    assert Counter(lead_id for lead_id, _, _ in rows) == Counter(lead_ids)
    assert {status for _, status, _ in rows} == {"done"}

    calls = handler_calls(Path(shared_env[LOG_VARIABLE]))
    assert Counter(lead_id for _, lead_id in calls) == Counter(lead_ids)
    assert {instance for instance, _ in calls} <= {"A", "B"}
    assert not (tmp_path / "unused.sqlite3").exists()


def test_sigkill_one_instance_survivor_takes_over(
    shared_env: dict[str, str], lead_ids: list[str]
) -> None:
    """Kill instance A with SIGKILL mid-run while its handler has a claim.

    A's handler blocks in its first call, so at the kill A has that lead's
    claim and has finished no handler call. Checks:
    - Every lead was acknowledged by the survivor B and is stored exactly once.
    - Every row ends done: B handles the lead that A had claimed once its
      lease of KILL_LEASE_SECONDS expires.
    - That lead is handled twice (A's unfinished call, then B's), every other
      lead exactly once, by B.
    """
    url = shared_env["RECEIVER_DATABASE_URL"]
    log_path = Path(shared_env[LOG_VARIABLE])
    common = {**shared_env, "RECEIVER_CLAIM_TIMEOUT_SECONDS": str(KILL_LEASE_SECONDS)}
    with ExitStack() as stack:
        doomed = stack.enter_context(
            running_receiver(PACKAGE, instance_env(common, "A", **{HANG_VARIABLE: "1"}))
        )
        survivor = stack.enter_context(
            running_receiver(PACKAGE, instance_env(common, "B"))
        )
        senders = [
            LeadSender(doomed.base_url, notify_after=KILL_AFTER_RESPONSES),
            LeadSender(survivor.base_url),
        ]
        try:
            with ThreadPoolExecutor(SENDER_THREADS) as pool:
                futures = [
                    pool.submit(sender.send, lead_id)
                    for lead_id in lead_ids
                    for sender in senders
                ]
                hung_lead, claim_at_kill = kill_mid_run(
                    doomed, senders[0], url, log_path
                )
                for future in futures:
                    future.result()
        finally:
            for sender in senders:
                sender.close()
        wait_until_no_pending(url, [survivor])

    assert claim_at_kill is not None, f"{hung_lead} was not pending at the kill"
    assert f"/{doomed.process.pid}/" in claim_at_kill, "A did not hold the claim"

    survivor_statuses = senders[1].statuses
    assert {survivor_statuses[lead_id] for lead_id in lead_ids} <= {200, 202}
    rows = stored_rows(url)
    assert Counter(lead_id for lead_id, _, _ in rows) == Counter(lead_ids)
    assert {status for _, status, _ in rows} == {"done"}

    calls = handler_calls(log_path)
    counts = Counter(lead_id for _, lead_id in calls)
    assert sorted(counts) == sorted(lead_ids)
    twice = {lead_id: count for lead_id, count in counts.items() if count != 1}
    assert twice == {hung_lead: 2}
    assert [call for call in calls if call[0] == "A"] == [("A", hung_lead)]
    hung_calls = [instance for instance, lead_id in calls if lead_id == hung_lead]
    assert hung_calls == ["A", "B"]


def kill_mid_run(
    receiver: RunningReceiver, sender: LeadSender, url: str, log_path: Path
) -> tuple[str, str | None]:
    """SIGKILL `receiver` once its handler hangs and enough responses arrived.

    Returns the lead its handler hung on, and that row's claimant right after
    the kill, or None when the row was not pending.
    """
    assert sender.enough_responses.wait(WAIT_SECONDS), (
        f"fewer than {KILL_AFTER_RESPONSES} responses in {WAIT_SECONDS} s. "
        f"Server output:\n{receiver.output_text()}"
    )
    deadline = time.monotonic() + WAIT_SECONDS
    hung_leads: list[str] = []
    while not hung_leads:
        if time.monotonic() > deadline:
            pytest.fail(f"A handled no lead. Its output:\n{receiver.output_text()}")
        time.sleep(0.02)
        calls = handler_calls(log_path)
        hung_leads = [lead_id for instance, lead_id in calls if instance == "A"]
    os.kill(receiver.process.pid, signal.SIGKILL)
    receiver.process.wait()
    hung_lead = hung_leads[0]
    for lead_id, status, claimed_by in stored_rows(url):
        if lead_id == hung_lead and status == "pending":
            return hung_lead, str(claimed_by)
    return hung_lead, None
