"""The generated contract tests fail on a receiver or model that drifted.

Each mutation copies the committed Realtor package, makes one text edit that
a careless change could make (a field dropped, an enum widened, a check
skipped), and runs the package's own contract tests against the copy in a
fresh interpreter. Every mutant must fail, and fail in the test meant to
catch it. Each edit asserts that its target text is present, so a template
change cannot turn a mutation into a silent no-op.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from .helpers import ROOT, run_contract_tests

PACKAGE = "realtor_connections_plus"


@dataclass(frozen=True)
class Mutation:
    """One text edit on a file of the copied package, and the test meant to fail."""

    path: str
    old: str
    new: str
    caught_by: str
    """A substring of the id of a test that must fail on the mutant."""


MUTATIONS = {
    "required field dropped from a model": Mutation(
        "models.py",
        'always buyer for this message type.\n    """\n    contact: LeadContact\n',
        'always buyer for this message type.\n    """\n',
        "test_model_rejects[buyer_lead_missing_contact_is_invalid]",
    ),
    "enum widened": Mutation(
        "models.py",
        '    role: Literal["buyer"]\n',
        '    role: Literal["buyer", "renter"]\n',
        "test_enum[buyer_lead_role_allows_only_the_spec_values]",
    ),
    "numeric bound removed": Mutation(
        "models.py",
        "Annotated[StrictFloat | MISSING, Field(ge=0.0, le=1.0)]",
        "StrictFloat | MISSING",
        "buyer_lead_probability_to_transact_above_maximum_is_rejected",
    ),
    "wrong content type accepted": Mutation(
        "runtime/endpoint.py",
        '        if is_json_content_type(request.headers.get("content-type")):\n',
        "        if True:\n",
        "test_wrong_content_type[buyer_lead_content_type_text_plain_is_rejected]",
    ),
    "API key not checked": Mutation(
        "runtime/security.py",
        '        """Return whether the request passes at least one requirement."""\n',
        '        """Return whether the request passes at least one requirement."""\n'
        "        return True\n",
        "test_missing_credential[buyer_lead_missing_apiKey_is_rejected]",
    ),
    "signature not verified": Mutation(
        "runtime/security.py",
        '        """Return whether the signature header contains a valid signature of '
        '`body`."""\n',
        '        """Return whether the signature header contains a valid signature of '
        '`body`."""\n'
        "        return True\n",
        "test_bad_signature[buyer_lead_absent_signature_is_rejected]",
    ),
    "acknowledged before stored": Mutation(
        "runtime/endpoint.py",
        "        try:\n"
        "            stored = await self.store.add_message(new, utc_now())\n",
        # The mutant responds first and stores in a task it does not wait for.
        "        import asyncio\n"
        "        loop = asyncio.get_running_loop()\n"
        "        _task = loop.create_task(self.store.add_message(new, utc_now()))\n"
        '        return JSONResponse({"id": 0, "status": "accepted"}, 202)\n'
        "        try:\n"
        "            stored = await self.store.add_message(new, utc_now())\n",
        "test_locked_inbox[buyer_lead_is_not_acknowledged_until_stored]",
    ),
}


def copy_package(folder: Path) -> Path:
    """Copy the committed package, caches left out, and return the output folder."""
    output = folder / "mutant"
    shutil.copytree(
        ROOT / "generated" / PACKAGE,
        output / PACKAGE,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return output


def failed_tests(stdout: str) -> list[str]:
    """Return the test ids that pytest's short summary lists as failed."""
    return re.findall(r"^FAILED \S+::(\S+)", stdout, flags=re.MULTILINE)


def test_unmutated_copy_passes(tmp_path: Path) -> None:
    output = copy_package(tmp_path)
    result = run_contract_tests(output, PACKAGE)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutant_is_caught(tmp_path: Path, name: str) -> None:
    mutation = MUTATIONS[name]
    output = copy_package(tmp_path)
    target = output / PACKAGE / mutation.path
    source = target.read_text(encoding="utf-8")
    assert source.count(mutation.old) == 1, (
        f"mutation {name!r} no longer applies: {mutation.path} does not contain "
        f"its target text exactly once"
    )
    target.write_text(source.replace(mutation.old, mutation.new), encoding="utf-8")
    result = run_contract_tests(output, PACKAGE, "-rf")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    failed = failed_tests(result.stdout)
    assert any(mutation.caught_by in test for test in failed), f"failed: {failed}"
