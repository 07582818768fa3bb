"""Run the command line and generated test suites as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `asyncapi-gen` in a fresh interpreter and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *map(str, args)],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def run_contract_tests(
    output: Path, package: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Run a generated package's contract tests with only that output importable."""
    ini = output / "pytest.ini"
    ini.write_text("[pytest]\naddopts = -p no:cacheprovider\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(output)}
    try:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-c",
                str(ini),
                "--rootdir",
                str(output),
                str(output / package / "tests"),
                *extra,
            ],
            cwd=output,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    finally:
        ini.unlink()


def tree(folder: Path) -> dict[str, bytes]:
    """Return every file under `folder`, caches left out, keyed by POSIX path."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
