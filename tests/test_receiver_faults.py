"""Fault and abuse tests of the generated Realtor receiver as a real server process.

Each test runs `python -m realtor_connections_plus serve` on 127.0.0.1 with its
SQLite inbox in tmp_path, and sends requests with httpx or a raw socket.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from realtor_connections_plus.runtime.testing import RunningReceiver, running_receiver

PACKAGE = "realtor_connections_plus"
API_KEY = "fault-test-key"
LEAD_COUNT = 300
KILL_AFTER_RESPONSES = 100
SENDER_THREADS = 16
WAIT_SECONDS = 30.0
HANDLER_MODULE = "fault_recording_handler"
HANDLER_LOG_VARIABLE = "FAULT_HANDLER_LOG"

# The handler appends each lead_id as one line with a single O_APPEND write, so
# lines from before a SIGKILL are whole and stay in the file.
HANDLER_SOURCE = f"""
import os

LOG_PATH = os.environ[{HANDLER_LOG_VARIABLE!r}]


class RecordingHandler:
    def _record(self, payload):
        descriptor = os.open(LOG_PATH, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, (payload.lead_id + "\\n").encode("utf-8"))
        finally:
            os.close(descriptor)

    def on_buyer_lead(self, payload):
        self._record(payload)

    def on_seller_lead(self, payload):
        self._record(payload)
