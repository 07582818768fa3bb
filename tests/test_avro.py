"""Avro payload schemas become models that accept the JSON form of the records."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import ValidationError

from generator.pipeline import Options, build
from generator.write import write_tree

SPEC = """\
asyncapi: 2.6.0
info: {title: Avro, version: "1"}
channels:
  users:
    publish:
      message:
        name: UserSignedUp
        schemaFormat: application/vnd.apache.avro;version=1.9.0
        payload:
          type: record
          name: User
          namespace: com.example
          fields:
            - {name: id, type: {type: string, logicalType: uuid}}
            - {name: age, type: int}
            - {name: nickname, type: ["null", string], default: null}
            - name: role
              type: {type: enum, name: Role, symbols: [ADMIN, MEMBER]}
            - name: tags
              type: {type: array, items: string}
            - name: scores
              type: {type: map, values: double}
            - name: manager
              type: ["null", com.example.User]
              default: null
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    folder = tmp_path_factory.mktemp("avro")
    spec = folder / "avro-asyncapi.yml"
    spec.write_text(SPEC, encoding="utf-8")
    output = folder / "generated"
    result = build(Options(spec, output, package="avro_models"))
    write_tree(output, result.files, result.manifest)
    sys.path.insert(0, str(output))
    try:
        yield importlib.import_module("avro_models.models")
    finally:
        sys.path.remove(str(output))


VALID = {
    "id": "123e4567-e89b-42d3-a456-426614174000",
    "age": 41,
    "role": "ADMIN",
    "tags": ["a"],
    "scores": {"x": 1.5},
    "manager": {
        "id": "123e4567-e89b-42d3-a456-426614174001",
        "age": 50,
        "nickname": "boss",
        "role": "MEMBER",
        "tags": [],
        "scores": {},
    },
}


def test_avro_record_accepts_its_json_form(models: ModuleType) -> None:
    user = models.User.model_validate_json(json.dumps(VALID))
    assert json.loads(user.model_dump_json(by_alias=True)) == VALID


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age", 2**31),
        ("age", "41"),
        ("role", "OWNER"),
        ("id", "not-a-uuid"),
        ("tags", [1]),
        ("scores", {"x": "high"}),
    ],
)
def test_avro_constraints_are_enforced(
    models: ModuleType, field: str, value: object
) -> None:
    with pytest.raises(ValidationError):
        models.User.model_validate_json(json.dumps({**VALID, field: value}))


def test_avro_fields_without_default_are_required(models: ModuleType) -> None:
    payload = {k: v for k, v in VALID.items() if k != "age"}
    with pytest.raises(ValidationError):
        models.User.model_validate_json(json.dumps(payload))
    optional = {k: v for k, v in VALID.items() if k != "manager"}
    models.User.model_validate_json(json.dumps(optional))


def test_undefined_avro_type_is_reported(tmp_path: Path) -> None:
    spec = tmp_path / "bad-asyncapi.yml"
    spec.write_text(SPEC.replace("com.example.User]", "com.example.Boss]"))
    from click.testing import CliRunner

    from generator.cli import main

    result = CliRunner().invoke(main, ["validate", str(spec)])
    assert result.exit_code == 2
    assert "Avro type 'com.example.Boss' is not defined" in result.stderr
