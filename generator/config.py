"""Read the specs to generate from `[tool.asyncapi-gen]` in pyproject.toml.

The nearest pyproject.toml, from the working folder upwards, configures the
run. Each `[[tool.asyncapi-gen.specs]]` entry names one spec and its options;
paths in it are relative to the folder of pyproject.toml. Options given on the
command line override the entry's, and with no SPEC argument `generate` and
`check` run every entry in the order the file lists them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from .errors import GeneratorError
from .options import RECEIVE_CHOICES, Options, display_path

CONFIG_FILE = "pyproject.toml"
# The TOML key of each setting, and the Options field it sets.
KEYS = {
    "spec": "spec",
    "output": "output",
    "package": "package",
    "receive": "receive",
    "allow-outside-refs": "allow_outside_refs",
    "max-spec-bytes": "max_spec_bytes",
    "idempotency-keys": "idempotency_keys",
    "templates": "templates",
    "filters": "filters",
}


def find_config(start: Path) -> Path | None:
    """Return the nearest pyproject.toml in `start` or a folder above it."""
    for folder in (start.resolve(), *start.resolve().parents):
        candidate = folder / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def configured_specs(path: Path) -> list[dict[str, Any]]:
    """Return the Options fields of each spec entry in the file, checked."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise GeneratorError(f"{path}: error: cannot read the file: {error}") from None
    section = data.get("tool", {}).get("asyncapi-gen")
    if section is None:
        return []
    where = f"{display_path(path)}: error: [tool.asyncapi-gen]"
    if not isinstance(section, dict) or set(section) - {"specs"}:
        raise GeneratorError(
            f"{where} may only contain [[tool.asyncapi-gen.specs]] entries"
        )
    entries = section.get("specs", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise GeneratorError(f"{where}.specs must be an array of tables")
    base = path.parent
    return [
        _entry(entry, base, f"{where}.specs entry {index}")
        for index, entry in enumerate(entries, 1)
    ]


def _entry(entry: Mapping[str, Any], base: Path, where: str) -> dict[str, Any]:
    unknown = sorted(set(entry) - set(KEYS))
    if unknown:
        raise GeneratorError(
            f"{where} has unknown key {unknown[0]!r}; known keys: {', '.join(KEYS)}"
        )
    if "spec" not in entry:
        raise GeneratorError(f"{where} has no 'spec' key; add the spec file's path")
    values: dict[str, Any] = {}
    for key, value in entry.items():
        values[KEYS[key]] = _value(key, value, base, where)
    return values


def _value(key: str, value: Any, base: Path, where: str) -> Any:
    """Check one setting's type and turn it into the Options field's type."""
    if key in ("spec", "output", "filters") and isinstance(value, str) and value:
        return _path(base, value)
    if key == "package" and isinstance(value, str):
        return value
    if key == "receive" and value in RECEIVE_CHOICES:
        return value
    if key == "allow-outside-refs" and isinstance(value, bool):
        return value
    if key == "max-spec-bytes" and type(value) is int and value > 0:
        return value
    if key == "templates" and _strings(value):
        return tuple(_path(base, folder) for folder in value)
    if key == "idempotency-keys" and isinstance(value, dict) and _strings(value):
        return tuple(
            (name, field) for name, field in value.items() if isinstance(field, str)
        )
    raise GeneratorError(f"{where}: {key} = {value!r} is invalid; {_EXPECTED[key]}")


_EXPECTED = {
    "spec": "give the spec file's path as a string",
    "output": "give a folder path as a string",
    "filters": "give a Python file's path as a string",
    "package": "give a Python package name as a string",
    "receive": f"use one of {', '.join(RECEIVE_CHOICES)}",
    "allow-outside-refs": "use true or false",
    "max-spec-bytes": "use a positive integer number of bytes",
    "templates": "give a list of folder paths",
    "idempotency-keys": "give a table of message name = payload property",
}


def _strings(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(v, str) and v for v in value.values())
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _path(base: Path, value: str) -> Path:
    """Join a configured path to the config folder, relative to the working one."""
    return Path(os.path.relpath(base / value))


def plan(
    spec: Path | None, given: Mapping[str, Any], defaults: Options
) -> list[Options]:
    """Return the options of each run: defaults, then the config, then flags.

    `given` holds only the options set on the command line, by Options field.
    """
    path = find_config(Path.cwd())
    entries = configured_specs(path) if path else []
    if spec is not None:
        chosen = [e for e in entries if _same_file(e["spec"], spec)]
        entry = chosen[0] if chosen else {}
        return [replace(defaults, **{**entry, **given, "spec": spec})]
    if not entries:
        raise GeneratorError(
            "error: no SPEC given and no [[tool.asyncapi-gen.specs]] in "
            f"{display_path(path) if path else CONFIG_FILE}; pass a spec file or "
            "configure one"
        )
    return [replace(defaults, **{**entry, **given}) for entry in entries]


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.resolve() == second.resolve()
    except OSError:
        return False
