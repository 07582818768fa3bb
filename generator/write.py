"""Write the rendered files, all or nothing, and record them in a manifest.

Rendering happens entirely in memory before this step runs, so a failed run
never gets here. Every changed file is first written to a temporary name
beside its target, and only then are all of them renamed into place. Files
that the earlier run's manifest lists and this run does not produce are
removed in the same step. Until every rename and removal worked, each old
file is kept under a backup name, so a failure restores the old tree. Files
the tool never wrote are left alone, and `check` reports them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .errors import GeneratorError

MANIFEST_DIR = ".asyncapi-gen"


def manifest_name(package: str) -> str:
    return f"{MANIFEST_DIR}/{package}.json"


def manifest_bytes(
    package: str, files: dict[str, str], inputs: dict[str, Any]
) -> bytes:
    """Return the manifest of one package: input digests and each file's digest.

    `digest` covers the inputs and the files together. A manifest that git
    merges line by line from two runs, or whose file digests were edited to
    match edited files, therefore no longer matches it, and `check` renders
    in full instead of trusting the manifest. Two runs always differ on that
    line, so git reports a conflict there rather than merging quietly.
    """
    ordered = dict(sorted(files.items()))
    bound = json.dumps(
        {"package": package, "inputs": inputs, "files": ordered}, sort_keys=True
    )
    body = {
        "$comment": "Written by asyncapi-gen. DO NOT EDIT.",
        "generator": f"asyncapi-gen {__version__}",
        "package": package,
        "digest": hashlib.sha256(bound.encode("utf-8")).hexdigest(),
        "inputs": inputs,
        "files": ordered,
    }
    return (json.dumps(body, indent=2) + "\n").encode("utf-8")


def read_manifest_data(path: Path) -> dict[str, Any] | None:
    """Return a manifest's content, or None when it is missing or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def read_manifests(output: Path) -> dict[str, list[str]]:
    """Return the file lists of every manifest under `output`, by manifest path.

    Older manifests list the files; newer ones map each file to its digest.
    """
    found: dict[str, list[str]] = {}
    folder = output / MANIFEST_DIR
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        data = read_manifest_data(path)
        files = data.get("files") if data else None
        if isinstance(files, list | dict):
            found[f"{MANIFEST_DIR}/{path.name}"] = [str(f) for f in files]
    return found


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def write_tree(output: Path, files: dict[str, bytes], manifest: str) -> WriteReport:
    """Make `output` hold `files`, removing what the previous run left behind."""
    if output.exists() and not output.is_dir():
        raise GeneratorError(
            f"{output}: error: the output path is a file, not a folder"
        )
    manifests = read_manifests(output)
    if output.is_dir() and not manifests and _has_files(output):
        raise GeneratorError(
            f"{output}: error: the folder has files that asyncapi-gen did not write "
            "(no manifest in it); choose an empty or new folder for --output"
        )
    root = output.resolve()
    stale_files = _stale_files(output, manifests.get(manifest, []), files, manifest)

    report = WriteReport()
    changed = {
        name: content
        for name, content in sorted(files.items())
        if not ((output / name).is_file() and (output / name).read_bytes() == content)
    }
    report.unchanged = sorted(set(files) - set(changed))
    stale_files = [stale for stale in stale_files if stale.is_file()]
    _replace_all(output, changed, stale_files)
    report.written = list(changed)
    report.removed = [stale.relative_to(root).as_posix() for stale in stale_files]
    for stale in stale_files:
        _remove_empty_parents(stale.parent, root)
    return report


def _stale_files(
    output: Path, listed: list[str], files: dict[str, bytes], manifest: str
) -> list[Path]:
    """Return the files an earlier run wrote that this run does not produce."""
    root = output.resolve()
    stale_files = []
    for name in listed:
        if name in files:
            continue
        stale = (output / name).resolve()
        # A manifest is a file in the repository, so an edited one must not
        # make generate delete anything outside the output folder.
        if not stale.is_relative_to(root) or stale == root:
            raise GeneratorError(
                f"{output / manifest}: error: lists {name!r}, which is outside "
                f"{output}; restore the manifest with git or delete it"
            )
        stale_files.append(stale)
    return stale_files


def _replace_all(output: Path, changed: dict[str, bytes], stale: list[Path]) -> None:
    """Write every changed file and remove every stale one, or change nothing.

    Every file is first written beside its target. Only then are the targets
    replaced and the stale files removed, each old file being kept under a
    backup name until all steps worked. When a step fails, the steps already
    done are undone in reverse, so the tree is the old one again unless undoing
    fails too.
    """
    for name in changed:
        target = output / name
        if target.exists() and not target.is_file():
            raise GeneratorError(
                f"{target}: error: a folder is in the way of a generated file; "
                "move it out of the output folder"
            )
    transaction = _Transaction()
    try:
        staged = [
            (transaction.stage(output / name, content), output / name)
            for name, content in changed.items()
        ]
        for temporary, target in staged:
            transaction.replace(temporary, target)
        for path in stale:
            transaction.remove(path)
    except OSError as error:
        transaction.roll_back()
        raise GeneratorError(
            f"{output}: error: cannot write the generated files: {error}"
        ) from None
    transaction.commit()


class _Transaction:
    """File changes that can be undone until `commit`."""

    def __init__(self) -> None:
        # Temporary files and backups, deleted when the transaction ends.
        self.scratch: list[Path] = []
        self.folders: list[Path] = []
        # (target, backup of the old file or None when the target is new)
        self.done: list[tuple[Path, Path | None]] = []

    def stage(self, target: Path, content: bytes) -> Path:
        """Write `content` under a temporary name beside `target`."""
        missing = [p for p in (target.parent, *target.parent.parents) if not p.exists()]
        for folder in reversed(missing):
            folder.mkdir()
            self.folders.append(folder)
        temporary = target.with_name(f".{target.name}.asyncapi-gen-tmp")
        self.scratch.append(temporary)
        temporary.write_bytes(content)
        return temporary

    def replace(self, temporary: Path, target: Path) -> None:
        """Rename `temporary` over `target`, keeping the old file as a backup."""
        backup = self._back_up(target) if target.exists() else None
        os.replace(temporary, target)
        self.done.append((target, backup))

    def remove(self, path: Path) -> None:
        """Remove `path`; the backup keeps its content until `commit`."""
        backup = self._back_up(path)
        os.unlink(path)
        self.done.append((path, backup))

    def _back_up(self, path: Path) -> Path:
        # A hard link backs up the old file without moving it, so no step
        # leaves the target missing. A copy serves where links fail.
        backup = path.with_name(f".{path.name}.asyncapi-gen-old")
        backup.unlink(missing_ok=True)
        try:
            os.link(path, backup)
        except OSError:
            shutil.copy2(path, backup)
        self.scratch.append(backup)
        return backup

    def roll_back(self) -> None:
        """Undo every step in reverse; best effort, since the disk already failed."""
        for target, backup in reversed(self.done):
            with contextlib.suppress(OSError):
                if backup is None:
                    target.unlink()
                else:
                    os.replace(backup, target)
        self._clean_up()
        for folder in reversed(self.folders):
            with contextlib.suppress(OSError):
                folder.rmdir()

    def commit(self) -> None:
        """Delete the backups, which no step needs any more."""
        self._clean_up()

    def _clean_up(self) -> None:
        for path in self.scratch:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def _has_files(folder: Path) -> bool:
    return any(path.is_file() for path in folder.rglob("*"))


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
