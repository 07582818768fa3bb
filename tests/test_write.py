"""Writing the output tree: all files replaced, or none."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.errors import GeneratorError
from generator.write import manifest_bytes, write_tree

from .helpers import tree

MANIFEST = ".asyncapi-gen/pkg.json"


def files_of(contents: dict[str, bytes]) -> dict[str, bytes]:
    """Return `contents` with the manifest that lists them."""
    listed = dict.fromkeys(contents, "digest")
    return {**contents, MANIFEST: manifest_bytes("pkg", listed, {})}


OLD = files_of(
    {"pkg/a.py": b"old a\n", "pkg/b/c.py": b"old c\n", "pkg/d.py": b"old d\n"}
)
NEW = files_of(
    {"pkg/a.py": b"new a\n", "pkg/b/c.py": b"new c\n", "pkg/e/f.py": b"new f\n"}
)


def failing_on(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `real` (os.replace or os.unlink) to fail when it touches `name`."""

    def fail_or_call(source: Any, *args: Any, **kwargs: Any) -> Any:
        touched = [os.fspath(source), *(os.fspath(a) for a in args)]
        if any(path.endswith(name) for path in touched):
            raise PermissionError(13, "Permission denied", touched[-1])
        return real(source, *args, **kwargs)

    return fail_or_call


@pytest.mark.parametrize(
    ("function", "name"),
    [
        ("replace", "pkg/a.py"),
        ("replace", "pkg/b/c.py"),
        ("replace", "pkg/e/f.py"),
        ("replace", MANIFEST),
        ("unlink", "pkg/d.py"),
    ],
)
def test_failed_step_restores_old_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: str, name: str
) -> None:
    output = tmp_path / "out"
    write_tree(output, OLD, MANIFEST)
    before = tree(output)
    folders = sorted(p for p in output.rglob("*") if p.is_dir())
    monkeypatch.setattr(os, function, failing_on(name, getattr(os, function)))
    with pytest.raises(GeneratorError) as raised:
        write_tree(output, NEW, MANIFEST)
    monkeypatch.undo()
    message = raised.value.format_message()
    assert "cannot write the generated files" in message
    assert "Permission denied" in message
    assert tree(output) == before
    assert sorted(p for p in output.rglob("*") if p.is_dir()) == folders


def test_write_replaces_and_removes(tmp_path: Path) -> None:
    output = tmp_path / "out"
    write_tree(output, OLD, MANIFEST)
    report = write_tree(output, NEW, MANIFEST)
    assert tree(output) == NEW
    assert report.removed == ["pkg/d.py"]
    assert report.written == sorted(NEW)
