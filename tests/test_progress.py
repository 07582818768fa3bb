"""Progress on stderr: shown in a terminal, absent in logs, silenced by --quiet."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from generator.progress import progress_for

from .helpers import ROOT, run_cli

SPEC = ROOT / "specs" / "realtor-connections-plus-asyncapi.yml"
PACKAGE = "realtor_connections_plus"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_in_terminal(*args: str | Path) -> tuple[int, str]:
    """Run `asyncapi-gen` with stderr on a pseudo-terminal; return what it shows."""
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "generator", *map(str, args)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=terminal,
        )
    finally:
        os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # Linux raises EIO once the last writer has closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout=300), b"".join(chunks).decode("utf-8")


def test_progress_absent_without_terminal(tmp_path: Path) -> None:
    result = run_cli("generate", SPEC, "--output", tmp_path)
    assert result.returncode == 0, result.stderr
    # The only line is the summary: no bar, no step names.
    summary = rf"{re.escape(tmp_path.as_posix())}/{PACKAGE}: \d+ written, 0 unchanged, "
    assert re.fullmatch(summary + r"0 removed\n", result.stderr), result.stderr

    result = run_cli("check", SPEC, "--output", tmp_path, "--full")
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"{tmp_path.as_posix()}/{PACKAGE}: up to date\n"


def test_progress_shown_in_terminal(tmp_path: Path) -> None:
    code, shown = run_in_terminal("generate", SPEC, "--output", tmp_path)
    assert code == 0, shown
    for step in ("read spec", "models (2 messages)", "render (2 messages)"):
        assert step in shown
    assert "write files" in shown
    assert "4/4" in shown
    assert re.search(r" \d+ written, 0 unchanged, 0 removed\r\n\Z", shown)

    code, shown = run_in_terminal("check", SPEC, "--output", tmp_path, "--full")
    assert code == 0, shown
    assert "compare files" in shown
    assert shown.endswith("up to date\r\n")


def test_quiet_silences_progress(tmp_path: Path) -> None:
    code, shown = run_in_terminal("generate", SPEC, "--output", tmp_path, "--quiet")
    assert code == 0, shown
    summary = rf"{re.escape(tmp_path.as_posix())}/{PACKAGE}: \d+ written, 0 unchanged, "
    assert re.fullmatch(summary + r"0 removed\r\n", shown), shown

    code, shown = run_in_terminal("check", SPEC, "-o", tmp_path, "-q", "--full")
    assert code == 0, shown
    assert shown == f"{tmp_path.as_posix()}/{PACKAGE}: up to date\r\n"


def test_progress_ends_line_on_error() -> None:
    stream = _Terminal()
    try:
        with progress_for(False, stream) as progress:
            progress("read spec")
            raise ValueError("bad spec")
    except ValueError:
        pass
    shown = stream.getvalue()
    assert "read spec" in shown
    assert "done" not in shown
    assert shown.endswith("\n")


def test_progress_for_quiet_terminal_writes_nothing() -> None:
    stream = _Terminal()
    with progress_for(True, stream) as progress:
        progress("read spec")
    assert stream.getvalue() == ""
