"""A PostgreSQL server for the tests, and a fresh schema in it per test.

The server is the one that ASYNCAPI_GEN_TEST_POSTGRES_URL names (`.ci/run` starts
one and sets it). Without that variable, a throwaway server is started from the
PostgreSQL binaries on PATH or under /usr/lib/postgresql/*/bin, in a temporary
folder on a free port of 127.0.0.1, and stopped after the test session.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final
from urllib.parse import quote

import psycopg
import pytest

URL_VARIABLE: Final = "ASYNCAPI_GEN_TEST_POSTGRES_URL"
SERVER_USER: Final = "postgres"
"""System user that runs a throwaway server when the tests run as root, because
postgres refuses to run as root."""
START_TIMEOUT_SECONDS: Final = 60
HOW_TO_RUN: Final = (
    f"set {URL_VARIABLE} to a postgresql:// URL of a server where the tests may "
    "create schemas, or install PostgreSQL (apt-get install postgresql) so that "
    "the tests start a throwaway server"
)


def find_binaries() -> Path | None:
    """Return the folder with initdb and pg_ctl, or None when there is none."""
    on_path = shutil.which("pg_ctl")
    if on_path is not None and shutil.which("initdb") is not None:
        return Path(on_path).parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: (
            int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0
        ),
    )
    return candidates[-1].parent if candidates else None


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it under CI, where PostgreSQL must be available."""
    message = f"PostgreSQL tests need a server: {reason}; {HOW_TO_RUN}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVER_USER, "--", *command]


@contextmanager
def throwaway_server(binaries: Path) -> Iterator[str]:
    """Run a PostgreSQL server until the block ends, and yield its URL.

    It trusts every local connection, so it must only listen on 127.0.0.1.
    """
    folder = Path(tempfile.mkdtemp(prefix="asyncapi-gen-postgres-"))
    data = folder / "data"
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_USER)
        os.chown(folder, account.pw_uid, account.pw_gid)
    port = _free_port()
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "initdb"),
                    "--pgdata",
                    str(data),
                    "--username",
                    SERVER_USER,
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
        )
        options = f"-h 127.0.0.1 -p {port} -k {folder}"
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "pg_ctl"),
                    "--pgdata",
                    str(data),
                    "--log",
                    str(folder / "server.log"),
                    "--options",
                    options,
                    "--wait",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
        )
        try:
            yield f"postgresql://{SERVER_USER}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                _as_server_user(
                    [
                        str(binaries / "pg_ctl"),
                        "--pgdata",
                        str(data),
                        "--mode",
                        "fast",
                        "--wait",
                        "stop",
                    ]
                ),
                check=False,
                capture_output=True,
                timeout=START_TIMEOUT_SECONDS,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def server_url() -> Iterator[str | None]:
    """Yield the configured server's URL, else a throwaway server's, else None."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if url:
        yield url
        return
    binaries = find_binaries()
    if binaries is None:
        yield None
        return
    with throwaway_server(binaries) as started_url:
        yield started_url


def with_schema(url: str, schema: str) -> str:
    """Return `url` with every connection's search_path set to `schema` alone."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    """Create an empty schema, yield a URL whose tables go there, then drop it."""
    schema = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(server_url, schema)
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
