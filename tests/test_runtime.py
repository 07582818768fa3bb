"""Tests of the receiver runtime against a real server process and SQLite file.

A module fixture assembles the hand-written package in tests/runtime_fixture with
a copy of templates/package/runtime, as the generator does, and the tests run it
with `python -m fixturepkg` on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import importlib
import importlib.util
import itertools
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
FIXTURE_SOURCE = REPOSITORY / "tests" / "runtime_fixture" / "fixturepkg"
RUNTIME_SOURCE = REPOSITORY / "templates" / "package" / "runtime"
PACKAGE = "fixturepkg"

API_KEYS = ("key-one-current", "key-two-rotated")
BEARER_TOKEN = "bearer-token-abc"
BASIC_CREDENTIAL = "relay:s3cret-pass"
QUERY_KEY = "zq-query-key-5093"
SIGNING_SECRET = b"fixture-signing-secret"
# Large enough for a lead with an integer of 4301 digits, one more than the
# runtime accepts.
MAX_BODY_BYTES = 8192
PROBLEM_MEDIA_TYPE = "application/problem+json"
WAIT_SECONDS = 15.0

_lead_numbers = itertools.count(1)


# Fixture package and servers


@pytest.fixture(scope="module")
def package_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Assemble fixturepkg with a copy of the runtime and make it importable."""
    root = tmp_path_factory.mktemp("package")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(FIXTURE_SOURCE, root / PACKAGE, ignore=ignore)
    shutil.copytree(RUNTIME_SOURCE, root / PACKAGE / "runtime", ignore=ignore)
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def runtime_testing(package_root: Path) -> Any:
    """The copied `runtime.testing` module."""
    return importlib.import_module(f"{PACKAGE}.runtime.testing")


def receiver_env(folder: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a fixture receiver that keeps its files in folder.

    It sets no PYTHONPATH, because `running_receiver` finds the package itself.
    """
    env = {
        "RECEIVER_DB_PATH": str(folder / "inbox.sqlite3"),
        "RECEIVER_API_KEYS": ", ".join(API_KEYS),
        "RECEIVER_BEARER_TOKENS": BEARER_TOKEN,
        "RECEIVER_BASIC_CREDENTIALS": BASIC_CREDENTIAL,
        "RECEIVER_QUERY_KEYS": QUERY_KEY,
        "RECEIVER_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "FIXTURE_HANDLER_LOG": str(folder / "handler-calls.jsonl"),
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def main_receiver(
    runtime_testing: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """Receiver with signature checks and a handler that records every call."""
    env = receiver_env(
        tmp_path_factory.mktemp("main"),
        RECEIVER_SIGNING_SECRET=SIGNING_SECRET.decode(),
        RECEIVER_HANDLER=f"{PACKAGE}.handlers:RecordingHandler",
    )
    with runtime_testing.running_receiver(PACKAGE, env) as receiver:
        yield receiver


@pytest.fixture
def client(main_receiver: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=main_receiver.base_url, timeout=10.0) as http:
        yield http


# Helpers


def lead_body(
    *, role: str = "buyer", email: str = "lead@example.com", lead_id: str = ""
) -> bytes:
    """Return a lead body with a lead id that no other test uses."""
    lead_id = lead_id or f"lead-{next(_lead_numbers)}-{time.time_ns()}"
    lead = {"role": role, "lead_id": lead_id, "contact": {"email": email}}
    return json.dumps(lead).encode()


def hex_signature(body: bytes, secret: bytes = SIGNING_SECRET) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def base64_signature(body: bytes, secret: bytes = SIGNING_SECRET) -> str:
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def post_lead(
    client: httpx.Client,
    body: bytes,
    *,
    api_key: str | None = API_KEYS[0],
    signature: str | None = "hex",
    content_type: str = "application/json",
    signature_header: str = "X-Signature",
) -> httpx.Response:
    """POST a lead, with the signature given as "hex", "base64", a value or None."""
    headers = {"Content-Type": content_type}
    if api_key is not None:
        headers["X-API-Key"] = api_key
    if signature == "hex":
        headers[signature_header] = hex_signature(body)
    elif signature == "base64":
        headers[signature_header] = base64_signature(body)
    elif signature is not None:
        headers[signature_header] = signature
    return client.post("/lead", content=body, headers=headers)


def post_event(
    client: httpx.Client, payload: Any, *, query_key: str = QUERY_KEY
) -> httpx.Response:
    """POST a payload to the event route, with the API key in the query string."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Signature": hex_signature(body)}
    return client.post(
        "/event", params={"api_key": query_key}, content=body, headers=headers
    )


def send_raw_request(base_url: str, request: bytes) -> tuple[str, dict[str, str]]:
    """Send raw bytes on a new connection and read one response.

    Returns the status line and the lower-case response headers. The request
    leaves its body unfinished, so the test fails unless the server closes the
    connection after the response.
    """
    port = httpx.URL(base_url).port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before a complete response: {received!r}"
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        content_length = int(headers.get("content-length", "0"))
        while len(body) < content_length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed before the end of the response body"
            body += chunk
        try:
            after_response = sock.recv(65536)
        except TimeoutError:
            pytest.fail(
                f"the connection was still open {WAIT_SECONDS} s after the response"
            )
    assert after_response == b"", "the server sent data after the response"
    return status_line, headers


