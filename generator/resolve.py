"""Resolve `$ref`s: local JSON pointers and relative file refs, never the network.

Refs are not inlined. The resolver checks that every ref in the document and in
the files it refers to can be followed, and later steps follow them on demand
through `Resolver.follow`. Keeping refs as refs lets a recursive schema stay a
reference to a named class instead of an endless expansion.

A ref inside a referenced file is relative to that file: `#/x` means the root of
that file, and `./y.yml` its folder (RFC 3986 resolution, as JSON Schema says).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .errors import Diagnostic, InputError, SourceLocation
from .load import MAX_DEPTH, LoadedFile, load_file, location_of
from .options import display_path

# Keys whose values are instance data, where a "$ref" key is not a reference.
DATA_KEYWORDS = frozenset({"example", "examples", "const", "enum", "default"})


@dataclass(frozen=True, order=True)
class Target:
    """The node a ref points to: a file and a JSON pointer inside it."""

    file: Path
    pointer: str

    @property
    def is_component_schema(self) -> bool:
        return self.pointer.startswith("/components/schemas/")


@dataclass(frozen=True)
class Resolved:
    """A node reached by following refs, with the file and pointer it came from."""

    node: Any
    target: Target


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def join_pointer(pointer: str, token: str | int) -> str:
    return f"{pointer}/{escape_pointer_token(str(token))}"


DYNAMIC_REF_KEYWORDS = ("$dynamicRef", "$recursiveRef")


def is_ref(node: Any) -> bool:
    return isinstance(node, dict) and isinstance(node.get("$ref"), str)


class Resolver:
    """Follows refs across the spec's files, loading each file once."""

    def __init__(
        self,
        root: LoadedFile,
        *,
        allow_outside_root: bool = False,
        max_bytes: int | None = None,
    ) -> None:
        self.root = root
        self.root_dir = root.path.parent.resolve()
        self.allow_outside_root = allow_outside_root
        self._max_bytes = max_bytes
        self.files: dict[Path, LoadedFile] = {root.path.resolve(): root}

    def file_for(self, path: Path) -> LoadedFile:
        return self.files[path]

    def display_name(self, path: Path) -> str:
        return self.files[path].display_name

    def location(
        self, target: Target, container: Any = None, key: Any = None
    ) -> SourceLocation:
        """Return the source position of a node given by its target."""
        node_location = None
        if container is not None and key is not None:
            node_location = location_of(container, key)
        if node_location is None:
            node = self._pointer_node(target)
            node_location = getattr(node, "location", None)
        if node_location is None:
            node_location = SourceLocation(self.display_name(target.file), 1, 1)
        return node_location.with_pointer(target.pointer)

    def _pointer_node(self, target: Target) -> Any:
        node: Any = self.files[target.file].root
        for token in _split_pointer(target.pointer):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return node

    def parse_ref(self, ref: str, base: Target, where: SourceLocation) -> Target:
        """Turn a ref string found at `base` into a target; raise InputError if bad."""
        if "://" in ref.split("#", 1)[0] or ref.startswith("//"):
            raise _ref_error(
                f"remote $ref {ref!r} is not allowed: asyncapi-gen never fetches "
                "from the network; download the file next to the spec and refer "
                "to it by a relative path",
                where,
            )
        file_part, _, fragment = ref.partition("#")
        if "\x00" in unquote(ref):
            raise _ref_error(f"$ref {ref!r} contains a NUL character; remove it", where)
        if file_part:
            try:
                path = (base.file.parent / unquote(file_part)).resolve()
                exists = path.is_file()
            except (OSError, ValueError) as error:
                raise _ref_error(
                    f"$ref {ref!r} names a file that cannot be opened: {error}", where
                ) from None
            if not self.allow_outside_root and not path.is_relative_to(self.root_dir):
                raise _ref_error(
                    f"$ref {ref!r} points outside the spec's folder "
                    f"{self.root.path.parent.as_posix() or '.'}; move the file "
                    "inside it or pass --allow-outside-refs",
                    where,
                )
            if path not in self.files:
                if not exists:
                    raise _ref_error(
                        f"unresolvable $ref {ref!r}: "
                        f"file {display_path(path)} not found",
                        where,
                    )
                self.files[path] = self._load(path, ref, where)
        else:
            path = base.file
        pointer = unquote(fragment)
        if re.search(r"~(?![01])", pointer):
            raise _ref_error(
                f"$ref {ref!r} has an invalid escape in its JSON pointer: '~' must be "
                "followed by 0 (for '~') or 1 (for '/')",
                where,
            )
        if pointer and not pointer.startswith("/"):
            raise _ref_error(
                f"$ref {ref!r} has a fragment that is not a JSON pointer; "
                "write it as '#/path/to/node'",
                where,
            )
        return Target(path, pointer)

    def _load(self, path: Path, ref: str, where: SourceLocation) -> LoadedFile:
        if self._max_bytes is None:
            return load_file(path)
        return load_file(path, max_bytes=self._max_bytes)

    def lookup(self, target: Target, ref: str, where: SourceLocation) -> Any:
        """Return the node at `target`; raise InputError naming the missing key."""
        node: Any = self.files[target.file].root
        walked = ""
        for token in _split_pointer(target.pointer):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                place = f"at {walked}" if walked else "at the document root"
                message = f"unresolvable $ref {ref!r}: no key {token!r} {place}"
                if target.file != self.root.path.resolve():
                    message += f" of {self.display_name(target.file)}"
                if token in ("$defs", "definitions"):
                    message += (
                        "; in an AsyncAPI document '#' is the document root, so "
                        "move the definition under components/schemas and refer "
                        "to '#/components/schemas/<Name>'"
                    )
                else:
                    message += _suggestion(token, node)
                raise _ref_error(message, where)
            walked = join_pointer(walked, token)
        return node

    def follow(self, node: Any, base: Target) -> Resolved:
        """Follow `node` through any chain of refs to a node that is not a ref."""
        seen: list[Target] = []
        current = Resolved(node, base)
        while is_ref(current.node):
            ref = current.node["$ref"]
            where = self.location(current.target, current.node, "$ref")
            target = self.parse_ref(ref, current.target, where)
            if target in seen:
                # Name the cycle from its smallest member, so that reaching it
                # from any member gives the same message and one diagnostic.
                members = seen[seen.index(target) :]
                start = members.index(min(members))
                members = members[start:] + members[:start]
                cycle = " -> ".join(
                    f"{self.display_name(t.file)}#{t.pointer}"
                    for t in [*members, members[0]]
                )
                first = members[0]
                raise _ref_error(
                    f"$ref cycle with no schema in it: {cycle}; make one of them "
                    "a schema",
                    self.location(first),
                )
            if not target.pointer and self._is_asyncapi_document(target.file):
                raise _ref_error(
                    f"$ref {ref!r} points to a whole AsyncAPI document, which is "
                    "not a message, schema or other component; point it at one, "
                    "such as '#/components/messages/<Name>'",
                    where,
                )
            seen.append(target)
            current = Resolved(self.lookup(target, ref, where), target)
        return current

    def _is_asyncapi_document(self, path: Path) -> bool:
        """Return whether the file is the spec itself or another AsyncAPI document.

        A ref to the root of a file is fine when the file is one schema or
        message, but not when it is a whole document, such as `#`.
        """
        root = self.files[path].root
        is_document = isinstance(root, dict) and "asyncapi" in root
        return path == self.root.path.resolve() or is_document

    def _dynamic_refs(self) -> Iterator[Diagnostic]:
        """Report `$dynamicRef` and `$recursiveRef`, which the tool cannot check.

        The model generator would follow them itself, past the network and
        folder rules that every `$ref` goes through, so they are rejected.
        """
        root = self.root.path.resolve()
        for node, pointer in _walk_dynamic(self.root.root, ""):
            keyword = next(k for k in DYNAMIC_REF_KEYWORDS if k in node)
            yield Diagnostic(
                f"{keyword} is not supported; use $ref, which asyncapi-gen resolves "
                "within the spec's folder",
                self.location(Target(root, pointer), node, keyword),
            )

    def check_all(self) -> None:
        """Follow every ref reachable from the root file; raise all failures at once."""
        problems: list[Diagnostic] = list(self._dynamic_refs())
        done: set[Path] = set()
        pending = [self.root.path.resolve()]
        while pending:
            path = pending.pop()
            if path in done:
                continue
            done.add(path)
            root = self.files[path].root
            for node, pointer in _walk_refs(root, ""):
                base = Target(path, pointer)
                try:
                    resolved = self.follow(node, base)
                except InputError as error:
                    problems.extend(error.diagnostics)
                    continue
                if resolved.target.file not in done:
                    pending.append(resolved.target.file)
        if problems:
            unique = {d.format(): d for d in problems}
            raise InputError(list(unique.values()))
        self._check_depth()

    def _check_depth(self) -> None:
        """Reject refs that nest the document deeper than MAX_DEPTH levels.

        Loading limits the nesting of each file, but a schema whose property
        refers to another schema, and so on, nests deeper with every ref, and
        the later steps walk that nesting recursively. A ref back to a schema
        that contains it is a recursive schema, which the later steps name
        instead of walking, so it adds no depth here. A chain of refs that are
        only refs adds none either, since `follow` walks it in a loop.
        """
        root = Target(self.root.path.resolve(), "")
        deepest: dict[Target, int] = {}
        # (node, its target, depth, refs on the path, the last ref on the path)
        pending: list[tuple[Any, Target, int, tuple[Target, ...], Any]] = [
            (self.root.root, root, 1, (root,), None)
        ]
        while pending:
            node, location, depth, path, last_ref = pending.pop()
            if depth > MAX_DEPTH and last_ref is not None:
                ref_node, ref_target = last_ref
                raise _ref_error(
                    f"$refs nest schemas deeper than {MAX_DEPTH} levels here, "
                    "counting the schemas they refer to; shorten the chain of "
                    "schemas that refer to each other",
                    self.location(ref_target, ref_node, "$ref"),
                )
            if is_ref(node):
                resolved = self.follow(node, location)
                target = resolved.target
                if target not in path and deepest.get(target, 0) < depth:
                    deepest[target] = depth
                    entry = (node, location)
                    pending.append(
                        (resolved.node, target, depth, (*path, target), entry)
                    )
            for key, child in _children(node):
                if key not in DATA_KEYWORDS and key != "$ref":
                    pending.append(
                        (
                            child,
                            Target(location.file, join_pointer(location.pointer, key)),
                            depth + 1,
                            path,
                            last_ref,
                        )
                    )


