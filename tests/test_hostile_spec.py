"""A spec whose every text tries to break out of the generated code.

Titles, descriptions, names, enum values, property names, paths and ids hold
triple quotes, backslashes, newlines, Jinja syntax, NUL and escape characters
and Python code. The generated package must compile, pass ruff and mypy
--strict, keep that text inside string literals only, and pass its own
contract tests.
"""

from __future__ import annotations

import enum
import io
import json
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest
from pydantic import BaseModel

from .helpers import run_cli, run_contract_tests

SPEC = Path(__file__).parent / "data" / "hostile" / "hostile-asyncapi.yaml"
PACKAGE = "hostile"


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile") / "generated"
    result = run_cli("generate", SPEC, "--output", folder)
    assert result.returncode == 0, result.stderr
    return folder


def python_files(output: Path) -> list[Path]:
    return sorted((output / PACKAGE).rglob("*.py"))


def test_hostile_text_stays_inside_literals(output: Path) -> None:
    for path in python_files(output):
        source = path.read_text(encoding="utf-8")
        compile(source, str(path), "exec")
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        names = {token.string for token in tokens if token.type == tokenize.NAME}
        assert "system" not in names, path
        assert "__import__" not in names, path
        assert "pwned" not in names, path


def test_hostile_package_passes_ruff_and_mypy(output: Path) -> None:
    for command in (
        [sys.executable, "-m", "ruff", "check", "--isolated", "."],
        [sys.executable, "-m", "mypy", "--strict", PACKAGE],
    ):
        result = subprocess.run(
            command, cwd=output, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_hostile_values_survive_as_data(output: Path) -> None:
    sys.path.insert(0, str(output))
    try:
        from hostile import models  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(output))
    enums = [
        value
        for value in vars(models).values()
        if isinstance(value, type)
        and issubclass(value, enum.Enum)
        and value.__module__ == models.__name__
    ]
    assert len(enums) == 1
    values = {member.value for member in enums[0]}
    assert values == {'"""', "'''", "\\", "{{ 1 }}", "a\nb", "__import__('os')"}


def test_hostile_package_passes_its_contract_tests(output: Path) -> None:
    result = run_contract_tests(output, PACKAGE)
    assert result.returncode == 0, result.stdout + result.stderr


LINE_BREAK_SPEC = """\
asyncapi: 2.6.0
info: {title: Breaks, version: "1"}
channels:
  /x:
    publish:
      operationId: receiveX
      message:
        name: M
        payload:
          type: object
          properties:
            one: {type: string, enum: ["a\\u2028b", ok]}
            two: {type: string, enum: ["\\u2028\\u2028ab", ok]}
            four: {type: string, enum: ["\\u2028\\u2028\\u2028\\u2028abcdefghij", ok]}
            controls: {type: string, enum: ["v\\x0bt\\x0c\\x1c\\x1d\\x85\\x1b", ok]}
            base: {$ref: '#/components/schemas/JsonModel'}
components:
  schemas:
    JsonModel:
      type: object
      properties:
        v: {type: integer}
"""


def test_line_breaks_in_enum_values_stay_data(tmp_path: Path) -> None:
    spec = tmp_path / "breaks.yaml"
    spec.write_text(LINE_BREAK_SPEC, encoding="utf-8")
    output = tmp_path / "generated"

    result = run_cli("generate", spec, "--output", output, "--package", "breaks")

    assert result.returncode == 0, result.stderr
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "."],
        cwd=output,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout
    sys.path.insert(0, str(output))
    try:
        from breaks import base, models  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(output))
    payload = {
        "one": "a\u2028b",
        "two": "\u2028\u2028ab",
        "four": "\u2028\u2028\u2028\u2028abcdefghij",
        "controls": "v\x0bt\x0c\x1c\x1d\x85\x1b",
        "base": {"v": 1},
    }
    parsed = models.MPayload.model_validate_json(json.dumps(payload))
    assert json.loads(parsed.model_dump_json(by_alias=True)) == payload
    for value in vars(models).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            if value.__module__ == models.__name__:
                assert issubclass(value, base.JsonModel), value
    assert base.JsonModel.__module__ == base.__name__