def fetch_rows(db_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT * FROM messages ORDER BY id").fetchall()
    return [dict(row) for row in rows]


def fetch_row(db_path: Path, row_id: int) -> dict[str, Any]:
    matching = [row for row in fetch_rows(db_path) if row["id"] == row_id]
    assert len(matching) == 1, f"expected one row with id {row_id}"
    return matching[0]


def row_status(db_path: Path, row_id: int) -> str:
    return str(fetch_row(db_path, row_id)["status"])


def wait_until(condition: Callable[[], bool], description: str) -> None:
    """Poll until condition holds. Fails after WAIT_SECONDS, an upper bound only."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {WAIT_SECONDS} s waiting until {description}")


def handler_calls(log_path: Path) -> list[dict[str, Any]]:
    if not log_path.exists():
        return []
    lines = log_path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Check the RFC 9457 shape and return the problem document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert isinstance(problem["type"], str) and problem["type"]
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    return problem


def run_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m fixturepkg` with the assembled package on PYTHONPATH."""
    spec = importlib.util.find_spec(PACKAGE)
    assert spec is not None and spec.origin is not None, "fixturepkg not importable"
    package_root = Path(spec.origin).parent.parent
    python_path = os.pathsep.join(
        part for part in (str(package_root), os.environ.get("PYTHONPATH")) if part
    )
    return subprocess.run(
        [sys.executable, "-m", PACKAGE, *args],
        env={**os.environ, **env, "PYTHONPATH": python_path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# Acceptance and storage


def test_lead_accepted_and_raw_bytes_stored(
    client: httpx.Client, main_receiver: Any
) -> None:
    lead_id = f"raw-{time.time_ns()}"
    body = (
        '{ "role" : "buyer",\n  "lead_id": "' + lead_id + '",'
        ' "contact": {"email": "zoë@example.com", "name": "Zoë"},'
        ' "extra": [1, 2.50, null] }'
    ).encode()

    response = post_lead(client, body)

    assert response.status_code == 202, response.text
    document = response.json()
    assert document["status"] == "accepted"
    row = fetch_row(main_receiver.db_path, document["id"])
    assert row["body"] == body
    assert row["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert row["message"] == "buyerLead"
    assert row["operation_id"] == "receiveLead"
    received_at = datetime.fromisoformat(row["received_at"])
    assert received_at.utcoffset() == timedelta(0)


def test_stored_headers_exclude_credentials(
    client: httpx.Client, main_receiver: Any
) -> None:
    body = lead_body()

    response = post_lead(client, body)

    assert response.status_code == 202, response.text
    headers = json.loads(
        fetch_row(main_receiver.db_path, response.json()["id"])["headers"]
    )
    assert headers["content-type"] == "application/json"
    assert headers["x-signature"] == hex_signature(body)
    assert "user-agent" in headers
    assert "x-api-key" not in headers
    assert API_KEYS[0] not in json.dumps(headers)


def test_seller_lead_stored_as_seller_message(
    client: httpx.Client, main_receiver: Any
) -> None:
    response = post_lead(client, lead_body(role="seller"))

    assert response.status_code == 202, response.text
    row = fetch_row(main_receiver.db_path, response.json()["id"])
    assert row["message"] == "sellerLead"


def test_duplicate_returns_same_id(client: httpx.Client, main_receiver: Any) -> None:
    body = lead_body()

    first = post_lead(client, body)
    second = post_lead(client, body, signature="base64")

    assert first.status_code == 202, first.text
    assert second.status_code == 200, second.text
    assert second.json() == {"id": first.json()["id"], "status": "duplicate"}
    stored = [row for row in fetch_rows(main_receiver.db_path) if row["body"] == body]
    assert len(stored) == 1


def test_concurrent_duplicates_store_one_row(
    main_receiver: Any,
) -> None:
    body = lead_body()

    def deliver(_: int) -> httpx.Response:
        with httpx.Client(base_url=main_receiver.base_url, timeout=10.0) as http:
            return post_lead(http, body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(deliver, range(8)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 7 + [202]
    assert len({response.json()["id"] for response in responses}) == 1
    stored = [row for row in fetch_rows(main_receiver.db_path) if row["body"] == body]
    assert len(stored) == 1


def test_concurrent_distinct_leads_all_stored(main_receiver: Any) -> None:
    bodies = [lead_body() for _ in range(24)]

    def deliver(body: bytes) -> httpx.Response:
        with httpx.Client(base_url=main_receiver.base_url, timeout=10.0) as http:
            return post_lead(http, body)

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(deliver, bodies))

    assert [response.status_code for response in responses] == [202] * len(bodies)
    ids = [response.json()["id"] for response in responses]
    assert len(set(ids)) == len(bodies)
    stored = {row["id"]: row["body"] for row in fetch_rows(main_receiver.db_path)}
    assert [stored[row_id] for row_id in ids] == bodies


def test_health_needs_no_credentials(client: httpx.Client) -> None:
    response = client.get("/_health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# Authentication and signatures


@pytest.mark.parametrize(
    "api_key", [None, "", "wrong-key", API_KEYS[0] + "x", API_KEYS[0][:-1]]
)
def test_invalid_api_key_rejected(
    client: httpx.Client, main_receiver: Any, api_key: str | None
) -> None:
    rows_before = len(fetch_rows(main_receiver.db_path))

    response = post_lead(client, lead_body(), api_key=api_key)

    assert_problem(response, 401)
    assert len(fetch_rows(main_receiver.db_path)) == rows_before
    for key in API_KEYS:
        assert key not in response.text


def test_rotated_second_api_key_accepted(client: httpx.Client) -> None:
    response = post_lead(client, lead_body(), api_key=API_KEYS[1])

    assert response.status_code == 202, response.text


def test_authentication_checked_before_body(client: httpx.Client) -> None:
    response = post_lead(
        client, b"not json", api_key="wrong-key", content_type="text/plain"
    )

    assert_problem(response, 401)


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {BEARER_TOKEN}",
        f"bearer {BEARER_TOKEN}",
        "Basic " + base64.b64encode(BASIC_CREDENTIAL.encode()).decode(),
    ],
)
def test_status_accepts_bearer_or_basic(
    client: httpx.Client, authorization: str
) -> None:
    body = json.dumps({"lead_id": f"s-{time.time_ns()}", "state": "open"}).encode()
    headers = {
        "Authorization": authorization,
        "Content-Type": "application/json",
        "X-Signature": hex_signature(body),
    }

    response = client.post("/status", content=body, headers=headers)

    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        f"Bearer {BEARER_TOKEN}-wrong",
        f"Basic {BEARER_TOKEN}",
        "Basic " + base64.b64encode(b"relay:wrong").decode(),
        f"Token {BEARER_TOKEN}",
    ],
)
def test_status_rejects_invalid_authorization(
    client: httpx.Client, authorization: str | None
) -> None:
    body = json.dumps({"lead_id": "s-1", "state": "open"}).encode()
    headers = {"Content-Type": "application/json", "X-Signature": hex_signature(body)}
    if authorization is not None:
        headers["Authorization"] = authorization

    response = client.post("/status", content=body, headers=headers)

    assert_problem(response, 401)
    assert "Bearer" in response.headers["www-authenticate"]
    assert "Basic" in response.headers["www-authenticate"]


@pytest.mark.parametrize(
    "signature_format", ["hex", "base64", "sha256=hex", "SHA256=base64", "hex-upper"]
)
def test_signature_formats_accepted(
    client: httpx.Client, signature_format: str
) -> None:
    body = lead_body()
    signatures = {
        "hex": hex_signature(body),
        "base64": base64_signature(body),
        "sha256=hex": "sha256=" + hex_signature(body),
        "SHA256=base64": "SHA256=" + base64_signature(body),
        "hex-upper": hex_signature(body).upper(),
    }

    response = post_lead(client, body, signature=signatures[signature_format])

    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "signature_case", ["absent", "empty", "wrong-secret", "other-body", "garbage"]
)
def test_invalid_signature_rejected(
    client: httpx.Client, main_receiver: Any, signature_case: str
) -> None:
    body = lead_body()
    signatures: dict[str, str | None] = {
        "absent": None,
        "empty": "",
        "wrong-secret": hex_signature(body, b"another-secret"),
        "other-body": hex_signature(body + b" "),
        "garbage": "sha256=not-a-signature",
    }
    rows_before = len(fetch_rows(main_receiver.db_path))

    response = post_lead(client, body, signature=signatures[signature_case])

    problem = assert_problem(response, 401)
    assert problem["type"].endswith("invalid-signature")
    assert len(fetch_rows(main_receiver.db_path)) == rows_before


# Rejected requests


def test_body_over_limit_rejected_by_content_length(client: httpx.Client) -> None:
    body = lead_body(email="a" * MAX_BODY_BYTES + "@example.com")

    response = post_lead(client, body)

    problem = assert_problem(response, 413)
    assert str(MAX_BODY_BYTES) in problem["detail"]


def test_body_over_limit_rejected_while_streaming(client: httpx.Client) -> None:
    chunk = b" " * 1024

    def chunks() -> Iterator[bytes]:
        yield b'{"role": "buyer"'
        for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
            yield chunk
        yield b"}"

    response = client.post(
        "/lead",
        content=chunks(),
        headers={"X-API-Key": API_KEYS[0], "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert_problem(response, 413)


@pytest.mark.parametrize("framing", ["chunked", "content-length", "unauthenticated"])
def test_response_before_body_end_closes_connection(
    main_receiver: Any, framing: str
) -> None:
    chunk = b"x" * 1024
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(chunk), chunk)
        for _ in range(MAX_BODY_BYTES // len(chunk) + 1)
    )
    requests = {
        "chunked": (API_KEYS[0], b"Transfer-Encoding: chunked", chunks),
        "content-length": (API_KEYS[0], b"Content-Length: 1000000000000", chunk),
        "unauthenticated": ("wrong-key", b"Transfer-Encoding: chunked", chunks[:100]),
    }
    api_key, framing_header, partial_body = requests[framing]
    request = (
        b"POST /lead HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"X-API-Key: " + api_key.encode() + b"\r\n"
        b"Content-Type: application/json\r\n" + framing_header + b"\r\n\r\n"
    )

    status_line, headers = send_raw_request(
        main_receiver.base_url, request + partial_body
    )

    expected_status = 401 if framing == "unauthenticated" else 413
    assert status_line.split(" ")[1] == str(expected_status)
    assert headers["connection"] == "close"


def test_body_at_limit_accepted(client: httpx.Client) -> None:
    body = lead_body()
    body = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"

    response = post_lead(client, body)

    assert len(body) == MAX_BODY_BYTES
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "",
    ],
)
def test_non_json_content_type_rejected(
    client: httpx.Client, content_type: str
) -> None:
    response = post_lead(client, lead_body(), content_type=content_type)

    assert_problem(response, 415)