"""


def lead_body(lead_id: str) -> bytes:
    """Return the JSON body of a valid buyer lead."""
    lead = {
        "lead_id": lead_id,
        "role": "buyer",
        "contact": {"email": "a@example.com"},
        "timestamp": "2026-12-04T10:15:00Z",
    }
    return json.dumps(lead).encode("utf-8")


def inbox_rows(db_path: Path) -> list[tuple[str, str]]:
    """Return (lead_id, status) of every inbox row, read from the stored body."""
    connection = sqlite3.connect(db_path)
    try:
        rows = connection.execute("SELECT body, status FROM messages").fetchall()
    finally:
        connection.close()
    return [(json.loads(body)["lead_id"], status) for body, status in rows]


def pending_count(db_path: Path) -> int:
    connection = sqlite3.connect(db_path)
    try:
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM messages WHERE status = 'pending'"
        ).fetchone()
    finally:
        connection.close()
    return int(count)


def handled_lead_ids(log_path: Path) -> list[str]:
    if not log_path.exists():
        return []
    return log_path.read_text("utf-8").splitlines()


class LeadSender:
    """Posts leads from a thread pool, one httpx client per thread.

    `statuses` maps each lead_id to its response status, or to None when the
    request failed without a response. `enough_responses` is set once
    `notify_after` responses arrived.
    """

    def __init__(self, base_url: str, notify_after: int | None = None) -> None:
        self.base_url = base_url
        self.notify_after = notify_after
        self.statuses: dict[str, int | None] = {}
        self.enough_responses = threading.Event()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._response_count = 0

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(
                base_url=self.base_url,
                headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
                timeout=WAIT_SECONDS,
            )
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def send(self, lead_id: str) -> None:
        try:
            status: int | None = (
                self._client().post("/lead", content=lead_body(lead_id)).status_code
            )
        except httpx.TransportError:
            status = None
        with self._lock:
            self.statuses[lead_id] = status
            if status is not None:
                self._response_count += 1
            if self.notify_after is not None and (
                self._response_count >= self.notify_after
            ):
                self.enough_responses.set()

    def close(self) -> None:
        for client in self._clients:
            client.close()


def wait_until_no_pending(receiver: RunningReceiver) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while pending_count(receiver.db_path) > 0:
        if receiver.process.poll() is not None:
            pytest.fail(f"receiver exited. Its output:\n{receiver.output_text()}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"inbox rows still pending after {WAIT_SECONDS} s. Server output:\n"
                f"{receiver.output_text()}"
            )
        time.sleep(0.1)


@pytest.fixture
def fault_env(tmp_path: Path) -> dict[str, str]:
    """Return the receiver environment with the recording handler in tmp_path."""
    handler_folder = tmp_path / "handler"
    handler_folder.mkdir()
    (handler_folder / f"{HANDLER_MODULE}.py").write_text(HANDLER_SOURCE, "utf-8")
    return {
        "RECEIVER_API_KEYS": API_KEY,
        "RECEIVER_DB_PATH": str(tmp_path / "inbox.sqlite3"),
        "RECEIVER_HANDLER": f"{HANDLER_MODULE}:RecordingHandler",
        HANDLER_LOG_VARIABLE: str(tmp_path / "handled.log"),
        "PYTHONPATH": str(handler_folder),
    }


def test_sigkill_mid_load_loses_no_lead(fault_env: dict[str, str]) -> None:
    """Kill the receiver with SIGKILL under load, restart it and resend every lead.

    Checks:
    - Every lead that got a 2xx before the kill is in the inbox exactly once.
    - After the restart and resend, every lead is in the inbox exactly once with
      status done, and the resend returns 200 exactly for the leads already stored.
    - The handler ran for every lead at least once.

    Delivery to the handler is at least once. A lead whose handler call finished
    but whose row was not yet marked done at the kill is handled again after the
    restart. The worker handles one row at a time, so at most one lead may be
    handled twice. That lead must have been pending in the inbox at the kill and
    handled once before it. A lead that was done at the kill is handled once.
    """
    db_path = Path(fault_env["RECEIVER_DB_PATH"])
    log_path = Path(fault_env[HANDLER_LOG_VARIABLE])
    lead_ids = [f"L-{number}" for number in range(1, LEAD_COUNT + 1)]

    with running_receiver(PACKAGE, fault_env) as receiver:
        sender = LeadSender(receiver.base_url, notify_after=KILL_AFTER_RESPONSES)
        try:
            with ThreadPoolExecutor(SENDER_THREADS) as pool:
                futures = [pool.submit(sender.send, lead_id) for lead_id in lead_ids]
                assert sender.enough_responses.wait(WAIT_SECONDS), (
                    f"fewer than {KILL_AFTER_RESPONSES} responses in {WAIT_SECONDS} "
                    f"s. Server output:\n{receiver.output_text()}"
                )
                os.kill(receiver.process.pid, signal.SIGKILL)
                receiver.process.wait()
                for future in futures:
                    future.result()
        finally:
            sender.close()
    assert receiver.process.returncode == -signal.SIGKILL

    acknowledged = {
        lead_id
        for lead_id, status in sender.statuses.items()
        if status is not None and 200 <= status < 300
    }
    unexpected = {
        lead_id: status
        for lead_id, status in sender.statuses.items()
        if status is not None and status != 202
    }
    assert unexpected == {}, "a first delivery returned a status other than 202"
    assert len(acknowledged) >= KILL_AFTER_RESPONSES

    rows_at_kill = inbox_rows(db_path)
    counts_at_kill = Counter(lead_id for lead_id, _ in rows_at_kill)
    status_at_kill = dict(rows_at_kill)
    handled_before_kill = handled_lead_ids(log_path)
    missing = sorted(acknowledged - counts_at_kill.keys())
    assert missing == [], "leads acknowledged with 2xx are missing from the inbox"
    repeated = {lead_id: n for lead_id, n in counts_at_kill.items() if n != 1}
    assert repeated == {}, "leads stored more than once before the kill"
    handled_unstored = sorted(set(handled_before_kill) - counts_at_kill.keys())
    assert handled_unstored == [], "the handler ran for leads not in the inbox"

    with running_receiver(PACKAGE, fault_env) as receiver:
        resender = LeadSender(receiver.base_url)
        try:
            with ThreadPoolExecutor(SENDER_THREADS) as pool:
                for future in [pool.submit(resender.send, i) for i in lead_ids]:
                    future.result()
        finally:
            resender.close()
        wait_until_no_pending(receiver)

    expected_statuses = {
        lead_id: 200 if lead_id in counts_at_kill else 202 for lead_id in lead_ids
    }
    assert resender.statuses == expected_statuses

    final_rows = inbox_rows(db_path)
    final_counts = Counter(lead_id for lead_id, _ in final_rows)
    assert sorted(final_counts) == sorted(lead_ids)
    assert set(final_counts.values()) == {1}
    assert {status for _, status in final_rows} == {"done"}

    handled_counts = Counter(handled_lead_ids(log_path))
    assert sorted(handled_counts) == sorted(lead_ids)
    handled_twice = {lead_id: n for lead_id, n in handled_counts.items() if n > 1}
    assert len(handled_twice) <= 1, f"more than one lead in flight: {handled_twice}"
    for lead_id, count in handled_twice.items():
        assert count == 2, f"{lead_id} handled {count} times"
        assert status_at_kill[lead_id] == "pending"
        assert handled_before_kill.count(lead_id) == 1


# Abuse cases


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 response with a Content-Length body from `sock`.

    Returns the status code, the lower-case headers and the body.
    """
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a complete response: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    content_length = int(headers.get("content-length", "0"))
    while len(body) < content_length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the end of the response body"
        body += chunk
    return int(status_line.split(" ")[1]), headers, body


