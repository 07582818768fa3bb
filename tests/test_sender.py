"""The generated sender: `send`, `simulate` and the typed functions, end to end.

Each test starts the committed Realtor receiver as its own process on
127.0.0.1 with a fresh SQLite inbox and counts the rows it stored.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from realtor_connections_plus import sender
from realtor_connections_plus.models import BuyerLeadPayload
from realtor_connections_plus.runtime.send_cli import fake_bodies
from realtor_connections_plus.runtime.testing import RunningReceiver, running_receiver

from .helpers import ROOT

PACKAGE = "realtor_connections_plus"
API_KEYS = "current-key,previous-key"
SIGNING_SECRET = "sender-test-secret"
SCHEMA = json.loads((ROOT / "generated" / PACKAGE / "schema.json").read_text())


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[RunningReceiver]:
    env = {
        "RECEIVER_DB_PATH": str(tmp_path / "inbox.sqlite3"),
        "RECEIVER_API_KEYS": API_KEYS,
        "RECEIVER_SIGNING_SECRET": SIGNING_SECRET,
    }
    with running_receiver(PACKAGE, env) as running:
        yield running


def run_package(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `python -m realtor_connections_plus` with the receiver's variables."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "generated"),
        "RECEIVER_API_KEYS": API_KEYS,
        "RECEIVER_SIGNING_SECRET": SIGNING_SECRET,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args],
        input=stdin,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def status_counts(stdout: str) -> dict[str, int]:
    """Parse the "202: 40" lines that `simulate` prints."""
    return {
        match[1]: int(match[2])
        for match in re.finditer(r"^(.+): (\d+)$", stdout, flags=re.MULTILINE)
    }


def stored_rows(receiver: RunningReceiver) -> int:
    connection = sqlite3.connect(f"file:{receiver.db_path}?mode=ro", uri=True)
    try:
        (count,) = connection.execute("SELECT count(*) FROM messages").fetchone()
        return int(count)
    finally:
        connection.close()


def test_simulate_stores_what_it_reports_accepted(receiver: RunningReceiver) -> None:
    result = run_package(
        "simulate",
        "--url",
        receiver.base_url,
        "--count",
        "60",
        "--concurrency",
        "4",
        "--seed",
        "7",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    counts = status_counts(result.stdout)
    assert counts == {"202": 60}, result.stdout
    assert stored_rows(receiver) == counts["202"]


def test_simulate_signs_with_the_receivers_algorithm(tmp_path: Path) -> None:
    signing = {
        "RECEIVER_SIGNATURE_ALGORITHM": "sha512",
        "RECEIVER_SIGNATURE_HEADER": "X-Hub-Signature-512",
    }
    env = {
        "RECEIVER_DB_PATH": str(tmp_path / "inbox.sqlite3"),
        "RECEIVER_API_KEYS": API_KEYS,
        "RECEIVER_SIGNING_SECRET": SIGNING_SECRET,
        **signing,
    }
    with running_receiver(PACKAGE, env) as running:
        matched = run_package(
            "simulate", "--url", running.base_url, "--count", "5", env=signing
        )
        default = run_package("simulate", "--url", running.base_url, "--count", "5")

    assert matched.returncode == 0, matched.stdout + matched.stderr
    assert status_counts(matched.stdout) == {"202": 5}
    assert default.returncode == 1
    assert status_counts(default.stdout) == {"401": 5}


def test_simulate_repeated_seed_is_all_redeliveries(receiver: RunningReceiver) -> None:
    command = ("simulate", "--url", receiver.base_url, "--count", "6", "--seed", "3")
    first = run_package(*command)
    second = run_package(*command)
    assert status_counts(first.stdout) == {"202": 6}, first.stdout + first.stderr
    assert status_counts(second.stdout) == {"200": 6}, second.stdout + second.stderr
    assert stored_rows(receiver) == 6


def test_simulate_wrong_key_fails(receiver: RunningReceiver) -> None:
    result = run_package(
        "simulate",
        "--url",
        receiver.base_url,
        "--count",
        "3",
        "--seed",
        "1",
        "--message",
        "SellerLead",
        "--api-key",
        "not-a-key",
    )
    assert result.returncode == 1
    assert status_counts(result.stdout) == {"401": 3}, result.stdout
    assert stored_rows(receiver) == 0


def test_send_posts_one_payload(receiver: RunningReceiver, tmp_path: Path) -> None:
    payload = {
        "lead_id": "send-1",
        "role": "buyer",
        "contact": {"email": "lead@example.com"},
        "timestamp": "2026-01-15T09:30:00Z",
    }
    path = tmp_path / "lead.json"
    path.write_text(json.dumps(payload))
    from_file = run_package(
        "send", "BuyerLead", "--url", receiver.base_url, "--file", str(path)
    )
    from_stdin = run_package(
        "send", "buyer_lead", "--url", receiver.base_url, stdin=json.dumps(payload)
    )
    assert from_file.returncode == 0, from_file.stdout + from_file.stderr
    assert from_file.stdout.splitlines()[0] == "202"
    assert from_stdin.stdout.splitlines()[0] == "200"
    assert stored_rows(receiver) == 1


def test_send_invalid_payload_is_not_sent(receiver: RunningReceiver) -> None:
    result = run_package(
        "send", "BuyerLead", "--url", receiver.base_url, stdin='{"role": "buyer"}'
    )
    assert result.returncode == 2
    assert "not a valid buyer_lead" in result.stderr
    assert stored_rows(receiver) == 0


def test_send_unknown_message_is_a_usage_error() -> None:
    result = run_package("send", "Nope", "--url", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "unknown message 'Nope'" in result.stderr
    assert "BuyerLead" in result.stderr


def test_typed_sender_signs_and_authenticates(receiver: RunningReceiver) -> None:
    lead = BuyerLeadPayload.model_validate(
        {
            "lead_id": "typed-1",
            "role": "buyer",
            "contact": {"email": "lead@example.com"},
            "timestamp": "2026-01-15T09:30:00Z",
        }
    )
    unsigned = sender.send_buyer_lead(receiver.base_url, lead, api_key="current-key")
    signed = sender.send_buyer_lead(
        receiver.base_url,
        lead,
        api_key="previous-key",
        signing_secret=SIGNING_SECRET,
    )
    assert unsigned.status_code == 401
    assert signed.status_code == 202, signed.text
    assert stored_rows(receiver) == 1


def test_fakes_are_valid_and_repeatable() -> None:
    keys = sorted(sender.DESTINATIONS)
    first = fake_bodies(sender, keys, count=40, seed=11)
    again = fake_bodies(sender, keys, count=40, seed=11)
    other = fake_bodies(sender, keys, count=40, seed=12)
    assert first == again
    assert first != other
    lead_ids = set()
    for key, body in first:
        payload = json.loads(body)
        schema = {**SCHEMA, "$ref": f"#/$defs/{sender.SCHEMA_CLASSES[key]}"}
        jsonschema.validate(
            payload, schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
        )
        sender.MODELS[key].model_validate_json(body)
        lead_ids.add(payload["lead_id"])
    assert len(lead_ids) == 40
    # The values vary: forty fakes from four seed payloads share few emails.
    emails = {json.loads(body)["contact"]["email"] for _, body in first}
    assert len(emails) > 20


BAD_URLS = {
    "unclosed IPv6 bracket": "http://[::1",
    "bad port": "http://127.0.0.1:99999",
    "port not a number": "http://127.0.0.1:80a",
    "no scheme": "127.0.0.1:8000",
    "other scheme": "ftp://127.0.0.1",
    "no host": "http://",
    "space in host": "http://127.0.0.1 :8000",
}


@pytest.mark.parametrize("command", ["send", "simulate"])
@pytest.mark.parametrize("case", sorted(BAD_URLS))
def test_invalid_url_is_one_line(command: str, case: str) -> None:
    url = BAD_URLS[case]
    args = ("send", "BuyerLead") if command == "send" else ("simulate", "--count", "1")
    result = run_package(*args, "--url", url, stdin="{}")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: invalid --url {url!r}: ")
    assert "such as http://127.0.0.1:8000" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""