@pytest.mark.parametrize(
    "content_type",
    ["application/vnd.leads+json", "Application/JSON; charset=UTF-8"],
)
def test_json_media_types_accepted(client: httpx.Client, content_type: str) -> None:
    response = post_lead(client, lead_body(), content_type=content_type)

    assert response.status_code == 202, response.text


def test_wrong_method_returns_405_problem(client: httpx.Client) -> None:
    response = client.get("/lead", headers={"X-API-Key": API_KEYS[0]})

    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


def test_unknown_path_returns_404_problem(client: httpx.Client) -> None:
    response = client.post("/no-such-endpoint", content=b"{}")

    assert_problem(response, 404)


@pytest.mark.parametrize(("method", "path"), [("POST", "/lead/"), ("GET", "/_health/")])
def test_trailing_slash_not_redirected(
    client: httpx.Client, method: str, path: str
) -> None:
    body = lead_body()
    headers = {
        "Host": "evil.example.invalid",
        "X-API-Key": API_KEYS[0],
        "Content-Type": "application/json",
        "X-Signature": hex_signature(body),
    }

    response = client.request(method, path, content=body, headers=headers)

    assert_problem(response, 404)
    assert "location" not in response.headers
    assert "evil.example.invalid" not in response.text


@pytest.mark.parametrize(
    "body",
    [b'{"role": "buyer"', b'{"lead_id": NaN}', b'{"x": Infinity}', b"\xff\xfe{}", b""],
)
def test_malformed_json_rejected(client: httpx.Client, body: bytes) -> None:
    response = post_lead(client, body)

    problem = assert_problem(response, 400)
    assert problem["type"].endswith("malformed-json")


@pytest.mark.parametrize(
    ("sign", "digits", "status"), [("", 4300, 202), ("-", 4300, 202), ("", 4301, 400)]
)
def test_integer_digits_limited(
    client: httpx.Client, sign: str, digits: int, status: int
) -> None:
    lead = json.loads(lead_body())
    body = json.dumps(lead)[:-1].encode() + b', "score": ' + sign.encode()
    body += b"7" * digits + b"}"

    response = post_lead(client, body)

    assert response.status_code == status, response.text
    if status == 400:
        problem = assert_problem(response, 400)
        assert problem["type"].endswith("malformed-json")
        assert "4300" in problem["detail"]


@pytest.mark.parametrize("number", [b"1e999", b"-1e999"])
def test_overflowing_float_rejected(client: httpx.Client, number: bytes) -> None:
    lead = json.loads(lead_body())
    body = json.dumps(lead)[:-1].encode() + b', "score": ' + number + b"}"

    response = post_lead(client, body)

    problem = assert_problem(response, 400)
    assert problem["type"].endswith("malformed-json")


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (
            (
                b'{"role": "seller", "role": "buyer", "lead_id": "dup-1",'
                b' "contact": {"email": "a@example.com"}}'
            ),
            "role",
        ),
        (
            (
                b'{"role": "buyer", "lead_id": "dup-2", "contact":'
                b' {"email": "zq-first@example.com", "email": "zq-second@example.com"}}'
            ),
            "email",
        ),
    ],
    ids=["top-level", "nested"],
)
def test_duplicate_keys_rejected(
    client: httpx.Client, main_receiver: Any, body: bytes, key: str
) -> None:
    rows_before = len(fetch_rows(main_receiver.db_path))

    response = post_lead(client, body)

    problem = assert_problem(response, 400)
    assert problem["type"].endswith("malformed-json")
    assert "the same key more than once" in problem["detail"]
    # Keys of free-form objects can be personal data, so none is named.
    assert f'"{key}"' not in problem["detail"]
    assert "zq-" not in response.text
    assert "seller" not in response.text
    assert len(fetch_rows(main_receiver.db_path)) == rows_before


