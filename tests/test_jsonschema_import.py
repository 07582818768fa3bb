"""jsonschema's IRI checks load only when a schema uses the iri formats."""

from __future__ import annotations

import json
import subprocess
import sys

from .helpers import ROOT

PROBE = """
import json, sys
import generator.cli
from generator.samples import Samples

loaded_at_start = "rfc3987_syntax" in sys.modules
document = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$defs": {
        "Iri": {"type": "string", "format": "iri"},
        "IriReference": {"type": "string", "format": "iri-reference"},
    },
}
samples = Samples(document)
values = ["http://example.com/caf\\u00e9", "not an iri", "../path", "a b"]
verdicts = {
    name: [samples.validator(name).is_valid(value) for value in values]
    for name in ("Iri", "IriReference")
}
from rfc3987_syntax import is_valid_syntax
expected = {
    "Iri": [is_valid_syntax("iri", value) for value in values],
    "IriReference": [is_valid_syntax("iri_reference", value) for value in values],
}
print(json.dumps([loaded_at_start, verdicts, expected]))
"""


def probe() -> list[object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[object] = json.loads(result.stdout)
    return loaded


def test_iri_package_not_loaded_at_start() -> None:
    loaded_at_start, _, _ = probe()
    assert loaded_at_start is False


def test_iri_verdicts_match_rfc3987_syntax() -> None:
    _, verdicts, expected = probe()
    assert verdicts == expected
    assert isinstance(verdicts, dict)
    assert verdicts["Iri"][:2] == [True, False]
