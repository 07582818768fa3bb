"""Compare the files on disk with what the spec and templates produce.

`check` renders exactly as `generate` does and writes nothing. It reports four
kinds of drift: stale files (with a unified diff), missing files, files the
manifest lists that the spec no longer produces (`generate` removes them), and
unexpected files under the output folder that no manifest accounts for. Tool
caches are ignored, since Python, mypy, pytest and ruff write them at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .write import read_manifests

IGNORED_FOLDERS = frozenset(
    {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"}
)


@dataclass
class CheckReport:
    stale: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """Files an earlier run wrote that the spec no longer produces."""
    unexpected: list[str] = field(default_factory=list)

    @property
    def current(self) -> bool:
        return not (self.stale or self.missing or self.removed or self.unexpected)


def compare(
    output: Path, files: dict[str, bytes], manifest: str, shown: str
) -> CheckReport:
    """Return how `output` differs from `files`; `shown` prefixes names in diffs."""
    report = CheckReport()
    for name, content in sorted(files.items()):
        target = output / name
        if not target.is_file():
            report.missing.append(name)
            continue
        actual = target.read_bytes()
        if actual != content:
            # A diff of the manifest's digests gives a reader nothing to act on.
            diff = "" if name == manifest else _diff(f"{shown}/{name}", actual, content)
            report.stale[name] = diff
    manifests = read_manifests(output)
    ours = set(manifests.get(manifest, []))
    others = {
        name
        for path, names in manifests.items()
        if path != manifest
        for name in [path, *names]
    }
    if output.is_dir():
        for path in sorted(output.rglob("*")):
            relative = path.relative_to(output)
            if not path.is_file() or IGNORED_FOLDERS.intersection(relative.parts):
                continue
            name = relative.as_posix()
            if name in files or name in others:
                continue
            if name in ours:
                report.removed.append(name)
            else:
                report.unexpected.append(name)
    return report


def _diff(name: str, actual: bytes, expected: bytes) -> str:
    try:
        old = actual.decode("utf-8").splitlines(keepends=True)
        new = expected.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return f"Binary files a/{name} and b/{name} differ\n"
    import difflib  # only a stale file needs it; `check` stays light

    lines = difflib.unified_diff(
        old, new, f"a/{name} (on disk)", f"b/{name} (generated from the spec)"
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
