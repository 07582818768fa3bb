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
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

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
