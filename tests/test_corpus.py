"""Run the tool over every public document in ../shared/corpus.

Each run either succeeds or fails with diagnostics in the documented form,
never with a traceback. Documents that the official tools call valid must
generate, unless they need something the tool rejects on purpose (a payload
in another schema language, a ref that leaves the spec's folder without
`--allow-outside-refs`); the test names those reasons exactly.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import main

from .conftest import shared_folder

DIAGNOSTIC = re.compile(r"^(\S.*:\d+:\d+: )?(error|warning): \S")
# Reasons for which a valid document may still be refused, by design.
DELIBERATE = (
    "unsupported schema format",
    "points outside the spec's folder",
    "remote $ref",
)


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
    result = CliRunner().invoke(main, ["generate", str(spec), "--output", str(output)])
    assert result.exit_code in (0, 2), result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.exit_code == 2:
        assert lines
        for line in lines:
            assert DIAGNOSTIC.match(line), line
        assert not output.exists(), "a failed run wrote output"
        if entry["official_verdict"] == "valid":
            assert any(reason in result.stderr for reason in DELIBERATE), result.stderr
    else:
        models = list(output.glob("*/models.py"))
        assert len(models) == 1
        compile(models[0].read_text(encoding="utf-8"), str(models[0]), "exec")
