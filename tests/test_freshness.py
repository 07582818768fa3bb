"""`check` for CI: the manifest's fast path, exact diffs, removals, determinism."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator import fingerprint
from generator.cli import main

from .conftest import REALTOR_SPEC, ROOT
from .helpers import run_cli, tree

FAST = "match the manifest"
PING_SPEC = """\
asyncapi: 2.6.0
info: {title: Ping, version: '1'}
channels:
  /ping:
    publish:
      operationId: receivePing
      message:
        name: Ping
        payload:
          $ref: './schemas/ping.yaml'
"""
PING_SCHEMA = """\
type: object
required: [id]
properties:
  id: {type: string, description: The ping's id.}
"""
MANIFEST = "generated/.asyncapi-gen/ping.json"


@pytest.fixture
def ping_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Lay out a spec with a referenced file, an overlay and a filters file."""
    (tmp_path / "specs" / "schemas").mkdir(parents=True)
    (tmp_path / "specs" / "ping-asyncapi.yaml").write_text(PING_SPEC)
    (tmp_path / "specs" / "schemas" / "ping.yaml").write_text(PING_SCHEMA)
    (tmp_path / "team").mkdir()
    (tmp_path / "team" / "topics.txt.jinja").write_text(
        "{% for m in spec.messages %}{{ m.name | loud }}\n{% endfor %}"
    )
    (tmp_path / "filters.py").write_text("FILTERS = {'loud': str.upper}\n")
    monkeypatch.chdir(tmp_path)
    result = run("generate")
    assert result.exit_code == 0, result.output
    return tmp_path


def run(command: str, *extra: str) -> Result:
    args = [
        command,
        "specs/ping-asyncapi.yaml",
        "-o",
        "generated",
        "--templates",
        "team",
        "--filters",
        "filters.py",
        *extra,
    ]
    return CliRunner().invoke(main, args)


def append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)


# Each change must make check render, whatever its verdict.
INPUT_CHANGES: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "spec-edit": (lambda repo: append("specs/ping-asyncapi.yaml", "# note\n"), ()),
    "referenced-file-edit": (
        lambda repo: append("specs/schemas/ping.yaml", "description: A ping.\n"),
        (),
    ),
    "template-edit": (lambda repo: append("team/topics.txt.jinja", "end\n"), ()),
    "overlay-file-added": (
        lambda repo: (repo / "team" / "extra.txt").write_text("x\n"),
        (),
    ),
    "filters-edit": (lambda repo: append("filters.py", "GLOBALS = {}\n"), ()),
    "option-change": (lambda repo: None, ("--idempotency-key", "Ping=id")),
    "output-edited": (
        lambda repo: append("generated/ping/models.py", "EXTRA = 1\n"),
        (),
    ),
    "output-deleted": (
        lambda repo: (repo / "generated" / "ping" / "topics.txt").unlink(),
        (),
    ),
    "output-added": (
        lambda repo: (repo / "generated" / "ping" / "notes.txt").write_text("x\n"),
        (),
    ),
    "output-and-its-digest-edited": (lambda repo: edit_with_digest(repo), ()),
    "tool-version": (
        lambda repo: (repo / MANIFEST).write_text(
            (repo / MANIFEST).read_text().replace('"ruff": "', '"ruff": "0.0.1-')
        ),
        (),
    ),
}


def edit_with_digest(repo: Path) -> None:
    """Edit a generated file and put its new digest in the manifest."""
    target = repo / "generated" / "ping" / "models.py"
    old = fingerprint.digest(target.read_bytes())
    append(str(target), "EXTRA = 1\n")
    new = fingerprint.digest(target.read_bytes())
    manifest = repo / MANIFEST
    manifest.write_text(manifest.read_text().replace(old, new))


@pytest.mark.parametrize(
    ("extra", "exit_code"),
    [(("--max-spec-bytes", "100"), 2), (("--allow-outside-refs",), 1)],
    ids=["max-spec-bytes", "allow-outside-refs"],
)
def test_acceptance_options_defeat_the_fast_path(
    ping_repo: Path, extra: tuple[str, ...], exit_code: int
) -> None:
    # These options decide whether the spec is accepted, so check must not
    # decide from a manifest written with other values.
    result = run("check", *extra)
    assert FAST not in result.output
    assert result.exit_code == exit_code, result.output


def test_header_names_acceptance_options(ping_repo: Path) -> None:
    result = run("generate", "--max-spec-bytes", "9000000", "--allow-outside-refs")
    assert result.exit_code == 0, result.output
    header = (ping_repo / "generated" / "ping" / "models.py").read_text()
    assert "--allow-outside-refs --max-spec-bytes 9000000\n" in header


def test_unchanged_output_takes_the_fast_path(ping_repo: Path) -> None:
    fast = run("check")
    full = run("check", "--full")
    assert fast.exit_code == 0, fast.output
    assert FAST in fast.output
    assert full.exit_code == 0, full.output
    assert FAST not in full.output
    assert "generated/ping: up to date" in full.output


@pytest.mark.parametrize("change", sorted(INPUT_CHANGES))
def test_input_change_defeats_the_fast_path(ping_repo: Path, change: str) -> None:
    mutate, extra = INPUT_CHANGES[change]
    mutate(ping_repo)
    result = run("check", *extra)
    assert FAST not in result.output
    assert result.exit_code == 1, result.output


