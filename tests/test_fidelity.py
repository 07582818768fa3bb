"""Differential test: a generated model accepts exactly what its schema accepts.

For each payload schema, hypothesis-jsonschema draws instances the schema
accepts; each must validate in the model and dump back to the same JSON. Each
drawn instance is then broken one constraint at a time (a required field
dropped, a wrong type, a bound crossed, an enum or format broken), keeping only
the breakages `jsonschema` rejects, and the model must reject each of them.
hypothesis-jsonschema cannot draw from a schema whose refs form a cycle, so
those are unrolled a few levels deep first (see `unrolled`).

The oracle is `jsonschema` with format checking on, with one stricter rule:
`email` is checked with email-validator, as the models do, because the
library's own check only looks for an "@". Runs are derandomized, so CI draws
the same instances every time; FIDELITY_EXAMPLES sets how many per schema.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel, ValidationError

from generator.errors import InputError
from generator.pipeline import Options, build, load_document
from generator.samples import Samples
from generator.write import write_tree

from .conftest import ORDERS_SPEC, REALTOR_SPEC, shared_folder

KEYWORDS_SPEC = Path(__file__).parent / "data" / "keywords" / "keywords-asyncapi.yaml"

EXAMPLES = int(os.environ.get("FIDELITY_EXAMPLES", "200"))
CORPUS_PREFIX = "fidelity_corpus_"


def examples_for(package: str) -> int:
    return max(10, EXAMPLES // 10) if package.startswith(CORPUS_PREFIX) else EXAMPLES


FORMAT_CHECKER = jsonschema.FormatChecker()


@FORMAT_CHECKER.checks("email", raises=EmailNotValidError)
def _email(instance: object) -> bool:
    if isinstance(instance, str):
        validate_email(instance, check_deliverability=False)
    return True


def spec_list() -> list[tuple[str, Path, str]]:
    """Return (package, spec, receive) for every spec the harness covers.

    The shared corpus documents come last; each gets fewer draws per schema
    (see `examples_for`), since there are many of them.
    """
    specs = [
        ("fidelity_realtor", REALTOR_SPEC, "publish"),
        ("fidelity_orders", ORDERS_SPEC, "publish"),
        ("fidelity_keywords", KEYWORDS_SPEC, "publish"),
    ]
    try:
        folder = shared_folder()
    except pytest.skip.Exception:
        return specs
    for case in sorted((folder / "cases").iterdir()):
        if (case / "spec.yml").is_file() and not case.name.startswith("C14"):
            package = "fidelity_" + case.name.split("-", 1)[0].lower()
            specs.append((package, case / "spec.yml", "subscribe"))
    with open(folder / "corpus" / "MANIFEST.tsv", encoding="utf-8") as manifest:
        rows = list(csv.DictReader(manifest, delimiter="\t"))
    for index, row in enumerate(rows):
        spec = folder / "corpus" / row["path"]
        try:
            build(Options(spec, Path("unused"), allow_outside_refs=True))
        except InputError:
            continue
        specs.append((f"{CORPUS_PREFIX}{index}", spec, "publish"))
    return specs


SPECS = spec_list()


def payload_entries() -> list[tuple[str, Path, str, str]]:
    """Return (package, spec, receive, class name) for each payload class."""
    entries = []
    for package, spec, receive in SPECS:
        options = Options(
            spec, Path("unused"), receive=receive, allow_outside_refs=True
        )
        document = load_document(options)
        classes = sorted(
            {m.payload_class for m in document.messages if m.payload_class}
        )
        entries.extend((package, spec, receive, name) for name in classes)
    return entries


ENTRIES = payload_entries()


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("fidelity")
    for package, spec, receive in SPECS:
        options = Options(
            spec, folder, package=package, receive=receive, allow_outside_refs=True
        )
        result = build(options)
        write_tree(folder, result.files, result.manifest)
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))


def validator_for(document: dict[str, Any], name: str) -> Any:
    schema = {**document, "$ref": f"#/$defs/{name}"}
    return jsonschema.Draft7Validator(schema, format_checker=FORMAT_CHECKER)


def model_accepts(model: type[BaseModel], instance: Any) -> bool:
    try:
        model.model_validate_json(json.dumps(instance))
    except ValidationError:
        return False
    return True


def refs_of(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set()
        if isinstance(node.get("$ref"), str):
            found.add(node["$ref"].rsplit("/", 1)[-1])
        for value in node.values():
            found |= refs_of(value)
        return found
    if isinstance(node, list):
        return {ref for item in node for ref in refs_of(item)}
    return set()


def is_recursive(document: dict[str, Any], name: str) -> bool:
    """Tell whether a schema reaches a cycle of refs, its own or another's."""
    definitions = document["$defs"]

    def reaches(start: str, target: str) -> bool:
        seen: set[str] = set()
        pending = list(refs_of(definitions.get(start, {})))
        while pending:
            current = pending.pop()
            if current == target:
                return True
            if current not in seen and current in definitions:
                seen.add(current)
                pending.extend(refs_of(definitions[current]))
        return False

    reachable = {name} | {other for other in definitions if reaches(name, other)}
    return any(reaches(other, other) for other in reachable)


