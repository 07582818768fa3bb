"""The loader's two libyaml paths build the same located tree.

Plain documents are built straight from libyaml's events, which keeps memory
flat on large specs. Documents with anchors, tags, duplicate or non-scalar
keys go through composition. Both must agree on every value, type and
position, so these tests compare the events path with composition.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator import load

from .conftest import ROOT, shared_folder


def composed(text: str, name: str) -> Any:
    loader = load._FastCoreSchemaLoader(text)
    loader.display_name = name
    try:
        return loader.construct_document(loader.get_single_node())
    finally:
        loader.dispose()


def shape(value: Any) -> Any:
    """Return a value with its types and every recorded position, for comparing."""
    if isinstance(value, dict):
        return (
            "mapping",
            value.location,
            [
                (
                    key,
                    shape(child),
                    value.value_locations[key],
                    value.key_locations[key],
                )
                for key, child in value.items()
            ],
        )
    if isinstance(value, list):
        return (
            "sequence",
            value.location,
            [shape(c) for c in value],
            value.item_locations,
        )
    return (type(value).__name__, value)


SCALARS = """\
plain: text
quoted: 'on'
double: "line\\nbreak"
yaml11: [on, off, yes, no, y, n, 2024-05-01, 0o17, 0x1F, 1_000]
numbers: [1, -2, +3, 1.5, .5, 1e3, .inf, -.inf, .nan]
nulls: [~, null, Null, NULL, ]
flags: [true, True, TRUE, false]
keys: {1: a, true: b, null: c, 1.5: d}
folded: >
  one
  two
literal: |
  kept
empty: {}
none: []
"""


def test_scalars_keys_and_positions_agree() -> None:
    events = load._tree_from_events(SCALARS, "scalars.yml")
    assert shape(events) == shape(composed(SCALARS, "scalars.yml"))
    assert events["keys"] == {"1": "a", "true": "b", "null": "c", "1.5": "d"}
    assert events["quoted"] == "on"
    assert events["yaml11"][0] == "on"


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "? [1, 2]\n: value\n",
        "a: 1\na: 2\n",
        "a: 1\n---\nb: 2\n",
    ],
    ids=["alias", "tag", "sequence-key", "duplicate-key", "two-documents"],
)
def test_unusual_documents_go_through_composition(text: str) -> None:
    with pytest.raises(load._Unusual):
        load._tree_from_events(text, "unusual.yml")


def test_anchored_spec_loads(tmp_path: Path) -> None:
    spec = tmp_path / "anchored.yml"
    spec.write_text("info: &info {title: T}\nagain: *info\n", encoding="utf-8")
    root = load.load_file(spec).root
    assert root["again"] == {"title": "T"}


def spec_files() -> list[Path]:
    files = sorted((ROOT / "specs").glob("*.yml")) + sorted(
        (ROOT / "tests" / "data").rglob("*.yaml")
    )
    return files


def test_repository_and_shared_specs_load_alike() -> None:
    files = spec_files()
    shared = shared_folder()
    files += sorted(shared.rglob("*.yml")) + sorted(shared.rglob("*.yaml"))
    compared = 0
    for path in files:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        try:
            events = load._tree_from_events(text, path.name)
        except (load._Unusual, load.yaml.YAMLError):
            continue
        assert shape(events) == shape(composed(text, path.name)), path
        compared += 1
    assert compared > 100
