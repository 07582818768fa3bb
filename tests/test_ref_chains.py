"""Long chains of `$ref`s: each step either handles them or rejects them cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from generator.cli import main

LENGTH = 400
HEAD = """asyncapi: 3.0.0
info: {title: Chain, version: '1'}
channels:
  lead:
    address: lead
    messages:
      Lead: {$ref: '#/components/messages/Lead'}
operations:
  receiveLead:
    action: receive
    channel: {$ref: '#/channels/lead'}
components:
  messages:
    Lead:
      payload: {$ref: '%s'}
"""
LAST = "{type: object, properties: {id: {type: string}}}"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(arg) for arg in args])


def only_error(result: Result) -> str:
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def nested_chain(folder: Path, length: int) -> Path:
    """Write a spec whose schema S<i> has a property that refers to S<i+1>."""
    lines = [HEAD % "#/components/schemas/S0", "  schemas:"]
    for index in range(length):
        lines.append(
            f"    S{index}: {{type: object, required: [next], properties: "
            f"{{next: {{$ref: '#/components/schemas/S{index + 1}'}}}}}}"
        )
    lines.append(f"    S{length}: {LAST}")
    spec = folder / "spec.yml"
    spec.write_text("\n".join(lines) + "\n")
    return spec.relative_to(folder)


def direct_chain(folder: Path, length: int) -> Path:
    """Write a spec whose schema S<i> is only a ref to S<i+1>."""
    lines = [HEAD % "#/components/schemas/S0", "  schemas:"]
    for index in range(length):
        lines.append(f"    S{index}: {{$ref: '#/components/schemas/S{index + 1}'}}")
    lines.append(f"    S{length}: {LAST}")
    spec = folder / "spec.yml"
    spec.write_text("\n".join(lines) + "\n")
    return spec.relative_to(folder)


def file_chain(folder: Path, length: int, *, nested: bool) -> Path:
    """Write a spec whose payload is s0.yml, which refers to s1.yml, and so on."""
    spec = folder / "spec.yml"
    spec.write_text(HEAD % "./s0.yml")
    for index in range(length):
        ref = f"{{$ref: './s{index + 1}.yml'}}"
        text = f"type: object\nproperties:\n  next: {ref}\n" if nested else ref
        (folder / f"s{index}.yml").write_text(text + "\n")
    (folder / f"s{length}.yml").write_text(LAST + "\n")
    return spec.relative_to(folder)


def test_deep_nested_chain_is_one_error(tmp_path: Path) -> None:
    spec = nested_chain(tmp_path, LENGTH)
    for command in ("validate", "generate"):
        line = only_error(run(command, spec, "-o", tmp_path / "out"))
        assert line.startswith("spec.yml:")
        assert "error: $refs nest schemas deeper than 200 levels" in line
        assert line.endswith("[at #/components/schemas/S96/properties/next]")
    assert not (tmp_path / "out").exists()


def test_deep_nested_chain_bundle_is_one_error(tmp_path: Path) -> None:
    spec = nested_chain(tmp_path, LENGTH)
    line = only_error(run("bundle", spec, "-o", tmp_path / "bundle.yml"))
    assert "$refs nest schemas deeper than 200 levels" in line
    assert not (tmp_path / "bundle.yml").exists()


def test_deep_file_chain_is_one_error(tmp_path: Path) -> None:
    spec = file_chain(tmp_path, LENGTH, nested=True)
    line = only_error(run("generate", spec, "-o", tmp_path / "out"))
    assert line.startswith("s96.yml:3:")
    assert line.endswith("[at #/properties/next]")
    assert "$refs nest schemas deeper than 200 levels" in line


def test_nested_chain_under_the_limit_generates(tmp_path: Path) -> None:
    spec = nested_chain(tmp_path, 60)
    result = run("generate", spec, "-o", tmp_path / "out", "--package", "chain")
    assert result.exit_code == 0, (result.output, result.exception)
    models = (tmp_path / "out" / "chain" / "models.py").read_text()
    assert "class S59(" in models


@pytest.mark.parametrize("where", ["one file", "many files"])
def test_direct_chain_generates_and_bundles(tmp_path: Path, where: str) -> None:
    if where == "one file":
        spec = direct_chain(tmp_path, LENGTH)
    else:
        spec = file_chain(tmp_path, LENGTH, nested=False)
    result = run("generate", spec, "-o", tmp_path / "out", "--package", "chain")
    assert result.exit_code == 0, (result.output, result.exception)
    bundled = tmp_path / "bundle.yml"
    result = run("bundle", spec, "-o", bundled)
    assert result.exit_code == 0, (result.output, result.exception)
    again = run("generate", bundled, "-o", tmp_path / "again", "--package", "chain")
    assert again.exit_code == 0, (again.output, again.exception)
    document = yaml.safe_load(bundled.read_text())
    assert len(document["components"]["schemas"]) > LENGTH


def test_payload_deeper_than_the_receiver_accepts_warns(tmp_path: Path) -> None:
    deep = run("generate", nested_chain(tmp_path, 70), "-o", tmp_path / "deep")
    assert deep.exit_code == 0, (deep.output, deep.exception)
    warnings = [line for line in deep.stderr.splitlines() if "warning:" in line]
    assert len(warnings) == 1, deep.stderr
    assert "1 of 1 sample payloads of message 'Lead' nest arrays and " in warnings[0]
    assert "objects 71 levels deep" in warnings[0]
    assert "rejects bodies deeper than 64" in warnings[0]
    samples = (tmp_path / "deep" / "spec" / "tests" / "samples.json").read_text()
    assert '"valid": []' in samples
    shallow = run("generate", nested_chain(tmp_path, 60), "-o", tmp_path / "shallow")
    assert shallow.exit_code == 0, (shallow.output, shallow.exception)
    assert "warning:" not in shallow.stderr