@pytest.mark.parametrize(("depth", "status"), [(64, 202), (65, 400), (300, 400)])
def test_nesting_depth_limited(client: httpx.Client, depth: int, status: int) -> None:
    lead = json.loads(lead_body())
    # The lead object is level 1, so the array in "extra" adds depth - 1 levels.
    nested = "[" * (depth - 1) + "]" * (depth - 1)
    body = (json.dumps(lead)[:-1] + ', "extra": ' + nested + "}").encode()

    response = post_lead(client, body)

    assert response.status_code == status, response.text
    if status == 400:
        problem = assert_problem(response, 400)
        assert problem["type"].endswith("malformed-json")
        assert "64" in problem["detail"]


@pytest.mark.parametrize(
    ("escaped", "pointer"),
    [
        ('"lead_id": "\\ud800"', "/lead_id"),
        ('"lead_id": "a\\udc00b"', "/lead_id"),
        ('"lead_id": "\\ude00\\ud83d"', "/lead_id"),
        ('"\\udc00": 1', "the top-level object"),
    ],
)
def test_lone_surrogate_rejected(
    client: httpx.Client, escaped: str, pointer: str
) -> None:
    body = (
        '{"role": "buyer", "contact": {"email": "a@example.com"}, ' + escaped + "}"
    ).encode()

    response = post_lead(client, body)

    problem = assert_problem(response, 400)
    assert problem["type"].endswith("malformed-json")
    assert "surrogate" in problem["detail"]
    assert pointer in problem["detail"]


def test_surrogate_pair_accepted(client: httpx.Client, main_receiver: Any) -> None:
    lead_id = f"pair-{time.time_ns()}"
    body = (
        '{"role": "buyer", "lead_id": "' + lead_id + '\\ud83d\\ude00",'
        ' "contact": {"email": "a@example.com"}}'
    ).encode()

    response = post_lead(client, body)

    assert response.status_code == 202, response.text
    assert fetch_row(main_receiver.db_path, response.json()["id"])["body"] == body


def test_invalid_email_reported_without_echo(client: httpx.Client) -> None:
    distinctive = "zq-private-8841@@example..invalid"

    response = post_lead(client, lead_body(email=distinctive))

    problem = assert_problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == ["/contact/email"]
    assert problem["errors"][0]["field"] == "contact.email"
    assert problem["errors"][0]["reason"] == "value is not a valid email address"
    assert "zq-private" not in response.text
    assert "8841" not in response.text


def test_custom_validator_message_not_echoed(client: httpx.Client) -> None:
    lead = {
        "role": "buyer",
        "lead_id": "custom-1",
        "contact": {"email": "a@example.com", "name": "zq-secret-name-6620"},
    }

    response = post_lead(client, json.dumps(lead).encode())

    problem = assert_problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == ["/contact/name"]
    assert "zq-secret" not in response.text
    assert "6620" not in response.text


def test_wrong_type_reported_with_pointer(client: httpx.Client) -> None:
    body = json.dumps(
        {"role": "seller", "lead_id": 73311, "contact": {"email": "a@example.com"}}
    ).encode()

    response = post_lead(client, body)

    problem = assert_problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == ["/lead_id"]
    assert "73311" not in response.text


@pytest.mark.parametrize("role", ["zq-landlord-5512", None])
def test_unknown_or_missing_discriminator_rejected(
    client: httpx.Client, role: str | None
) -> None:
    lead: dict[str, Any] = {"lead_id": "x", "contact": {"email": "a@example.com"}}
    if role is not None:
        lead["role"] = role

    response = post_lead(client, json.dumps(lead).encode())

    problem = assert_problem(response, 422)
    assert len(problem["errors"]) == 1
    error = problem["errors"][0]
    assert error["pointer"] == "/role"
    assert "role" in error["reason"]
    assert "'buyer'" in error["reason"]
    assert "'seller'" in error["reason"]
    assert "zq-landlord" not in response.text


def test_single_model_route_reports_pointer(client: httpx.Client) -> None:
    body = json.dumps({"lead_id": "s-2", "state": "zq-unknown-state"}).encode()
    headers = {
        "Authorization": f"Bearer {BEARER_TOKEN}",
        "Content-Type": "application/json",
        "X-Signature": hex_signature(body),
    }

    response = client.post("/status", content=body, headers=headers)

    problem = assert_problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == ["/state"]
    assert "zq-unknown" not in response.text


def test_non_object_body_rejected(client: httpx.Client) -> None:
    response = post_lead(client, b"[1, 2]")

    problem = assert_problem(response, 422)
    assert problem["errors"]


@pytest.mark.parametrize(
    ("payload", "pointers"),
    [
        ({"id": "e-1", "details": {"name": 5}}, ["/details/name"]),
        ({"id": 5, "reason": "done"}, ["/id"]),
        ([1], [""]),
    ],
    ids=["deepest-member", "fewest-errors", "not-an-object"],
)
def test_union_without_discriminator_reports_body_pointers(
    client: httpx.Client, payload: Any, pointers: list[str]
) -> None:
    response = post_event(client, payload)

    problem = assert_problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == pointers
    assert "Event" not in response.text
    assert "function-after" not in response.text


def test_union_without_discriminator_accepts_each_member(
    client: httpx.Client, main_receiver: Any
) -> None:
    created = post_event(
        client, {"id": f"e-{time.time_ns()}", "details": {"name": "a"}}
    )
    closed = post_event(client, {"id": f"e-{time.time_ns()}", "reason": "done"})

    assert created.status_code == 202, created.text
    assert closed.status_code == 202, closed.text
    created_row = fetch_row(main_receiver.db_path, created.json()["id"])
    closed_row = fetch_row(main_receiver.db_path, closed.json()["id"])
    assert created_row["message"] == "createdEvent"
    assert closed_row["message"] == "closedEvent"


# Handler worker


