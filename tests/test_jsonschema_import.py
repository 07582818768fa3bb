"""jsonschema's slow format packages load only when a schema uses their formats.

The verdicts must stay jsonschema's own: each is compared with a fresh
interpreter that imports jsonschema as usual.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .helpers import ROOT

# Formats and values whose verdicts come from the lazily loaded packages.
CASES = {
    "http://json-schema.org/draft-07/schema#": {
        "iri": ["http://example.com/caf\u00e9", "not an iri", "../path", "a b"],
        "iri-reference": ["http://example.com/caf\u00e9", "../path", "a b", 7],
    },
    "https://json-schema.org/draft/2020-12/schema": {
        "duration": ["P3D", "PT1H30M", "P1Y2M", "3 days", "P", "P1DT", 7],
        "iri": ["http://example.com/caf\u00e9", "not an iri"],
    },
}

VERDICTS = """
import json, sys
CASES = json.loads(sys.argv[1])
{imports}
slow = ("rfc3987_syntax", "isoduration")
loaded_at_start = [name for name in slow if name in sys.modules]
verdicts = {{}}
for dialect, formats in CASES.items():
    for name, values in formats.items():
        schema = {{"$schema": dialect, "format": name}}
        cls = jsonschema.validators.validator_for(schema)
        validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
        verdicts[dialect + " " + name] = [validator.is_valid(v) for v in values]
print(json.dumps([loaded_at_start, verdicts]))
"""


def run(imports: str) -> list[object]:
    result = subprocess.run(
        [sys.executable, "-c", VERDICTS.format(imports=imports), json.dumps(CASES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    loaded: list[object] = json.loads(result.stdout)
    return loaded


def test_slow_packages_not_loaded_at_start() -> None:
    loaded_at_start, _ = run(
        "import generator.cli\nfrom generator._jsonschema import jsonschema"
    )
    assert loaded_at_start == []


def test_verdicts_match_jsonschema_imported_as_usual() -> None:
    _, lazy = run("from generator._jsonschema import jsonschema")
    loaded_at_start, usual = run("import jsonschema")
    # The plain import loads both packages, so every format above is checked.
    assert loaded_at_start == ["rfc3987_syntax", "isoduration"]
    assert lazy == usual
    assert isinstance(usual, dict)
    draft7 = "http://json-schema.org/draft-07/schema# iri"
    assert usual[draft7][:2] == [True, False]
    duration = "https://json-schema.org/draft/2020-12/schema duration"
    assert usual[duration][:4] == [True, True, True, False]
