"""Shared fixtures: paths into the repository and the shared material beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