def test_handler_receives_each_message(
    client: httpx.Client, main_receiver: Any
) -> None:
    log_path = Path(main_receiver.db_path).parent / "handler-calls.jsonl"
    buyer = lead_body(role="buyer")
    seller = lead_body(role="seller")
    buyer_id = post_lead(client, buyer).json()["id"]
    seller_id = post_lead(client, seller).json()["id"]

    def both_done() -> bool:
        buyer_status = row_status(main_receiver.db_path, buyer_id)
        seller_status = row_status(main_receiver.db_path, seller_id)
        return buyer_status == "done" and seller_status == "done"

    wait_until(both_done, "both rows are done")

    calls = handler_calls(log_path)
    buyer_lead_id = json.loads(buyer)["lead_id"]
    seller_lead_id = json.loads(seller)["lead_id"]
    buyer_calls = [c for c in calls if c["payload"].get("lead_id") == buyer_lead_id]
    seller_calls = [c for c in calls if c["payload"].get("lead_id") == seller_lead_id]
    assert [c["method"] for c in buyer_calls] == ["on_buyer_lead"]
    assert [c["type"] for c in buyer_calls] == ["BuyerLead"]
    assert [c["method"] for c in seller_calls] == ["on_seller_lead"]
    assert fetch_row(main_receiver.db_path, buyer_id)["attempts"] == 1


# Configuration errors


@pytest.mark.parametrize("api_keys", ["", " , "])
@pytest.mark.usefixtures("package_root")
def test_serve_without_api_keys_exits_2(tmp_path: Path, api_keys: str) -> None:
    env = receiver_env(tmp_path, RECEIVER_API_KEYS=api_keys)

    completed = run_cli(env, "serve", "--host", "127.0.0.1", "--port", "9")

    assert completed.returncode == 2
    assert "RECEIVER_API_KEYS" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "inbox.sqlite3").exists()


@pytest.mark.usefixtures("package_root")
def test_serve_with_unimportable_handler_exits_2(tmp_path: Path) -> None:
    env = receiver_env(tmp_path, RECEIVER_HANDLER=f"{PACKAGE}.handlers:NoSuchHandler")

    completed = run_cli(env, "serve", "--host", "127.0.0.1", "--port", "9")

    assert completed.returncode == 2
    assert "RECEIVER_HANDLER" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("secret", ["", " ", "\t\n"])
@pytest.mark.usefixtures("package_root")
def test_serve_with_blank_signing_secret_exits_2(tmp_path: Path, secret: str) -> None:
    env = receiver_env(tmp_path, RECEIVER_SIGNING_SECRET=secret)

    completed = run_cli(env, "serve", "--host", "127.0.0.1", "--port", "9")

    assert completed.returncode == 2
    assert completed.stderr.startswith("error: RECEIVER_SIGNING_SECRET is set but ")
    assert "unset it" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "inbox.sqlite3").exists()


@pytest.mark.parametrize("secret", [b"", b" \t"])
def test_blank_signing_secret_rejected_in_code(
    package_root: Path, secret: bytes
) -> None:
    security = importlib.import_module(f"{PACKAGE}.runtime.security")
    settings = importlib.import_module(f"{PACKAGE}.runtime.settings")
    with pytest.raises(settings.ConfigurationError, match="RECEIVER_SIGNING_SECRET"):
        security.SignatureVerifier(header="X-Signature", secret=secret)


# Failing handler, dead rows and the inbox command line