def _children(node: Any) -> list[tuple[str | int, Any]]:
    """Return the mappings and lists inside `node`, last first for a stack."""
    items: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        items.extend(node.items())
    elif isinstance(node, list):
        items.extend(enumerate(node))
    return [item for item in reversed(items) if isinstance(item[1], dict | list)]


def _walk_dynamic(node: Any, pointer: str) -> Iterator[tuple[dict[str, Any], str]]:
    stack: list[tuple[Any, str]] = [(node, pointer)]
    while stack:
        current, here = stack.pop()
        if isinstance(current, dict):
            if any(key in current for key in DYNAMIC_REF_KEYWORDS):
                yield current, here
            for key, value in current.items():
                if key not in DATA_KEYWORDS and isinstance(value, dict | list):
                    stack.append((value, join_pointer(here, key)))
        elif isinstance(current, list):
            for index, value in enumerate(current):
                if isinstance(value, dict | list):
                    stack.append((value, join_pointer(here, index)))


def _walk_refs(node: Any, pointer: str) -> Iterator[tuple[dict[str, Any], str]]:
    stack: list[tuple[Any, str]] = [(node, pointer)]
    while stack:
        current, here = stack.pop()
        if isinstance(current, dict):
            if is_ref(current):
                yield current, here
            for key, value in current.items():
                if key in DATA_KEYWORDS:
                    continue
                if isinstance(value, dict | list):
                    stack.append((value, join_pointer(here, key)))
        elif isinstance(current, list):
            for index, value in enumerate(current):
                if isinstance(value, dict | list):
                    stack.append((value, join_pointer(here, index)))


def _suggestion(token: str, node: Any) -> str:
    """Return a hint: the closest existing key, or what to change."""
    keys = [str(key) for key in node] if isinstance(node, dict) else []
    close = difflib.get_close_matches(token, keys, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return "; fix the ref or add the missing definition"


def _split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _ref_error(message: str, where: SourceLocation) -> InputError:
    return InputError([Diagnostic(message, where)])
