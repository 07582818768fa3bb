"""The template and CI docs cover what the tool provides."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import main

from .conftest import REALTOR_SPEC, ROOT

TEMPLATES_DOC = ROOT / "docs" / "templates.md"


@pytest.fixture(scope="module")
def context() -> dict[str, object]:
    result = CliRunner().invoke(main, ["context", str(REALTOR_SPEC), "-o", "out"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def documented_fields() -> set[str]:
    """Return every name written as the first cell of a table row."""
    text = TEMPLATES_DOC.read_text(encoding="utf-8")
    cells = re.findall(r"^\| ([^|]+) \|", text, flags=re.MULTILINE)
    return {name for cell in cells for name in re.findall(r"`([a-z_]+)`", cell)}


def test_every_top_level_context_field_is_documented(
    context: dict[str, object],
) -> None:
    missing = sorted(set(context) - documented_fields())
    assert not missing, f"add these context fields to docs/templates.md: {missing}"


@pytest.mark.parametrize("part", ["spec", "operation", "message"])
def test_nested_context_fields_are_documented(
    context: dict[str, object], part: str
) -> None:
    spec = context["spec"]
    assert isinstance(spec, dict)
    fields = {
        "spec": spec,
        "operation": spec["operations"][0],
        "message": spec["messages"][0],
    }[part]
    missing = sorted(set(fields) - documented_fields())
    assert not missing, f"add these {part} fields to docs/templates.md: {missing}"


def test_documented_blocks_exist() -> None:
    text = TEMPLATES_DOC.read_text(encoding="utf-8")
    template = None
    for row in re.findall(r"^\| (`[^`]+\.jinja`|) \| `(\w+)` \|", text, re.MULTILINE):
        template = row[0].strip("`") or template
        assert template is not None
        source = (ROOT / "templates" / "package" / template).read_text()
        assert re.search(rf"{{% block {row[1]}\b", source), (template, row[1])


def test_pre_commit_hook_runs_check() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [hook["id"] for hook in hooks] == ["asyncapi-gen-check"]
    assert hooks[0]["entry"] == "asyncapi-gen check"
    assert hooks[0]["pass_filenames"] is False


def test_ci_example_runs_make_check_and_test() -> None:
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text.split("```yaml\n", 1)[1].split("```", 1)[0])
    steps = workflow["jobs"]["test"]["steps"]
    commands = [step["run"] for step in steps if "run" in step]
    assert commands == ["make check", "make test"]


def test_readme_points_to_the_template_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/templates.md" in readme
    assert "[tool.asyncapi-gen]" in readme
    assert Path(ROOT / "docs" / "ci.md").is_file()
