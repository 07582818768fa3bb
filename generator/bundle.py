"""Bundle a spec and the files it refers to into one self-contained document.

Each node that a ref reaches in another file is copied into `components`,
under the section its use calls for (a payload's ref goes to `schemas`, an
operation's message to `messages`, and so on) and under its own name: the
last token of its pointer, else its `title`, else its file's name. That is
the name the models step gives it, so generating from the bundle gives the
same classes. Refs inside copied nodes are rewritten the same way. Local refs
stay refs, so names and sharing survive.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from .errors import fail
from .load import plain
from .resolve import DATA_KEYWORDS, Resolver, Target, join_pointer
from .schemas import preferred_name

# Keys under which everything is a schema, whatever sits below them.
_SCHEMA_ROOTS = frozenset({"payload", "headers"})


class Bundler:
    """Copies external ref targets into the root document's components."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.root_file = resolver.root.path.resolve()
        self.document: dict[str, Any] = plain(resolver.root.root)
        components = self.document.setdefault("components", {})
        if not isinstance(components, dict):
            raise fail("`components` must be a mapping to bundle the spec")
        self.components: dict[str, Any] = components
        self.placed: dict[Target, str] = {}
        # Copied nodes whose refs are still to rewrite. A worklist rather than a
        # recursive call, so that a long chain of files costs no stack.
        self.pending: list[tuple[Any, list[str], Target]] = []
        # Ids of the copied nodes. The walk of the root document may meet them
        # in `components` before their turn, when their refs are still
        # relative to the file they came from, so it leaves them to the list.
        self.copied: set[int] = set()

    def run(self) -> dict[str, Any]:
        """Return the bundled document as plain JSON values."""
        self._rewrite(self.document, [], Target(self.root_file, ""))
        while self.pending:
            self._rewrite(*self.pending.pop())
        if not self.components:
            del self.document["components"]
        return self.document

    def _rewrite(self, node: Any, path: list[str], base: Target) -> None:
        """Rewrite every ref below `node`, which sits at `path` in the bundle."""
        if isinstance(node, list):
            for index, item in enumerate(node):
                here = Target(base.file, join_pointer(base.pointer, index))
                self._rewrite(item, [*path, str(index)], here)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            node["$ref"] = self._bundled_ref(ref, path, base)
        # A list, since placing a node may add to the mapping being walked.
        for key, value in list(node.items()):
            if key == "$ref" or key in DATA_KEYWORDS or id(value) in self.copied:
                continue
            here = Target(base.file, join_pointer(base.pointer, key))
            self._rewrite(value, [*path, key], here)

    def _bundled_ref(self, ref: str, path: list[str], base: Target) -> str:
        where = self.resolver.location(base)
        target = self.resolver.parse_ref(ref, base, where)
        if target.file == self.root_file:
            return "#" + target.pointer
        placed = self.placed.get(target)
        if placed is None:
            placed = self._place(target, _section_for(path), ref, where)
        return placed

    def _place(self, target: Target, section: str, ref: str, where: Any) -> str:
        node = plain(self.resolver.lookup(target, ref, where))
        entries = self.components.setdefault(section, {})
        name = _unique(_component_name(target, node, section), entries)
        pointer = join_pointer(join_pointer("/components", section), name)
        placed = "#" + pointer
        self.placed[target] = placed
        entries[name] = node
        self.copied.add(id(node))
        self.pending.append((node, ["components", section, name], target))
        return placed


def bundle(resolver: Resolver) -> dict[str, Any]:
    """Return the spec behind `resolver` as one document with no file refs."""
    return Bundler(resolver).run()


def check_output(output: Path, resolver: Resolver) -> None:
    """Raise InputError when `output` is the spec or a file its refs reached.

    Call it after `bundle`, which loads every file the refs reach. Symbolic
    and hard links to an input count as that input.
    """
    for path in sorted(resolver.files):
        if not _same_file(output, path):
            continue
        description = f"{resolver.display_name(path)}, which the spec refers to"
        if path == resolver.root.path.resolve():
            description = "the spec"
        raise fail(
            f"--output {output.as_posix()} is {description}; writing the bundle there "
            "would overwrite an input, so choose another output file"
        )


def _same_file(output: Path, path: Path) -> bool:
    try:
        if output.exists():
            return os.path.samefile(output, path)
        return output.resolve() == path
    except OSError:
        return False


def dump(document: dict[str, Any], path: Path) -> str:
    """Serialize the bundle as YAML or JSON, chosen by the file's suffix."""
    if path.suffix.lower() == ".json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=88)
    return text


def _section_for(path: list[str]) -> str:
    """Return the components section for a ref found at `path`."""
    if path[:2] == ["components", "schemas"]:
        return "schemas"
    for index, key in enumerate(path):
        if key in _SCHEMA_ROOTS or (key == "schema" and "parameters" in path[:index]):
            return "schemas"
    last = path[-1] if path else ""
    parent = path[-2] if len(path) >= 2 else ""
    if parent == "traits":
        owners = {"message", "messages"}
        return "messageTraits" if owners & set(path[:-2]) else "operationTraits"
    if last == "message" or (parent == "oneOf" and path[-3:-2] == ["message"]):
        return "messages"
    sections = {
        "messages": "messages",
        "parameters": "parameters",
        "channels": "channels",
        "servers": "servers",
        "operations": "operations",
        "securitySchemes": "securitySchemes",
        "security": "securitySchemes",
        "variables": "serverVariables",
        "correlationIds": "correlationIds",
        "replies": "replies",
    }
    if parent in sections:
        return sections[parent]
    singles = {
        "channel": "channels",
        "correlationId": "correlationIds",
        "reply": "replies",
        "address": "replyAddresses",
    }
    if last in singles:
        return singles[last]
    if "bindings" in path:
        return "messageBindings" if "message" in path else "operationBindings"
    return "schemas"


def _component_name(target: Target, node: Any, section: str) -> str:
    """Name a copied node: as the models step names schemas, else by its key."""
    if section == "schemas":
        return preferred_name(target, node)
    tokens = [t for t in target.pointer.split("/") if t]
    if tokens:
        return tokens[-1].replace("~1", "/").replace("~0", "~")
    return preferred_name(target, node)


def _unique(name: str, taken: dict[str, Any]) -> str:
    candidate = name
    counter = 2
    while candidate in taken:
        candidate = f"{name}{counter}"
        counter += 1
    return candidate
