"""Valid sample payloads: the spec's examples first, synthesized ones otherwise."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from generator.samples import Samples

from .conftest import ORDERS_SPEC
from .helpers import run_cli

LEAD: dict[str, Any] = {
    "type": "object",
    "required": ["lead_id", "role"],
    "properties": {
        "lead_id": {"type": "string"},
        "role": {"type": "string", "enum": ["buyer"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
    },
}


def test_schema_examples_are_valid_samples() -> None:
    schema = {
        **LEAD,
        "examples": [
            {"lead_id": "a", "role": "buyer"},
            {"lead_id": "b", "role": "seller"},
        ],
    }
    samples = Samples({"$defs": {"Lead": schema}}).valid("lead", "Lead", ())
    assert [(s.case, s.payload) for s in samples] == [
        ("schema_example_1", {"lead_id": "a", "role": "buyer"})
    ]


def test_message_examples_come_before_schema_examples() -> None:
    schema = {**LEAD, "examples": [{"lead_id": "a", "role": "buyer"}]}
    message_example = {"lead_id": "m", "role": "buyer", "score": 0.5}
    samples = Samples({"$defs": {"Lead": schema}}).valid(
        "lead", "Lead", (message_example,)
    )
    assert [s.case for s in samples] == ["example_1", "schema_example_1"]
    assert samples[0].payload == message_example


def test_without_examples_minimal_and_maximal_are_synthesized() -> None:
    samples = Samples({"$defs": {"Lead": LEAD}}).valid("lead", "Lead", ())
    assert [s.case for s in samples] == ["minimal", "maximal"]
    assert set(samples[0].payload) == {"lead_id", "role"}
    assert set(samples[1].payload) == {"lead_id", "role", "score"}


def test_example_headers_reach_samples_and_request(tmp_path: Path) -> None:
    output = tmp_path / "generated"
    result = run_cli("generate", ORDERS_SPEC, "--output", output, "--package", "shop")
    assert result.returncode == 0, result.stderr
    data = json.loads((output / "shop" / "tests" / "samples.json").read_text())
    with_headers = [s for s in data["valid"] if s["headers"]]
    assert [s["headers"] for s in with_headers] == [
        {"X-Correlation-Id": "order-A-1001", "Authorization": "Bearer example-token"}
    ]

    sys.path.insert(0, str(output))
    try:
        sender = importlib.import_module("shop.sender")
        runtime = importlib.import_module("shop.runtime.sender")
    finally:
        sys.path.remove(str(output))
    message = with_headers[0]["message"]
    request = runtime.prepare(
        sender.DESTINATIONS[message],
        b"{}",
        schemes=sender.SECURITY_SCHEMES,
        credentials={key: "real-token" for key in _scheme_keys(sender, message)},
        extra_headers=with_headers[0]["headers"],
    )
    assert request.headers["X-Correlation-Id"] == "order-A-1001"
    assert request.headers["authorization"] == "Bearer real-token"
    assert request.headers["content-type"] == "application/json"


def _scheme_keys(sender: Any, message: str) -> set[str]:
    return {key for group in sender.DESTINATIONS[message].security for key in group}