def test_tool_code_edit_defeats_the_fast_path(
    ping_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Editing a module of the tool changes its code digest; this fakes that.
    monkeypatch.setattr(fingerprint, "code_digest", lambda: "0" * 64)
    result = run("check")
    assert FAST not in result.output
    assert result.exit_code == 1, result.output


def test_regenerating_restores_the_fast_path(ping_repo: Path) -> None:
    append("specs/schemas/ping.yaml", "description: A ping.\n")
    assert run("generate").exit_code == 0
    result = run("check")
    assert result.exit_code == 0, result.output
    assert FAST in result.output


def test_manifest_records_every_input(ping_repo: Path) -> None:
    manifest = json.loads((ping_repo / MANIFEST).read_text())
    inputs = manifest["inputs"]
    assert sorted(inputs["specs"]) == [
        "specs/ping-asyncapi.yaml",
        "specs/schemas/ping.yaml",
    ]
    assert sorted(inputs["templates"]) == ["builtin", "team"]
    assert set(inputs["tools"]) == {
        "asyncapi-gen",
        "asyncapi-gen-code",
        "datamodel-code-generator",
        "ruff",
    }
    assert inputs["options"]["filters"] == "filters.py"
    assert len(inputs["filters"]) == 64
    assert "ping/topics.txt" in manifest["files"]


OVERLAY = ROOT / "docs" / "examples" / "overlay"
OVERLAY_ARGS = ("--templates", "overlay/templates", "--filters", "overlay/filters.py")
SPEC = f"specs/{REALTOR_SPEC.name}"


def realtor_repo(folder: Path) -> Path:
    (folder / "specs").mkdir(parents=True)
    shutil.copyfile(REALTOR_SPEC, folder / SPEC)
    shutil.copytree(OVERLAY, folder / "overlay")
    return folder


def test_description_change_diffs_exactly_its_lines(tmp_path: Path) -> None:
    repo = realtor_repo(tmp_path)
    assert run_cli("generate", SPEC, *OVERLAY_ARGS, cwd=repo).returncode == 0
    spec = repo / SPEC
    old = "Role of the lead, always buyer for this message type."
    new = "Role of the lead: buyer for this message type."
    spec.write_text(spec.read_text().replace(old, new))
    result = run_cli("check", SPEC, *OVERLAY_ARGS, cwd=repo)
    assert result.returncode == 1
    changed = [
        line
        for line in result.stdout.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        f"-    {old}",
        f"+    {new}",
        f'-          "description": "{old}",',
        f'+          "description": "{new}",',
    ]
    assert "stale: generated/realtor_connections_plus/models.py" in result.stderr
    assert "stale: generated/realtor_connections_plus/schema.json" in result.stderr
    manifest = "generated/.asyncapi-gen/realtor_connections_plus.json"
    assert f"stale: {manifest}" in result.stderr


def test_deleted_message_files_are_reported_then_removed(tmp_path: Path) -> None:
    repo = realtor_repo(tmp_path)
    assert run_cli("generate", SPEC, *OVERLAY_ARGS, cwd=repo).returncode == 0
    spec = repo / SPEC
    text = spec.read_text()
    start = text.index("    SellerLead:\n")
    end = text.index("  schemas:\n")
    text = text[:start] + text[end:]
    text = text.replace("          - $ref: '#/components/messages/SellerLead'\n", "")
    spec.write_text(text)
    publisher = (
        repo / "generated/realtor_connections_plus/kafka/seller_lead_publisher.py"
    )

    checked = run_cli("check", SPEC, *OVERLAY_ARGS, cwd=repo)
    assert checked.returncode == 1
    removed = [
        line for line in checked.stderr.splitlines() if line.startswith("removed: ")
    ]
    assert removed == [
        "removed: generated/realtor_connections_plus/kafka/seller_lead_publisher.py "
        "(no longer produced; generate removes it)"
    ]
    assert publisher.is_file()

    generated = run_cli("generate", SPEC, *OVERLAY_ARGS, cwd=repo)
    assert generated.returncode == 0, generated.stderr
    assert not publisher.exists()
    assert (publisher.parent / "buyer_lead_publisher.py").is_file()
    again = run_cli("check", SPEC, *OVERLAY_ARGS, cwd=repo)
    assert again.returncode == 0, again.stderr + again.stdout


def generate_in(repo: Path, cwd: Path, hash_seed: str, **env: str) -> None:
    """Run generate in a fresh interpreter from `cwd`, with a given hash seed."""
    prefix = os.path.relpath(repo, cwd)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "generate",
            f"{prefix}/{SPEC}",
            "-o",
            f"{prefix}/generated",
            "--templates",
            f"{prefix}/overlay/templates",
            "--filters",
            f"{prefix}/overlay/filters.py",
        ],
        cwd=cwd,
        env={
            **os.environ,
            "PYTHONHASHSEED": hash_seed,
            "PYTHONPATH": str(ROOT),
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


def test_output_ignores_folder_seed_locale_and_zone(tmp_path: Path) -> None:
    first = realtor_repo(tmp_path / "first")
    second = realtor_repo(tmp_path / "elsewhere" / "second")
    (second / "deeper" / "still").mkdir(parents=True)
    generate_in(first, first, "0", LC_ALL="C.UTF-8", TZ="UTC")
    generate_in(
        second,
        second / "deeper" / "still",
        "4242",
        LC_ALL="POSIX",
        TZ="Pacific/Chatham",
    )
    first_tree = tree(first / "generated")
    second_tree = tree(second / "generated")
    assert sorted(first_tree) == sorted(second_tree)
    for name in first_tree:
        assert first_tree[name] == second_tree[name], name
