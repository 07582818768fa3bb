"""Models generated in batches agree, class by class, with one library call.

Large specs are handed to datamodel-code-generator in batches (see
generator/models.py), which keeps memory flat. These tests make the batches
tiny on small specs and compare the merged module with the module from one
call over every schema.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from generator import models
from generator.options import Options
from generator.pipeline import load_document

from .conftest import ORDERS_SPEC, REALTOR_SPEC, shared_folder


def definitions(code: str) -> dict[str, str]:
    """Map each class and alias name in a module to its source text."""
    lines = code.split("\n")
    result = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.ClassDef):
            name = node.name
        elif isinstance(node, ast.AnnAssign):
            name = ast.unparse(node.target)
        elif isinstance(node, ast.Assign):
            name = ast.unparse(node.targets[0])
        else:
            continue
        result[name] = "\n".join(lines[node.lineno - 1 : node.end_lineno])
    return result


def models_in(spec: Path, tmp_path: Path, batch_size: int) -> tuple[str, set[str]]:
    """Return the models module, and the names of the union aliases in it."""
    document = load_document(Options(spec, tmp_path / "out"))
    unions = {o.union_name for o in document.operations if o.union_name}
    original = models.BATCH_SIZE
    models.BATCH_SIZE = batch_size
    try:
        return models.generate_models(document), unions
    finally:
        models.BATCH_SIZE = original


# Cases with more than one schema: recursion, discriminators, enums,
# nullable forms, allOf and non-object payloads.
CASES = (
    "C01-nested-relative-ref",
    "C02-external-file-local-ref",
    "C04-recursive-schemas",
    "C05-discriminator-const",
    "C06-enum-non-identifiers",
    "C09-nullable-forms",
    "C10-allof-required-merge",
    "C12-non-object-payloads",
)


def spec_path(name: str) -> Path:
    if name == "realtor":
        return REALTOR_SPEC
    if name == "orders":
        return ORDERS_SPEC
    return shared_folder() / "cases" / name / "spec.yml"


@pytest.mark.parametrize("name", ["realtor", "orders", *CASES])
def test_batches_of_one_schema_give_the_same_classes(name: str, tmp_path: Path) -> None:
    spec = spec_path(name)
    whole, unions = models_in(spec, tmp_path, batch_size=10_000)
    document = load_document(Options(spec, tmp_path / "out"))
    prepared, origins = models.prepare_schema(document.schema_document)
    original = models.BATCH_SIZE
    models.BATCH_SIZE = 1
    try:
        batches = list(models._batches(prepared, origins))
    finally:
        models.BATCH_SIZE = original
    assert len(batches) == len(document.schema_document["$defs"]) > 1
    modules = [
        models._finished(
            models._library_module(batch), document.schema_document, origins
        )
        for batch in batches
    ]
    # No fallback: the merge itself must succeed on these specs.
    merged = models.merge_modules(modules)
    expected = {k: v for k, v in definitions(whole).items() if k not in unions}
    assert definitions(merged) == expected
    # The module that generate_models returns with tiny batches is that merge.
    batched, _ = models_in(spec, tmp_path, batch_size=1)
    assert definitions(batched) == definitions(whole)
    compile(batched, "models.py", "exec")


CLASHING_SPEC = """\
asyncapi: 3.0.0
info: {title: Clash, version: 1.0.0}
channels:
  first:
    address: first
    messages:
      First: {payload: {$ref: '#/components/schemas/First'}}
  second:
    address: second
    messages:
      Second: {payload: {$ref: '#/components/schemas/Second'}}
operations:
  receiveFirst:
    action: receive
    channel: {$ref: '#/channels/first'}
  receiveSecond:
    action: receive
    channel: {$ref: '#/channels/second'}
components:
  schemas:
    First:
      type: object
      properties:
        lines: {type: array, items: {type: string, maxLength: 10}}
    Second:
      type: object
      properties:
        lines: {type: array, items: {type: string, maxLength: 99}}
"""


def test_clashing_batch_names_use_one_call(tmp_path: Path) -> None:
    spec = tmp_path / "clash-asyncapi.yaml"
    spec.write_text(CLASHING_SPEC, encoding="utf-8")
    whole, _ = models_in(spec, tmp_path, batch_size=10_000)
    # The library names both item types itself, and gives them distinct
    # names only when one call generates both.
    assert "max_length=10" in whole
    assert "max_length=99" in whole
    batched, _ = models_in(spec, tmp_path, batch_size=1)
    assert batched == whole


def test_merge_refuses_one_name_with_two_definitions() -> None:
    first = "from __future__ import annotations\n\n\nclass Line:\n    size = 10\n"
    second = "from __future__ import annotations\n\n\nclass Line:\n    size = 99\n"
    with pytest.raises(models._Clash):
        models.merge_modules([first, second])
    merged = models.merge_modules([first, first.replace("Line", "Other")])
    assert list(definitions(merged)) == ["Line", "Other"]
    assert merged.startswith("from __future__ import annotations\n")
