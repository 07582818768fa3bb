"""Valid sample payloads: the spec's examples first, synthesized ones otherwise."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from generator.render import _json_file
from generator.samples import REMOVED, Samples, changed_node

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


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5))
def test_json_files_read_as_json_dumps_writes_them(value: dict[str, Any]) -> None:
    assert _json_file(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"


@given(st.lists(JSON_VALUES, max_size=5))
def test_one_item_per_line_lists_parse_back(items: list[Any]) -> None:
    text = _json_file({"a": 1, "invalid": items}, one_per_line=("invalid",))
    assert json.loads(text) == {"a": 1, "invalid": items}
    assert text.count("\n") == (5 + len(items) if items else 4)


def paths(value: Any, pointer: str = "") -> list[tuple[str, Any]]:
    """Return every node of a JSON value with its pointer, the root first."""
    found = [(pointer, value)]
    if isinstance(value, dict):
        for key, child in value.items():
            token = key.replace("~", "~0").replace("/", "~1")
            found += paths(child, f"{pointer}/{token}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, f"{pointer}/{index}")
    return found


@given(JSON_VALUES, st.data())
def test_change_rebuilds_broken_payload(base: Any, data: st.DataObject) -> None:
    support = importlib.import_module("realtor_connections_plus.tests.support")
    pointer, node = data.draw(st.sampled_from(paths(base)))
    remove = (
        data.draw(st.booleans())
        and pointer
        and isinstance(_parent(base, pointer), dict)
    )
    replacement = data.draw(JSON_VALUES)
    broken = support.changed(
        base,
        {"at": pointer, "remove": True}
        if remove
        else {"at": pointer, "value": replacement},
    )
    at, value = changed_node(base, broken)
    change = (
        {"at": at, "remove": True} if value is REMOVED else {"at": at, "value": value}
    )
    rebuilt = support.changed(base, change)
    assert json.dumps(rebuilt) == json.dumps(broken)
    # The recorded node is never above the one that was changed.
    assert pointer.startswith(at) or at.startswith(pointer)


def _parent(value: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:-1]:
        token = token.replace("~1", "/").replace("~0", "~")
        value = value[int(token)] if isinstance(value, list) else value[token]
    return value


def test_changes_tell_true_from_one() -> None:
    assert changed_node({"a": 1, "b": [1.0]}, {"a": True, "b": [1.0]}) == ("/a", True)
    assert changed_node({"a": 1, "b": [1.0]}, {"a": 1, "b": [1]}) == ("/b/0", 1)
    assert changed_node({"a": 1, "b": 2}, {"b": 2}) == ("/a", REMOVED)


def test_stored_invalid_samples_are_rejected() -> None:
    support = importlib.import_module("realtor_connections_plus.tests.support")
    stored = json.loads(
        (Path(support.__file__).parent / "samples.json").read_text(encoding="utf-8")
    )
    assert stored["invalid"] and all("payload" not in s for s in stored["invalid"])
    for sample in support.SAMPLES["invalid"]:
        schema = {**support.SCHEMA, "$ref": f"#/$defs/{_class_of(support, sample)}"}
        assert not support.jsonschema.Draft7Validator(
            schema, format_checker=support.FORMAT_CHECKER
        ).is_valid(sample["payload"]), sample["id"]


def _class_of(support: Any, sample: dict[str, Any]) -> str:
    models = importlib.import_module("realtor_connections_plus.tests.test_models")
    return str(models.SCHEMA_CLASSES[sample["message"]])
