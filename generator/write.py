"""Write the rendered files, all or nothing, and record them in a manifest.

Rendering happens entirely in memory before this step runs, so a failed run
never gets here. Each file is written to a temporary name beside its target
and renamed over it, so a reader never sees half a file. Files that an earlier
run produced and this run does not are removed, using the manifest the earlier
run left; files the tool never wrote are left alone (and `check` reports them).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import GeneratorError

MANIFEST_DIR = ".asyncapi-gen"


def manifest_name(package: str) -> str:
    return f"{MANIFEST_DIR}/{package}.json"


def manifest_bytes(package: str, files: dict[str, bytes]) -> bytes:
    """Return the manifest listing every file generated for one package."""
    body = {
        "$comment": "Written by asyncapi-gen. DO NOT EDIT.",
        "generator": f"asyncapi-gen {__version__}",
        "package": package,
        "files": sorted(files),
    }
    return (json.dumps(body, indent=2) + "\n").encode("utf-8")


def read_manifests(output: Path) -> dict[str, list[str]]:
    """Return the file lists of every manifest under `output`, by manifest path."""
    found: dict[str, list[str]] = {}
    folder = output / MANIFEST_DIR
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            files = json.loads(path.read_text(encoding="utf-8")).get("files", [])
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(files, list):
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
    report = WriteReport()
    for name, content in sorted(files.items()):
        target = output / name
        if target.is_file() and target.read_bytes() == content:
            report.unchanged.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.asyncapi-gen-tmp")
        temporary.write_bytes(content)
        os.replace(temporary, target)
        report.written.append(name)
    for name in manifests.get(manifest, []):
        if name in files:
            continue
        stale = output / name
        if stale.is_file():
            stale.unlink()
            report.removed.append(name)
            _remove_empty_parents(stale.parent, output)
    return report


def _has_files(folder: Path) -> bool:
    return any(path.is_file() for path in folder.rglob("*"))


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
