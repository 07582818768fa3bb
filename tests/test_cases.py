"""The fault cases in ../shared/cases: each one generates, and its payloads agree.

Every case is generated with `--receive subscribe` into its own package. Where
a case has `payload-valid.json` and `payload-invalid*.json`, the generated
models must accept and reject them, and so must `jsonschema` against the
bundled schema, so a wrong expectation is caught as well as a wrong model.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError

from generator.cli import main
from generator.pipeline import Options, build, load_document
from generator.write import write_tree

from .conftest import shared_folder

# Cases whose whole run must fail with one diagnostic, and text it must contain.
FAILING = {
    "C14-unresolvable-defs-ref": "unresolvable $ref '#/$defs/Address'",
}
# The message that a case's single payload file is meant for, where the case has
# several; otherwise every message with a payload must give the same verdict.
TARGET_MESSAGES = {
    "C04-recursive-schemas": "CategoryChanged",
    "C10-allof-required-merge": "OrderSubmitted",
}


def case_folders() -> list[Path]:
    try:
        folder = shared_folder()
    except pytest.skip.Exception:
        return []
    return sorted(p for p in (folder / "cases").iterdir() if (p / "spec.yml").is_file())


CASES = case_folders()


def package_for(case: Path) -> str:
    return "case_" + case.name.split("-", 1)[0].lower()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Generate every passing case into one folder that is put on sys.path."""
    shared_folder()
    output = tmp_path_factory.mktemp("cases")
    for case in CASES:
        if case.name in FAILING:
            continue
        options = Options(
            case / "spec.yml", output, package=package_for(case), receive="subscribe"
        )
        result = build(options)
        write_tree(output, result.files, result.manifest)
    sys.path.insert(0, str(output))
    try:
        yield output
    finally:
        sys.path.remove(str(output))


def test_cases_are_present() -> None:
    shared_folder()
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", sorted(FAILING))
def test_failing_case_reports_one_line(case: str, tmp_path: Path) -> None:
    spec = shared_folder() / "cases" / case / "spec.yml"
    output = tmp_path / "generated"
    result = CliRunner().invoke(main, ["generate", str(spec), "-o", str(output)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{os.path.relpath(spec)}:")
    assert FAILING[case] in lines[0]
    assert not output.exists()


def messages_of(case: Path) -> dict[str, tuple[type[BaseModel], dict[str, Any]]]:
    """Map each message name to its model class and its bundled JSON Schema."""
    options = Options(case / "spec.yml", Path("unused"), receive="subscribe")
    document = load_document(options)
    package = package_for(case)
    models = importlib.import_module(f"{package}.models")
    schema = document.schema_document
    result = {}
    for message in document.messages:
        if message.payload_class is None:
            continue
        validator_schema = {**schema, "$ref": f"#/$defs/{message.payload_class}"}
        result[message.name] = (
            getattr(models, message.payload_class),
            validator_schema,
        )
    return result


def accepts(model: type[BaseModel], payload: Any) -> bool:
    try:
        model.model_validate_json(json.dumps(payload))
    except ValidationError:
        return False
    return True


def schema_accepts(schema: dict[str, Any], payload: Any) -> bool:
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return bool(validator.is_valid(payload))


def payload_files(case: Path) -> list[tuple[Path, bool]]:
    files = [(case / "payload-valid.json", True)]
    files += [(path, False) for path in sorted(case.glob("payload-invalid*.json"))]
    return [(path, valid) for path, valid in files if path.is_file()]


PAYLOAD_CASES = [
    pytest.param(case, path, valid, id=f"{case.name}-{path.stem}")
    for case in CASES
    if case.name not in FAILING
    for path, valid in payload_files(case)
]


@pytest.mark.parametrize(("case", "path", "valid"), PAYLOAD_CASES)
def test_case_payload_verdict(
    generated: Path, case: Path, path: Path, valid: bool
) -> None:
    payload = json.loads(path.read_text(encoding="utf-8"))
    checks = checks_for(case, payload)
    model_verdicts = [accepts(model, item) for (model, _), item in checks]
    schema_verdicts = [schema_accepts(schema, item) for (_, schema), item in checks]
    assert schema_verdicts == [valid] * len(checks), "jsonschema disagrees"
    assert model_verdicts == [valid] * len(checks)


def checks_for(
    case: Path, payload: Any
) -> list[tuple[tuple[type[BaseModel], dict[str, Any]], Any]]:
    """Pair each payload in a case's file with the message it is meant for."""
    messages = messages_of(case)
    by_name = isinstance(payload, dict) and set(payload) <= set(messages)
    if by_name and len(messages) > 1:
        return [(messages[name], item) for name, item in payload.items()]
    if case.name in TARGET_MESSAGES:
        return [(messages[TARGET_MESSAGES[case.name]], payload)]
    return [(entry, payload) for entry in messages.values()]


@pytest.mark.parametrize("case", [c for c in CASES if c.name not in FAILING])
def test_case_round_trips_valid_payload(generated: Path, case: Path) -> None:
    path = case / "payload-valid.json"
    if not path.is_file():
        pytest.skip("the case has no valid payload")
    payload = json.loads(path.read_text(encoding="utf-8"))
    pairs = [(model, item) for (model, _), item in checks_for(case, payload)]
    assert pairs
    for model, item in pairs:
        dumped = model.model_validate_json(json.dumps(item)).model_dump_json(
            by_alias=True
        )
        assert json.loads(dumped) == item


def test_generated_cases_pass_ruff_and_mypy(generated: Path) -> None:
    packages = sorted(p.name for p in generated.iterdir() if p.name.startswith("case_"))
    assert packages
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "."],
        cwd=generated,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout
    mypy = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", *packages],
        cwd=generated,
        capture_output=True,
        text=True,
        check=False,
    )
    assert mypy.returncode == 0, mypy.stdout
