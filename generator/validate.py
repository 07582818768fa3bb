"""Check the loaded spec's shape before anything is built from it.

This step catches what would otherwise surface later as a confusing failure: a
missing or unsupported `asyncapi` version, a missing `info`, sections of the
wrong type. Each problem is one diagnostic at the node it concerns; all of
them are reported together.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import Diagnostic, InputError, SourceLocation
from .load import LoadedFile, location_of

SUPPORTED = re.compile(r"^(2\.[0-6]\.\d+|3\.0\.\d+)$")


def validate_document(loaded: LoadedFile) -> None:
    """Raise InputError listing every structural problem of the root document."""
    root = loaded.root
    start = SourceLocation(loaded.display_name, 1, 1)
    if not isinstance(root, dict):
        raise InputError(
            [
                Diagnostic(
                    "the document is not a mapping; an AsyncAPI document is a "
                    "YAML or JSON object with an `asyncapi` key",
                    start,
                )
            ]
        )
    problems: list[Diagnostic] = []

    def where(container: Any, key: str) -> SourceLocation:
        return location_of(container, key) or start

    version = root.get("asyncapi")
    if version is None:
        problems.append(
            Diagnostic(
                "missing `asyncapi` version; add `asyncapi: 2.6.0` or "
                "`asyncapi: 3.0.0` at the top",
                start,
            )
        )
    elif not isinstance(version, str) or not SUPPORTED.match(version):
        problems.append(
            Diagnostic(
                f"unsupported asyncapi version {version!r}; asyncapi-gen reads "
                "2.0.0 to 2.6.0 and 3.0.x (quote the version so it stays a string)",
                where(root, "asyncapi"),
            )
        )
    info = root.get("info")
    if not isinstance(info, dict):
        problems.append(
            Diagnostic(
                "missing `info` object with `title` and `version`",
                where(root, "info") if "info" in root else start,
            )
        )
    else:
        for key in ("title", "version"):
            if not isinstance(info.get(key), str):
                problems.append(
                    Diagnostic(
                        f"`info.{key}` must be a string",
                        where(info, key) if key in info else where(root, "info"),
                    )
                )
    sections = ["channels", "components", "servers"]
    if isinstance(version, str) and version.startswith("3."):
        sections.append("operations")
    for key in sections:
        if key in root and root[key] is not None and not isinstance(root[key], dict):
            problems.append(Diagnostic(f"`{key}` must be a mapping", where(root, key)))
    if problems:
        raise InputError(problems)
