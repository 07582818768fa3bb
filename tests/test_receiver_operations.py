"""Operations of the generated Realtor receiver: JSON logs and graceful shutdown.

Each test runs `python -m realtor_connections_plus serve` on 127.0.0.1 with its
SQLite inbox and a handler module in tmp_path.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from realtor_connections_plus.runtime.testing import running_receiver

from .test_receiver_faults import lead_body

PACKAGE = "realtor_connections_plus"
API_KEY = "operations-test-key"
HANDLER_MODULE = "slow_recording_handler"
HANDLER_LOG_VARIABLE = "SLOW_HANDLER_LOG"
HANDLER_SECONDS = 2.0
WAIT_SECONDS = 30.0

# Each call appends "start <lead_id>", sleeps, then appends "end <lead_id>".
HANDLER_SOURCE = f"""
import os
import time

LOG_PATH = os.environ[{HANDLER_LOG_VARIABLE!r}]


def _append(line):
    with open(LOG_PATH, "a", encoding="utf-8") as log:
        log.write(line + "\\n")


class SlowHandler:
    def on_buyer_lead(self, payload):
        _append("start " + payload.lead_id)
        time.sleep({HANDLER_SECONDS})
        _append("end " + payload.lead_id)

    def on_seller_lead(self, payload):
        _append("start " + payload.lead_id)
        _append("end " + payload.lead_id)
"""


def receiver_env(folder: Path, **extra: str) -> dict[str, str]:
    (folder / f"{HANDLER_MODULE}.py").write_text(HANDLER_SOURCE, encoding="utf-8")
    return {
        "RECEIVER_DB_PATH": str(folder / "inbox.sqlite3"),
        "RECEIVER_API_KEYS": API_KEY,
        "RECEIVER_HANDLER": f"{HANDLER_MODULE}:SlowHandler",
        HANDLER_LOG_VARIABLE: str(folder / "handler.log"),
        "PYTHONPATH": str(folder),
        **extra,
    }


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def handler_lines(folder: Path) -> list[str]:
    log = folder / "handler.log"
    return log.read_text("utf-8").splitlines() if log.exists() else []


def stored_statuses(db_path: Path) -> dict[str, str]:
    connection = sqlite3.connect(db_path)
    try:
        rows = connection.execute("SELECT body, status FROM messages").fetchall()
    finally:
        connection.close()
    return {json.loads(body)["lead_id"]: status for body, status in rows}


def test_json_log_lines_carry_access_fields(tmp_path: Path) -> None:
    env = receiver_env(tmp_path, RECEIVER_LOG_FORMAT="json")
    headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}
    with running_receiver(PACKAGE, env) as receiver:
        with httpx.Client(base_url=receiver.base_url, timeout=10.0) as http:
            accepted = http.post("/lead", content=lead_body("json-1"), headers=headers)
            rejected = http.post(
                "/lead",
                content=lead_body("json-2"),
                headers={**headers, "X-API-Key": "zq-wrong-key-7731"},
            )
    output = receiver.final_output or ""

    assert accepted.status_code == 202, accepted.text
    assert rejected.status_code == 401, rejected.text
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = [r["http"] for r in records if "http" in r]
    stored = next(entry for entry in access if entry["status"] == 202)
    assert stored["idempotency_key"] == "json-1"
    assert stored["message"] == "BuyerLead"
    assert stored["inbox_row"] == accepted.json()["id"]
    assert stored["method"] == "POST"
    assert stored["request_id"] == accepted.headers["x-request-id"]
    assert isinstance(stored["latency_ms"], float)
    denied = next(entry for entry in access if entry["status"] == 401)
    assert denied["idempotency_key"] is None
    assert any("receiver started" in r["message"] for r in records)
    assert API_KEY not in output
    assert "zq-wrong-key" not in output


def test_text_access_line_names_idempotency_key(tmp_path: Path) -> None:
    env = receiver_env(tmp_path)
    headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}
    with running_receiver(PACKAGE, env) as receiver:
        with httpx.Client(base_url=receiver.base_url, timeout=10.0) as http:
            accepted = http.post("/lead", content=lead_body("text-1"), headers=headers)
    output = receiver.final_output or ""

    assert accepted.status_code == 202, accepted.text
    row = accepted.json()["id"]
    assert f'message BuyerLead key "text-1" inbox row {row}' in output


def test_sigterm_finishes_request_and_handler_call(tmp_path: Path) -> None:
    env = receiver_env(tmp_path)
    headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}
    in_flight = lead_body("in-flight")
    with running_receiver(PACKAGE, env) as receiver:
        with httpx.Client(base_url=receiver.base_url, timeout=10.0) as http:
            first = http.post("/lead", content=lead_body("handling"), headers=headers)
        assert first.status_code == 202, first.text
        wait_until(
            lambda: "start handling" in handler_lines(tmp_path), "the handler starts"
        )
        host, port = receiver.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10.0) as raw:
            raw.sendall(
                b"POST /lead HTTP/1.1\r\nHost: receiver\r\n"
                b"Content-Type: application/json\r\n"
                + f"X-API-Key: {API_KEY}\r\n".encode()
                + f"Content-Length: {len(in_flight)}\r\n\r\n".encode()
                + in_flight[:10]
            )
            time.sleep(0.2)
            receiver.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            raw.sendall(in_flight[10:])
            response = raw.recv(65536).decode("utf-8", errors="replace")
        exit_code = receiver.process.wait(WAIT_SECONDS)
    output = receiver.final_output or ""

    assert response.startswith("HTTP/1.1 202"), response
    assert exit_code in (0, -signal.SIGTERM), output
    assert handler_lines(tmp_path)[:2] == ["start handling", "end handling"]
    statuses = stored_statuses(Path(env["RECEIVER_DB_PATH"]))
    assert statuses["handling"] == "done"
    # The worker may or may not reach the second lead before it stops.
    assert statuses["in-flight"] in ("pending", "done")
    assert "inbox worker did not finish" not in output


def test_package_import_leaves_jsonschema_unloaded() -> None:
    # jsonschema with its format extras takes about a second to import, and
    # the Realtor models use no rule that needs it at run time.
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, {PACKAGE}, {PACKAGE}.app; print('jsonschema' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )

    assert completed.stdout.strip() == "False"


def test_second_receiver_on_one_inbox_exits(tmp_path: Path) -> None:
    env = receiver_env(tmp_path)
    with running_receiver(PACKAGE, env):
        second = subprocess.run(
            [sys.executable, "-m", PACKAGE, "serve", "--port", "9"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
        )

    assert second.returncode == 1
    assert "another receiver is using the inbox" in second.stderr
    assert "Traceback" not in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1


def test_unusable_inbox_path_exits_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "inbox.sqlite3").mkdir()
    env = receiver_env(tmp_path)

    completed = subprocess.run(
        [sys.executable, "-m", PACKAGE, "serve", "--port", "9"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )

    assert completed.returncode == 1
    assert "RECEIVER_DB_PATH" in completed.stderr
    assert "Traceback" not in completed.stderr
