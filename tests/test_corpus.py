"""Run the tool over every public document in ../shared/corpus.

Each run either generates a package whose models, receiver app and contract
test modules import, or fails with diagnostics in the documented form, never
with a traceback. The verdict
matches the official AsyncAPI validator's, recorded in MANIFEST.tsv: a
document it accepts generates, and one it rejects fails. A document whose
file refs leave its folder is refused until `--allow-outside-refs` is given,
and must then generate.
"""

from __future__ import annotations

import csv
import importlib
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import main

from .conftest import shared_folder

DIAGNOSTIC = re.compile(r"^(\S.*:\d+:\d+: )?(error|warning): \S")
OUTSIDE = "points outside the spec's folder"


def corpus_entries() -> list[dict[str, str]]:
    try:
        folder = shared_folder()
    except pytest.skip.Exception:
        return []
    with open(folder / "corpus" / "MANIFEST.tsv", encoding="utf-8") as manifest:
        return list(csv.DictReader(manifest, delimiter="\t"))


ENTRIES = corpus_entries()


def test_corpus_is_present() -> None:
    folder = shared_folder()
    assert (folder / "corpus" / "MANIFEST.tsv").is_file()
    assert len(ENTRIES) > 50


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["path"] for entry in ENTRIES])
def test_document_generates_or_fails_cleanly(
    entry: dict[str, str], tmp_path: Path
) -> None:
    spec = shared_folder() / "corpus" / entry["path"]
    output = tmp_path / "generated"
    package = ["--package", f"corpus_{ENTRIES.index(entry)}"]
    result = generate(spec, output, *package)
    if result.exit_code == 2 and OUTSIDE in result.stderr:
        assert not output.exists(), "a failed run wrote output"
        result = generate(spec, output, "--allow-outside-refs", *package)
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    expected = 0 if entry["official_verdict"] == "valid" else 2
    assert result.exit_code == expected, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.exit_code == 2:
        assert lines
        for line in lines:
            assert DIAGNOSTIC.match(line), line
        assert not output.exists(), "a failed run wrote output"
    else:
        package = f"corpus_{ENTRIES.index(entry)}"
        assert (output / package / "models.py").is_file()
        sys.path.insert(0, str(output))
        try:
            for module in ("models", "app", "tests.support", "tests.test_models"):
                importlib.import_module(f"{package}.{module}")
        finally:
            sys.path.remove(str(output))


def generate(spec: Path, output: Path, *extra: str) -> Result:
    return CliRunner().invoke(
        main, ["generate", str(spec), "--output", str(output), *extra]
    )