def send_raw(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    port = httpx.URL(base_url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(request)
        return read_response(sock)


def raw_lead_request(body: bytes, extra_headers: bytes = b"") -> bytes:
    return (
        b"POST /lead HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"X-API-Key: "
        + API_KEY.encode()
        + b"\r\nContent-Type: application/json\r\n"
        + b"Content-Length: %d\r\n" % len(body)
        + extra_headers
        + b"\r\n"
        + body
    )


def stored_headers(db_path: Path, lead_id: str) -> dict[str, str]:
    connection = sqlite3.connect(db_path)
    try:
        for body, headers in connection.execute("SELECT body, headers FROM messages"):
            if json.loads(body)["lead_id"] == lead_id:
                stored: dict[str, str] = json.loads(headers)
                return stored
    finally:
        connection.close()
    raise AssertionError(f"lead {lead_id} is not in the inbox")


@pytest.fixture
def abuse_receiver(tmp_path: Path) -> Iterator[RunningReceiver]:
    env = {
        "RECEIVER_API_KEYS": API_KEY,
        "RECEIVER_DB_PATH": str(tmp_path / "inbox.sqlite3"),
    }
    with running_receiver(PACKAGE, env) as receiver:
        yield receiver


def lead_with(lead_id: str, members: str) -> bytes:
    """Return a valid lead body with raw JSON `members` added after lead_id."""
    body = lead_body(lead_id)
    marker = b'"role"'
    return body.replace(marker, members.encode() + b", " + marker, 1)


# (case, body, expected status). The top-level object is nesting level 1.
ABUSE_BODIES: list[tuple[str, bytes, int]] = [
    ("invalid UTF-8", b'{"lead_id": "\xff\xfe", "role": "buyer"}', 400),
    ("integer of 5000 digits", lead_with("A-1", '"extra": ' + "9" * 5000), 400),
    ("nesting of 65 levels", lead_with("A-2", '"extra": ' + "[" * 64 + "]" * 64), 400),
    ("nesting of 200000 levels", b"[" * 200_000 + b"]" * 200_000, 400),
    ("duplicate key", b'{"lead_id": "A-3", "lead_id": "A-4", "role": "buyer"}', 400),
    ("body over 1 MiB", b" " * (1024 * 1024 + 1), 413),
]


def test_abuse_rejected_and_server_keeps_serving(
    abuse_receiver: RunningReceiver,
) -> None:
    """Send hostile requests and check each status, then that a valid lead is stored.

    The runtime returns 400 for malformed JSON: invalid UTF-8, integers over 4300
    digits, nesting over 64 levels and duplicate keys. It returns 413 over the
    default 1 MiB limit, 415 for a non-JSON content type and 401 without a valid
    API key. A bare CR or NUL in a header is rejected by uvicorn's h11
    parser with its own text/plain 400. h11 reads a bare LF as the end of a
    header line, so an LF "injection" only adds a separate request header.
    """
    base_url = abuse_receiver.base_url
    client = httpx.Client(
        base_url=base_url,
        headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
        timeout=WAIT_SECONDS,
    )
    with client:
        for name, body, expected in ABUSE_BODIES:
            response = client.post("/lead", content=body)
            assert response.status_code == expected, name
            media_type = response.headers["content-type"]
            assert media_type == "application/problem+json", name

        wrong_type = client.post(
            "/lead", content=lead_body("A-5"), headers={"Content-Type": "text/plain"}
        )
        assert wrong_type.status_code == 415
        wrong_key = client.post(
            "/lead", content=lead_body("A-6"), headers={"X-API-Key": "wrong-key"}
        )
        assert wrong_key.status_code == 401
        missing_key = httpx.post(
            f"{base_url}/lead",
            content=lead_body("A-7"),
            headers={"Content-Type": "application/json"},
        )
        assert missing_key.status_code == 401

        check_header_injection(abuse_receiver)
        check_slow_body(abuse_receiver, client)

        final = client.post("/lead", content=lead_body("A-final"))
        assert final.status_code == 202
        assert final.json()["status"] == "accepted"
    assert abuse_receiver.process.poll() is None

    stored_ids = {lead_id for lead_id, _ in inbox_rows(abuse_receiver.db_path)}
    assert stored_ids == {"A-lf", "A-fold", "A-during-slow", "A-slow", "A-final"}


def check_header_injection(receiver: RunningReceiver) -> None:
    base_url = receiver.base_url
    for name, injected in [
        ("bare CR", b"User-Agent: a\rX-Injected: 1\r\n"),
        ("NUL", b"User-Agent: a\x00X-Injected: 1\r\n"),
    ]:
        status, headers, body = send_raw(
            base_url, raw_lead_request(lead_body("A-cr"), injected)
        )
        assert status == 400, name
        assert headers["connection"] == "close", name
        assert "x-injected" not in headers, name

    status, headers, _ = send_raw(
        base_url,
        raw_lead_request(lead_body("A-lf"), b"User-Agent: a\nX-Injected: 1\r\n"),
    )
    assert status == 202
    assert "x-injected" not in headers
    assert stored_headers(receiver.db_path, "A-lf")["user-agent"] == "a"

    # An obsolete line folding joins the next line to the value with a space.
    status, headers, _ = send_raw(
        base_url,
        raw_lead_request(lead_body("A-fold"), b"User-Agent: a\r\n X-Injected: 1\r\n"),
    )
    assert status == 202
    assert "x-injected" not in headers
    folded = stored_headers(receiver.db_path, "A-fold")["user-agent"]
    assert "\r" not in folded
    assert "\n" not in folded

    # Percent-encoded CR LF in the path stays in the path and adds no header.
    request = (
        b"POST /lead%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"X-API-Key: " + API_KEY.encode() + b"\r\nContent-Length: 0\r\n\r\n"
    )
    status, headers, _ = send_raw(base_url, request)
    assert status == 404
    assert "x-injected" not in headers


def check_slow_body(receiver: RunningReceiver, client: httpx.Client) -> None:
    """Send part of a body, pause 2 s while another lead is accepted, then finish."""
    body = lead_body("A-slow")
    request = raw_lead_request(body)
    split = len(request) - len(body) + 5
    port = httpx.URL(receiver.base_url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(request[:split])
        other = client.post("/lead", content=lead_body("A-during-slow"))
        assert other.status_code == 202
        time.sleep(2.0)
        sock.sendall(request[split:])
        status, _, response_body = read_response(sock)
    assert status == 202
    assert json.loads(response_body)["status"] == "accepted"