def sampled_payloads(document: dict[str, Any], name: str) -> list[Any]:
    return [sample.payload for sample in Samples(document).valid("fidelity", name, ())]


def sampled(document: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(sampled_payloads(document, name) or [None])


MAX_UNROLLED_BYTES = 200_000


def unrolled(document: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
    """Return schema `name` with every ref inlined, recursion cut at `depth`.

    Once a path has expanded a ref `depth` times, the next use of that ref
    becomes an enum of its target's synthesized samples, or `false` when there
    are none. The result has no refs, so hypothesis-jsonschema can draw from it.
    As in draft-07, keywords beside a `$ref` are ignored.
    """
    definitions = document["$defs"]
    leaves: dict[str, Any] = {}

    def leaf(target: str) -> Any:
        if target not in leaves:
            found = sampled_payloads(document, target)
            leaves[target] = {"enum": found} if found else False
        return leaves[target]

    def inline(node: Any, path: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, path) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = ref.removeprefix("#/$defs/")
            if path.count(target) >= depth:
                return leaf(target)
            return inline(definitions[target], (*path, target))
        return {key: inline(value, path) for key, value in node.items()}

    return inline(definitions[name], (name,))


def bounded(document: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    """Draw instances of a recursive schema, nested a few levels deep at most."""
    for depth in (3, 2, 1):
        schema = unrolled(document, name, depth)
        if len(json.dumps(schema)) <= MAX_UNROLLED_BYTES:
            break
    return from_schema(schema)


def instances(document: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    """Draw instances of one schema, from a depth-bounded copy if it recurses."""
    if is_recursive(document, name):
        return bounded(document, name)
    schema = {k: v for k, v in document.items() if k not in ("$comment", "$schema")}
    return from_schema({**schema, "$ref": f"#/$defs/{name}"})


@pytest.mark.parametrize(
    ("package", "spec", "receive", "name"),
    ENTRIES,
    ids=[f"{package}-{name}" for package, _, _, name in ENTRIES],
)
def test_model_agrees_with_schema(
    output: Path, package: str, spec: Path, receive: str, name: str
) -> None:
    document = json.loads((output / package / "schema.json").read_text())
    document.pop("$comment")
    model = getattr(importlib.import_module(f"{package}.models"), name)
    validator = validator_for(document, name)
    breaker = Samples(document)

    def check(instance: Any) -> None:
        if instance is None or not validator.is_valid(instance):
            return
        parsed = model.model_validate_json(json.dumps(instance))
        assert json.loads(parsed.model_dump_json(by_alias=True)) == instance
        for broken in breaker.invalid("fidelity", name, instance):
            assert not validator.is_valid(broken.payload)
            assert not model_accepts(model, broken.payload), (
                f"{broken.case}: model accepts {json.dumps(broken.payload)[:300]}"
            )

    options = settings(
        max_examples=examples_for(package),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    try:
        options(given(instances(document, name))(check))()
    except Unsatisfiable:
        # hypothesis-jsonschema found no instance within its budget (patterns
        # it cannot invert); the synthesized samples still get checked.
        options(given(sampled(document, name))(check))()


def nesting(instance: Any) -> int:
    if isinstance(instance, dict):
        return 1 + max((nesting(value) for value in instance.values()), default=0)
    if isinstance(instance, list):
        return max((nesting(item) for item in instance), default=0)
    return 0


def test_recursive_schema_draws_deep_trees() -> None:
    document = {
        "$defs": {
            "Category": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "string"},
                    "parent": {"$ref": "#/$defs/Category"},
                    "children": {
                        "type": "array",
                        "items": {"$ref": "#/$defs/Category"},
                    },
                },
            }
        }
    }
    assert is_recursive(document, "Category")
    assert "$ref" not in json.dumps(unrolled(document, "Category", 3))
    sample_depth = max(nesting(s) for s in sampled_payloads(document, "Category"))
    validator = validator_for(document, "Category")
    depths: list[int] = []

    @settings(max_examples=100, derandomize=True, database=None, deadline=None)
    @given(instances(document, "Category"))
    def draw(instance: Any) -> None:
        assert validator.is_valid(instance)
        depths.append(nesting(instance))

    draw()
    assert max(depths) > sample_depth
    assert max(depths) >= 3
