"""The options of one run, kept apart from the pipeline so that they load fast.

`check` reads its configuration and compares fingerprints before it can tell
whether it must render at all, so this module imports nothing heavy.
"""

from __future__ import annotations

import importlib.util
import keyword
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .naming import snake_case
from .overlay import TemplateSet

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
PACKAGE_TEMPLATES = "package"

RECEIVE_CHOICES = ("publish", "subscribe")
# File systems limit a name to 255 bytes, and the manifest adds to the name.
MAX_PACKAGE_LENGTH = 100
# Modules that a package of the same name would hide from the generated code:
# the standard library and the libraries that the generated files import.
HIDDEN_MODULES = frozenset(sys.stdlib_module_names) | {
    "email_validator",
    "httpx",
    "hypothesis",
    "hypothesis_jsonschema",
    "jsonschema",
    "psycopg",
    "psycopg_pool",
    "pydantic",
    "pydantic_core",
    "pytest",
    "starlette",
    "uvicorn",
}


@dataclass(frozen=True)
class Options:
    """The inputs of one `generate` or `check` run."""

    spec: Path
    output: Path
    package: str | None = None
    receive: str = "publish"
    allow_outside_refs: bool = False
    max_spec_bytes: int = DEFAULT_MAX_BYTES
    idempotency_keys: tuple[tuple[str, str], ...] = ()
    """Pairs of message name and the payload property that identifies it."""
    templates: tuple[Path, ...] = ()
    """Overlay template folders, searched in order before the built-in ones."""
    filters: Path | None = None
    """Python file whose FILTERS and GLOBALS dicts templates can use."""

    @property
    def package_name(self) -> str:
        return self.package or default_package(self.spec)

    def template_set(self) -> TemplateSet:
        return TemplateSet(builtin_template_folder(), self.templates, self.filters)


def default_package(spec: Path) -> str:
    """Name the package after the spec file: `shop-asyncapi.yml` is `shop`."""
    stem = spec.name
    for suffix in (".yaml", ".yml", ".json"):
        stem = stem.removesuffix(suffix)
    stem = re.sub(r"[-_.]?asyncapi$", "", stem, flags=re.IGNORECASE) or stem
    name = snake_case(stem, fallback="api")
    # A package named like a standard module (http, email, queue) would hide
    # that module from everything the receiver imports.
    if name in HIDDEN_MODULES or keyword.iskeyword(name):
        name += "_api"
    return name


def display_path(path: Path) -> str:
    """Return the path as the user sees it: relative to the working directory."""
    try:
        return Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def relative_posix(path: Path, base: Path) -> str:
    """Return `path` relative to the folder `base`, with forward slashes."""
    return Path(os.path.relpath(path.resolve(), base)).as_posix()


def templates_root() -> Path:
    """Return the folder of the built-in templates shipped with the tool."""
    # The import system's own lookup; importlib.resources would cost `check`
    # a few milliseconds of imports on every run.
    spec = importlib.util.find_spec("generator.templates")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the built-in templates are not installed")
    return Path(spec.submodule_search_locations[0])


def builtin_template_folder() -> Path:
    """Return the folder of the built-in package templates."""
    return templates_root() / PACKAGE_TEMPLATES
