"""Each known way generated models used to disagree with JSON Schema, pinned.

The models come from tests/data/keywords, a spec that uses every keyword the
models must enforce; each test names one gap that the differential test in
test_fidelity.py found or that model generators are known for.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from generator.pipeline import Options, build
from generator.write import write_tree

SPEC = Path(__file__).parent / "data" / "keywords" / "keywords-asyncapi.yaml"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    output = tmp_path_factory.mktemp("gaps")
    result = build(Options(SPEC, output, package="gaps"))
    write_tree(output, result.files, result.manifest)
    sys.path.insert(0, str(output))
    try:
        yield importlib.import_module("gaps.models")
    finally:
        sys.path.remove(str(output))


def accepts(models: ModuleType, payload: dict[str, Any]) -> bool:
    try:
        models.Everything.model_validate_json(json.dumps({"id": "a1", **payload}))
    except ValidationError:
        return False
    return True


def round_trip(models: ModuleType, payload: dict[str, Any]) -> Any:
    full = {"id": "a1", **payload}
    parsed = models.Everything.model_validate_json(json.dumps(full))
    return json.loads(parsed.model_dump_json(by_alias=True))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("count", "5"),
        ("ratio", "0.5"),
        ("closed", {"only": "true"}),
        ("id", 1),
        ("when", 1700000000),
        ("when", "1700000000"),
        ("day", 20260101),
        ("mixed", "1"),
        ("fixed", True),
    ],
)
def test_no_coercion_between_json_types(
    models: ModuleType, field: str, value: object
) -> None:
    assert not accepts(models, {field: value})


def test_unknown_keys_are_kept(models: ModuleType) -> None:
    payload = {"x-extra": {"nested": [1, "two"]}, "needs": {"other": 1}}
    assert round_trip(models, payload) == {"id": "a1", **payload}


def test_unknown_keys_rejected_when_closed(models: ModuleType) -> None:
    assert not accepts(models, {"closed": {"only": True, "more": 1}})


@pytest.mark.parametrize(
    "value",
    [
        {"when": "2026-12-04T10:15:00+00:00"},
        {"when": "2026-12-04t10:15:00.5z"},
        {"link": "https://example.com"},
        {"link": "HTTPS://Example.COM/a b"[:19]},
        {"mail": "Ada@EXAMPLE.com"},
        {"key": "123E4567-E89B-42D3-A456-426614174000"},
        {"host6": "2001:DB8:0:0:0:0:0:1"},
    ],
)
def test_formats_keep_the_sender_text(
    models: ModuleType, value: dict[str, str]
) -> None:
    assert round_trip(models, value) == {"id": "a1", **value}


def test_default_is_not_filled_in(models: ModuleType) -> None:
    assert round_trip(models, {}) == {"id": "a1"}
    assert not accepts(models, {"defaulted": None})


def test_null_only_where_the_schema_allows_it(models: ModuleType) -> None:
    assert accepts(models, {"maybe": None})
    assert not accepts(models, {"count": None})


@pytest.mark.parametrize(
    ("payload", "valid"),
    [
        ({"either": "a"}, True),
        ({"either": 1}, True),
        ({"either": 1.5}, False),
        ({"any": "ab"}, True),
        ({"any": 11}, True),
        ({"any": "abc"}, False),
        ({"merged": {"a": "x", "b": 1}}, True),
        ({"merged": {"a": "x"}}, False),
        ({"never": 1}, True),
        ({"never": "text"}, False),
        ({"count": 10}, True),
        ({"count": 12}, False),
        ({"count": 100}, False),
        ({"ratio": 0}, False),
        ({"tags": ["a", "a"]}, False),
        ({"tags": ["a", "b", "c", "d"]}, False),
        ({"labels": {}}, False),
        ({"labels": {"a": "1", "b": "2", "c": "3"}}, False),
        ({"mixed": None}, True),
        ({"mixed": True}, True),
        ({"mixed": 2}, False),
        ({"pattern_map": {"x-a": 1, "other": "free"}}, True),
        ({"pattern_map": {"x-a": "1"}}, False),
        ({"needs": {"card": "1", "billing": "2"}}, True),
        ({"needs": {"card": "1"}}, False),
        ({"id": "UPPER"}, False),
    ],
)
def test_keyword_is_enforced(
    models: ModuleType, payload: dict[str, Any], valid: bool
) -> None:
    assert accepts(models, payload) is valid


def class_names(output: Path, package: str) -> set[str]:
    import ast

    tree = ast.parse((output / package / "models.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def test_class_names_do_not_shift(tmp_path: Path) -> None:
    before = tmp_path / "before"
    result = build(Options(SPEC, before, package="names"))
    write_tree(before, result.files, result.manifest)
    spec = tmp_path / "keywords-asyncapi.yaml"
    extra = (
        "    Needs: {type: object, properties: {other: {type: string}}}\n"
        "    Closed: {type: string}\n"
    )
    channel = (
        "channels:\n  extra:\n    publish:\n      message:\n        name: Extra\n"
        "        payload:\n          type: object\n          properties:\n"
        "            a: {$ref: '#/components/schemas/Needs'}\n"
        "            b: {$ref: '#/components/schemas/Closed'}\n"
    )
    text = SPEC.read_text(encoding="utf-8").replace("channels:\n", channel, 1)
    spec.write_text(text + extra, encoding="utf-8")
    after = tmp_path / "after"
    result = build(Options(spec, after, package="names"))
    write_tree(after, result.files, result.manifest)
    old_names = class_names(before, "names")
    new_names = class_names(after, "names")
    assert {"Needs", "Closed", "ExtraPayload"} <= new_names
    assert old_names <= new_names
