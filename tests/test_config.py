"""Specs and options configured in pyproject.toml, and flags that override them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator.cli import main

from .conftest import ORDERS_SPEC, REALTOR_SPEC, ROOT

TWO_SPECS = """\
[project]
name = "team-service"

[[tool.asyncapi-gen.specs]]
spec = "specs/realtor-connections-plus-asyncapi.yml"
output = "generated"
idempotency-keys = { BuyerLead = "lead_id" }

[[tool.asyncapi-gen.specs]]
spec = "specs/orders-asyncapi.yaml"
output = "generated"
package = "shop_orders"
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs").mkdir()
    for spec in (REALTOR_SPEC, ORDERS_SPEC):
        shutil.copyfile(spec, tmp_path / "specs" / spec.name)
    (tmp_path / "pyproject.toml").write_text(TWO_SPECS)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_no_argument_runs_every_configured_spec(repo: Path) -> None:
    generated = run("generate")
    checked = run("check")
    assert generated.exit_code == 0, generated.output
    assert (repo / "generated" / "realtor_connections_plus" / "app.py").is_file()
    assert (repo / "generated" / "shop_orders" / "app.py").is_file()
    support = repo / "generated" / "realtor_connections_plus" / "tests" / "support.py"
    assert '"buyer_lead": "lead_id",' in support.read_text()
    assert checked.exit_code == 0, checked.output
    assert "generated/realtor_connections_plus: up to date" in checked.output
    assert "generated/shop_orders: up to date" in checked.output


def test_check_reports_each_spec_separately(repo: Path) -> None:
    assert run("generate").exit_code == 0
    models = repo / "generated" / "shop_orders" / "models.py"
    models.write_text(models.read_text() + "EXTRA = 1\n")
    result = run("check")
    assert result.exit_code == 1
    assert "generated/realtor_connections_plus: up to date" in result.output
    assert "stale: generated/shop_orders/models.py" in result.output


def test_command_line_flags_override_the_entry(repo: Path) -> None:
    result = run(
        "generate", "specs/orders-asyncapi.yaml", "--package", "orders_override"
    )
    assert result.exit_code == 0, result.output
    assert (repo / "generated" / "orders_override").is_dir()
    assert not (repo / "generated" / "shop_orders").exists()


def test_spec_argument_picks_its_entry(repo: Path) -> None:
    result = run("generate", "specs/orders-asyncapi.yaml")
    assert result.exit_code == 0, result.output
    assert (repo / "generated" / "shop_orders").is_dir()
    assert not (repo / "generated" / "realtor_connections_plus").exists()


def test_config_is_found_from_a_subfolder(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "sub").mkdir()
    monkeypatch.chdir(repo / "sub")
    result = run("generate")
    assert result.exit_code == 0, result.output
    assert "../generated/shop_orders: " in result.output
    assert (repo / "generated" / "shop_orders").is_dir()


CONFIG_ERRORS = {
    "unknown-key": ('spec = "a.yml"\nsepc = "b.yml"\n', "unknown key 'sepc'"),
    "no-spec": ('output = "generated"\n', "has no 'spec' key"),
    "bad-receive": (
        'spec = "a.yml"\nreceive = "both"\n',
        "receive = 'both' is invalid; use one of publish, subscribe",
    ),
    "bad-keys": (
        'spec = "a.yml"\nidempotency-keys = ["BuyerLead"]\n',
        "give a table of message name = payload property",
    ),
    "bad-templates": ('spec = "a.yml"\ntemplates = "t"\n', "give a list of folder"),
}


@pytest.mark.parametrize("case", sorted(CONFIG_ERRORS))
def test_invalid_config_is_one_line(repo: Path, case: str) -> None:
    text, expected = CONFIG_ERRORS[case]
    (repo / "pyproject.toml").write_text(f"[[tool.asyncapi-gen.specs]]\n{text}")
    result = run("check")
    assert result.exit_code == 2, result.output
    assert "pyproject.toml: error: [tool.asyncapi-gen].specs entry 1" in result.output
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_no_spec_and_no_config_is_an_error(repo: Path) -> None:
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = run("generate")
    assert result.exit_code == 2
    assert "no SPEC given and no [[tool.asyncapi-gen.specs]] in pyproject.toml" in (
        result.output
    )
    assert not (repo / "generated").exists()


def test_repository_configures_the_realtor_spec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["validate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "specs/realtor-connections-plus-asyncapi.yml: valid AsyncAPI" in (
        result.output
    )
    makefile = (ROOT / "Makefile").read_text()
    assert "\t$(BIN)/asyncapi-gen generate\n" in makefile
    assert "\t$(BIN)/asyncapi-gen check\n" in makefile
