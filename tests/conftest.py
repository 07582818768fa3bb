"""Shared fixtures: paths into the repository, the shared material beside it,
and a PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import postgres

ROOT = Path(__file__).resolve().parent.parent
REALTOR_SPEC = ROOT / "specs" / "realtor-connections-plus-asyncapi.yml"
ORDERS_SPEC = ROOT / "tests" / "data" / "orders" / "orders-asyncapi.yaml"


def shared_folder() -> Path:
    """Return ../shared (or $ASYNCAPI_GEN_SHARED); skip, or fail under CI, if absent."""
    folder = Path(os.environ.get("ASYNCAPI_GEN_SHARED", ROOT.parent / "shared"))
    if not folder.is_dir():
        message = (
            f"shared material not found at {folder}; put it beside the clone or "
            "set ASYNCAPI_GEN_SHARED"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture
def shared() -> Path:
    return shared_folder()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    """Return the URL of the tests' PostgreSQL server, or None without one."""
    with postgres.server_url() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str | None) -> Iterator[str]:
    """Return a URL whose tables land in a new, empty schema of the test server."""
    if postgres_server is None:
        postgres.skip_or_fail("no server URL and no PostgreSQL binaries found")
    assert postgres_server is not None
    with postgres.fresh_schema(postgres_server) as url:
        yield url