@pytest.fixture(scope="module")
def failing_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment of a receiver whose handler always raises.

    It also moves the signature to a custom header.
    """
    return receiver_env(
        tmp_path_factory.mktemp("failing"),
        RECEIVER_HANDLER=f"{PACKAGE}.handlers:FailingHandler",
        RECEIVER_MAX_ATTEMPTS="3",
        RECEIVER_RETRY_BASE_SECONDS="0.01",
        RECEIVER_SIGNING_SECRET=SIGNING_SECRET.decode(),
        RECEIVER_SIGNATURE_HEADER="X-Hub-Signature-256",
    )


@pytest.fixture(scope="module")
def failing_receiver(
    runtime_testing: Any, failing_env: dict[str, str]
) -> Iterator[Any]:
    with runtime_testing.running_receiver(PACKAGE, failing_env) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def dead_row(failing_receiver: Any) -> dict[str, Any]:
    """A lead that the failing handler has exhausted all attempts on."""
    body = lead_body(role="seller")
    with httpx.Client(base_url=failing_receiver.base_url, timeout=10.0) as http:
        response = post_lead(
            http, body, signature_header="X-Hub-Signature-256", signature="base64"
        )
    assert response.status_code == 202, response.text
    row_id = response.json()["id"]

    def is_dead() -> bool:
        return row_status(failing_receiver.db_path, row_id) == "dead"

    wait_until(is_dead, f"row {row_id} is dead")
    return fetch_row(failing_receiver.db_path, row_id)


def test_signature_header_override(failing_receiver: Any) -> None:
    body = lead_body()
    with httpx.Client(base_url=failing_receiver.base_url, timeout=10.0) as http:
        response = post_lead(http, body, signature_header="X-Signature")

    problem = assert_problem(response, 401)
    assert "X-Hub-Signature-256" in problem["detail"]


def test_failing_handler_retried_until_dead(
    failing_receiver: Any, dead_row: dict[str, Any]
) -> None:
    log_path = Path(failing_receiver.db_path).parent / "handler-calls.jsonl"
    lead_id = json.loads(dead_row["body"])["lead_id"]
    calls = [
        call
        for call in handler_calls(log_path)
        if call["payload"].get("lead_id") == lead_id
    ]

    assert dead_row["attempts"] == 3
    assert dead_row["last_error"] == "RuntimeError: handler failed on purpose"
    assert [call["method"] for call in calls] == ["on_seller_lead"] * 3


def test_failing_handler_does_not_affect_responses(failing_receiver: Any) -> None:
    with httpx.Client(base_url=failing_receiver.base_url, timeout=10.0) as http:
        first = post_lead(http, lead_body(), signature_header="X-Hub-Signature-256")

    assert first.status_code == 202, first.text


def test_inbox_list_shows_dead_row(
    failing_env: dict[str, str], failing_receiver: Any, dead_row: dict[str, Any]
) -> None:
    completed = run_cli(failing_env, "inbox", "list", "--status", "dead")

    assert completed.returncode == 0, completed.stderr
    lines = [line.split("\t") for line in completed.stdout.splitlines()]
    matching = [fields for fields in lines if fields[0] == str(dead_row["id"])]
    assert matching == [
        [str(dead_row["id"]), "dead", "sellerLead", dead_row["received_at"], "3"]
    ]


def test_inbox_list_limit(
    failing_env: dict[str, str], failing_receiver: Any, dead_row: dict[str, Any]
) -> None:
    completed = run_cli(failing_env, "inbox", "list", "--limit", "1")

    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.splitlines()) == 1


def test_inbox_show_prints_row_json(
    failing_env: dict[str, str], failing_receiver: Any, dead_row: dict[str, Any]
) -> None:
    completed = run_cli(failing_env, "inbox", "show", str(dead_row["id"]))

    assert completed.returncode == 0, completed.stderr
    shown = json.loads(completed.stdout)
    assert shown["id"] == dead_row["id"]
    assert shown["status"] == "dead"
    assert shown["body"] == json.loads(dead_row["body"])
    assert shown["last_error"] == dead_row["last_error"]
    assert "x-hub-signature-256" in shown["headers"]


def test_inbox_show_unknown_id_fails(
    failing_env: dict[str, str], failing_receiver: Any
) -> None:
    completed = run_cli(failing_env, "inbox", "show", "999999")

    assert completed.returncode == 1
    assert "999999" in completed.stderr


def test_inbox_stats_counts_statuses(
    failing_env: dict[str, str], failing_receiver: Any, dead_row: dict[str, Any]
) -> None:
    completed = run_cli(failing_env, "inbox", "stats")

    assert completed.returncode == 0, completed.stderr
    counts = dict(line.split("\t") for line in completed.stdout.splitlines())
    assert set(counts) == {"pending", "done", "dead", "total"}
    assert int(counts["dead"]) >= 1
    statuses = [row["status"] for row in fetch_rows(failing_receiver.db_path)]
    assert int(counts["total"]) == len(statuses)


@pytest.mark.usefixtures("package_root")
def test_inbox_command_without_database_fails(tmp_path: Path) -> None:
    env = receiver_env(tmp_path)

    completed = run_cli(env, "inbox", "list")

    assert completed.returncode == 1
    assert "RECEIVER_DB_PATH" in completed.stderr
    assert not (tmp_path / "inbox.sqlite3").exists()


def test_retried_row_handled_after_restart(
    runtime_testing: Any,
    failing_receiver: Any,
    dead_row: dict[str, Any],
    tmp_path: Path,
) -> None:
    env = receiver_env(
        tmp_path,
        RECEIVER_HANDLER=f"{PACKAGE}.handlers:RecordingHandler",
    )
    db_copy = Path(env["RECEIVER_DB_PATH"])
    with (
        sqlite3.connect(failing_receiver.db_path) as source,
        sqlite3.connect(db_copy) as target,
    ):
        source.backup(target)

    retried = run_cli(env, "inbox", "retry", str(dead_row["id"]))
    retried_again = run_cli(env, "inbox", "retry", str(dead_row["id"]))

    assert retried.returncode == 0, retried.stderr
    assert fetch_row(db_copy, dead_row["id"])["status"] == "pending"
    assert fetch_row(db_copy, dead_row["id"])["attempts"] == 0
    assert retried_again.returncode == 1
    assert "pending" in retried_again.stderr

    with runtime_testing.running_receiver(PACKAGE, env) as receiver:

        def is_done() -> bool:
            return row_status(db_copy, dead_row["id"]) == "done"

        wait_until(is_done, "the retried row is done")
    calls = handler_calls(tmp_path / "handler-calls.jsonl")

    assert receiver.process.returncode is not None
    assert "inbox worker stopped" in receiver.output_text()
    assert "inbox writer stopped" in receiver.output_text()
    assert [call["method"] for call in calls] == ["on_seller_lead"]
    assert calls[0]["payload"]["lead_id"] == json.loads(dead_row["body"])["lead_id"]


def test_revalidation_failure_logged_without_values(
    failing_receiver: Any, package_root: Path
) -> None:
    inbox = importlib.import_module(f"{PACKAGE}.runtime.inbox")
    store = importlib.import_module(f"{PACKAGE}.runtime.store")
    # A row that fails validation can only come from another tool or from an
    # older model, so it is written to the inbox directly.
    body = lead_body(role="seller", email="zq-stored-9152@@example..invalid")
    new = store.NewMessage(
        message="sellerLead", operation_id="receiveLead", body=body, headers={}
    )
    connection = inbox.connect(failing_receiver.db_path)
    try:
        connection.execute("BEGIN IMMEDIATE")
        row_id = inbox.insert_message(connection, new, store.utc_now()).id
        connection.execute("COMMIT")
    finally:
        connection.close()

    def is_dead() -> bool:
        return row_status(failing_receiver.db_path, row_id) == "dead"

    wait_until(is_dead, f"row {row_id} is dead")
    expected_error = "ValidationError: 1 error: contact.email [value_error]"
    row = fetch_row(failing_receiver.db_path, row_id)
    log_lines = failing_receiver.output_text().splitlines()
    failure_indexes = [
        index
        for index, line in enumerate(log_lines)
        if f"inbox row {row_id} (sellerLead)" in line
    ]

    assert row["last_error"] == expected_error
    assert len(failure_indexes) == 3
    for index in failure_indexes:
        assert log_lines[index].endswith(expected_error)
        next_line = log_lines[index + 1] if index + 1 < len(log_lines) else ""
        assert not next_line.startswith("Traceback"), next_line
    assert not any("zq-stored" in line for line in log_lines)
    assert not any("input_value" in line for line in log_lines)


# Storage without a handler


def test_without_handler_rows_stay_pending(
    runtime_testing: Any, tmp_path: Path
) -> None:
    env = receiver_env(tmp_path)
    with (
        runtime_testing.running_receiver(PACKAGE, env) as receiver,
        httpx.Client(base_url=receiver.base_url, timeout=10.0) as http,
    ):
        accepted = post_lead(http, lead_body(), signature=None)
        row = fetch_row(receiver.db_path, accepted.json()["id"])
        log = receiver.output_text()

    assert accepted.status_code == 202, accepted.text
    assert row["status"] == "pending"
    assert "no handler configured" in log


def test_storage_failure_returns_503(runtime_testing: Any, tmp_path: Path) -> None:
    env = receiver_env(tmp_path)
    with (
        runtime_testing.running_receiver(PACKAGE, env) as receiver,
        httpx.Client(base_url=receiver.base_url, timeout=10.0) as http,
    ):
        with sqlite3.connect(receiver.db_path) as connection:
            connection.execute("DROP TABLE messages")
        response = post_lead(http, lead_body(), signature=None)
        log = receiver.output_text()

    assert_problem(response, 503)
    assert "storing a buyerLead message for receiveLead failed" in log


# Access log


def test_access_log_omits_query_string(
    client: httpx.Client, main_receiver: Any
) -> None:
    payload = {"id": f"e-{time.time_ns()}", "reason": "done"}

    accepted = post_event(client, payload)
    rejected = post_event(client, payload, query_key="zq-wrong-key-2287")
    not_found = client.get("/no-such-endpoint", params={"api_key": QUERY_KEY})

    assert accepted.status_code == 202, accepted.text
    assert rejected.status_code == 401, rejected.text
    assert not_found.status_code == 404, not_found.text
    row = accepted.json()["id"]
    expected_lines = [
        rf"POST /event 202 \d+\.\d ms request \w+ message \w+ inbox row {row}\b",
        r"POST /event 401 \d+\.\d ms request \w+$",
        r"GET /no-such-endpoint 404 \d+\.\d ms request \w+$",
    ]

    def all_logged() -> bool:
        log = main_receiver.output_text()
        return all(re.search(line, log, re.MULTILINE) for line in expected_lines)

    wait_until(all_logged, "the access lines are logged")
    log = main_receiver.output_text()
    assert QUERY_KEY not in log
    assert "zq-wrong-key" not in log
    assert "api_key" not in log


# Quarantine


def fetch_quarantine(db_path: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(db_path) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT * FROM quarantine ORDER BY id").fetchall()
    return [dict(row) for row in rows]


def test_invalid_body_is_quarantined_once(
    client: httpx.Client, main_receiver: Any
) -> None:
    body = lead_body(email=f"not-an-email-{time.time_ns()}")

    first = post_lead(client, body)
    second = post_lead(client, body)

    assert_problem(first, 422)
    assert_problem(second, 422)
    held = [
        row for row in fetch_quarantine(main_receiver.db_path) if row["body"] == body
    ]
    assert len(held) == 1
    problem = json.loads(held[0]["problem"])
    assert problem["status"] == 422
    assert [error["pointer"] for error in problem["errors"]] == ["/contact/email"]
    assert "x-api-key" not in json.loads(held[0]["headers"])


def test_malformed_body_is_quarantined(
    client: httpx.Client, main_receiver: Any
) -> None:
    body = b'{"lead_id": "broken-' + str(time.time_ns()).encode() + b'",'

    response = post_lead(client, body)

    assert_problem(response, 400)
    held = [
        row for row in fetch_quarantine(main_receiver.db_path) if row["body"] == body
    ]
    assert len(held) == 1


def test_unauthenticated_body_is_not_quarantined(
    client: httpx.Client, main_receiver: Any
) -> None:
    body = lead_body(email=f"stranger-{time.time_ns()}")

    response = post_lead(client, body, api_key="wrong-key")

    assert_problem(response, 401)
    assert all(row["body"] != body for row in fetch_quarantine(main_receiver.db_path))


def test_quarantine_cli_lists_shows_and_purges(
    client: httpx.Client, main_receiver: Any
) -> None:
    body = lead_body(email=f"cli-{time.time_ns()}")
    assert_problem(post_lead(client, body), 422)
    held = [
        row for row in fetch_quarantine(main_receiver.db_path) if row["body"] == body
    ]
    row_id = str(held[0]["id"])
    env = {"RECEIVER_DB_PATH": str(main_receiver.db_path)}

    listed = run_cli(env, "quarantine", "list")
    shown = run_cli(env, "quarantine", "show", row_id)
    purged = run_cli(env, "quarantine", "purge", row_id)
    again = run_cli(env, "quarantine", "show", row_id)

    assert listed.returncode == 0, listed.stderr
    assert any(line.split("\t")[0] == row_id for line in listed.stdout.splitlines())
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["body"] == body.decode()
    assert purged.returncode == 0, purged.stderr
    assert again.returncode == 1
    assert "not found" in again.stderr


def test_request_id_is_echoed_or_made_up(client: httpx.Client) -> None:
    given = client.get("/_health", headers={"X-Request-Id": "trace-42.a_b"})
    unsafe = client.get("/_health", headers={"X-Request-Id": "bad id\twith space"})
    absent = client.get("/_health")

    assert given.headers["x-request-id"] == "trace-42.a_b"
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", absent.headers["x-request-id"])
    assert unsafe.headers["x-request-id"] != absent.headers["x-request-id"]


def test_startup_line_shows_configuration_without_secrets(main_receiver: Any) -> None:
    log = main_receiver.output_text()

    assert "receiver started: inbox=" in log
    assert "signature=HMAC-SHA256 (X-Signature)" in log
    assert "RECEIVER_API_KEYS=" in log
    for secret in (*API_KEYS, SIGNING_SECRET.decode(), BEARER_TOKEN):
        assert secret not in log


def test_inbox_purge_deletes_only_finished_rows(
    failing_receiver: Any, dead_row: dict[str, Any], tmp_path: Path
) -> None:
    env = receiver_env(tmp_path)
    db_copy = Path(env["RECEIVER_DB_PATH"])
    with (
        sqlite3.connect(failing_receiver.db_path) as source,
        sqlite3.connect(db_copy) as target,
    ):
        source.backup(target)
    row_id = str(dead_row["id"])

    def set_status(status: str) -> None:
        with sqlite3.connect(db_copy) as connection:
            connection.execute(
                "UPDATE messages SET status = ? WHERE id = ?", (status, row_id)
            )

    set_status("pending")
    kept = run_cli(env, "inbox", "purge", row_id)
    set_status("dead")
    purged = run_cli(env, "inbox", "purge", row_id)
    missing = run_cli(env, "inbox", "purge", row_id)

    assert kept.returncode == 1
    assert "pending" in kept.stderr
    assert purged.returncode == 0, purged.stderr
    assert missing.returncode == 1
    assert "not found" in missing.stderr
    assert dead_row["id"] not in [row["id"] for row in fetch_rows(db_copy)]


# Signature algorithm and verifier hook


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha384", "sha512"])
def test_hmac_verifier_accepts_each_algorithm(
    package_root: Path, algorithm: str
) -> None:
    security = importlib.import_module(f"{PACKAGE}.runtime.security")
    verifier = security.SignatureVerifier(
        header="X-Signature", secret=SIGNING_SECRET, algorithm=algorithm
    )
    body = lead_body()
    digest = hmac.new(SIGNING_SECRET, body, algorithm).digest()
    other = "sha512" if algorithm != "sha512" else "sha256"
    wrong = hmac.new(SIGNING_SECRET, body, other).hexdigest()

    assert verifier.verify(body, {"X-Signature": digest.hex()})
    assert verifier.verify(body, {"X-Signature": f"{algorithm}={digest.hex()}"})
    assert verifier.verify(body, {"X-Signature": base64.b64encode(digest).decode()})
    assert not verifier.verify(body, {"X-Signature": wrong})
    assert not verifier.verify(body + b" ", {"X-Signature": digest.hex()})
    assert algorithm.upper() in verifier.failure_detail


def test_signature_algorithm_from_environment(
    runtime_testing: Any, tmp_path: Path
) -> None:
    env = receiver_env(
        tmp_path,
        RECEIVER_SIGNING_SECRET=SIGNING_SECRET.decode(),
        RECEIVER_SIGNATURE_ALGORITHM="SHA512",
    )
    body = lead_body()
    sha512 = "sha512=" + hmac.new(SIGNING_SECRET, body, "sha512").hexdigest()
    with (
        runtime_testing.running_receiver(PACKAGE, env) as receiver,
        httpx.Client(base_url=receiver.base_url, timeout=10.0) as http,
    ):
        sha256_response = post_lead(http, body, signature="hex")
        sha512_response = post_lead(http, body, signature=sha512)
        log = receiver.output_text()

    assert_problem(sha256_response, 401)
    assert "HMAC-SHA512" in sha256_response.json()["detail"]
    assert sha512_response.status_code == 202, sha512_response.text
    assert "signature=HMAC-SHA512 (X-Signature)" in log


@pytest.mark.usefixtures("package_root")
def test_unknown_signature_algorithm_exits_2(tmp_path: Path) -> None:
    env = receiver_env(tmp_path, RECEIVER_SIGNATURE_ALGORITHM="md5")

    completed = run_cli(env, "serve", "--host", "127.0.0.1", "--port", "9")

    assert completed.returncode == 2
    assert "RECEIVER_SIGNATURE_ALGORITHM='md5'" in completed.stderr
    assert "sha256" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_verifier_hook_replaces_hmac(runtime_testing: Any, tmp_path: Path) -> None:
    env = receiver_env(
        tmp_path,
        RECEIVER_SIGNING_SECRET=SIGNING_SECRET.decode(),
        RECEIVER_SIGNATURE_VERIFIER=f"{PACKAGE}.verifiers:length_header_verifier",
    )
    body = lead_body()
    headers = {"Content-Type": "application/json", "X-API-Key": API_KEYS[0]}
    with (
        runtime_testing.running_receiver(PACKAGE, env) as receiver,
        httpx.Client(base_url=receiver.base_url, timeout=10.0) as http,
    ):
        hmac_only = post_lead(http, body, signature="hex")
        wrong = http.post(
            "/lead", content=body, headers={**headers, "X-Body-Length": "1"}
        )
        broken = http.post(
            "/lead", content=body, headers={**headers, "X-Body-Length": "explode"}
        )
        genuine = http.post(
            "/lead", content=body, headers={**headers, "X-Body-Length": str(len(body))}
        )
        rows = fetch_rows(receiver.db_path)
        log = receiver.output_text()

    assert_problem(hmac_only, 401)
    problem = assert_problem(wrong, 401)
    assert problem["type"].endswith("invalid-signature")
    assert problem["detail"] == "The request signature is missing or invalid."
    assert_problem(broken, 503)
    assert genuine.status_code == 202, genuine.text
    assert [row["id"] for row in rows] == [genuine.json()["id"]]
    assert "verifier failed on purpose" in log
    assert f"signature=verifier {PACKAGE}.verifiers:length_header_verifier" in log


@pytest.mark.parametrize(
    "reference",
    [f"{PACKAGE}.verifiers:NotAVerifier", f"{PACKAGE}.verifiers:missing", "nomodule"],
)
@pytest.mark.usefixtures("package_root")
def test_unusable_verifier_hook_exits_2(tmp_path: Path, reference: str) -> None:
    env = receiver_env(tmp_path, RECEIVER_SIGNATURE_VERIFIER=reference)

    completed = run_cli(env, "serve", "--host", "127.0.0.1", "--port", "9")

    assert completed.returncode == 2
    assert "RECEIVER_SIGNATURE_VERIFIER" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "name",
    [
        "body_only_verifier",
        "keyword_verifier",
        "ShortVerifyMethod",
        "async_verifier",
        "AsyncVerifyMethod",
    ],
)
@pytest.mark.usefixtures("package_root")
def test_verifier_hook_with_wrong_parameters_exits_2(tmp_path: Path, name: str) -> None:
    reference = f"{PACKAGE}.verifiers:{name}"
    env = receiver_env(tmp_path, RECEIVER_SIGNATURE_VERIFIER=reference)

    completed = run_cli(env, "serve", "--host", "127.0.0.1", "--port", "9")

    assert completed.returncode == 2
    assert completed.stderr.startswith(
        f"error: invalid RECEIVER_SIGNATURE_VERIFIER={reference!r}: "
    )
    expected = "async" if name.lower().startswith("async") else "(body, headers)"
    assert expected in completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "inbox.sqlite3").exists()


def test_verifier_argument_with_wrong_parameters_raises(
    package_root: Path, tmp_path: Path
) -> None:
    package = importlib.import_module(PACKAGE)
    app = importlib.import_module(f"{PACKAGE}.runtime.app")
    settings = importlib.import_module(f"{PACKAGE}.runtime.settings")
    verifiers = importlib.import_module(f"{PACKAGE}.verifiers")
    configured = settings.Settings.from_env(
        receiver_env(tmp_path), package.SECURITY_SCHEMES, package.SIGNATURE_HEADER
    )
    with pytest.raises(settings.ConfigurationError, match=r"\(body, headers\)"):
        app.create_receiver(
            package.ROUTES,
            package.SECURITY_SCHEMES,
            settings=configured,
            verifier=verifiers.ShortVerifyMethod(),
        )
    assert not (tmp_path / "inbox.sqlite3").exists()


def test_verifier_hook_with_flexible_parameters_starts(
    package_root: Path, tmp_path: Path
) -> None:
    security = importlib.import_module(f"{PACKAGE}.runtime.security")
    verifier = security.load_verifier(f"{PACKAGE}.verifiers:FlexibleVerifier")
    assert verifier.verify(b"{}", {})
