"""Load YAML and JSON spec files into dicts and lists that remember positions.

YAML is read with PyYAML's safe loader restricted to the YAML 1.2 core schema:
`on`, `no` and unquoted dates stay strings, as the AsyncAPI JavaScript tools read
them. Duplicate keys are errors, because plain PyYAML silently keeps the last one.
JSON files are parsed as JSON (JSON allows tabs where YAML does not).
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, SourceLocation, fail
from .options import DEFAULT_MAX_BYTES, display_path

# An alias can repeat a subtree many times without costing memory in PyYAML, but
# every later walk of the tree pays for each repetition ("billion laughs").
MAX_EXPANDED_NODES = 2_000_000
# Later steps walk documents recursively, a few Python frames per level, so
# depth stays well under the interpreter's default limit of 1000 frames.
MAX_DEPTH = 200


class LocatedDict(dict[str, Any]):
    """A mapping from a spec file, with the positions of itself and its values."""

    __slots__ = ("location", "value_locations", "key_locations")

    location: SourceLocation
    value_locations: dict[str, SourceLocation]
    key_locations: dict[str, SourceLocation]


class LocatedList(list[Any]):
    """A sequence from a spec file, with the positions of itself and its items."""

    __slots__ = ("location", "item_locations")

    location: SourceLocation
    item_locations: list[SourceLocation]


@dataclass(frozen=True)
class LoadedFile:
    """One parsed spec file: its path, the name used in messages, and its content."""

    path: Path
    display_name: str
    root: Any


def location_of(container: Any, key: str | int) -> SourceLocation | None:
    """Return where `container[key]` starts, or where the container starts."""
    if isinstance(container, LocatedDict) and isinstance(key, str):
        return container.value_locations.get(key, container.location)
    if isinstance(container, LocatedList) and isinstance(key, int):
        if 0 <= key < len(container.item_locations):
            return container.item_locations[key]
        return container.location
    return getattr(container, "location", None)


def plain(value: Any) -> Any:
    """Copy located containers, and tuples, into plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def key_location_of(container: Any, key: str) -> SourceLocation | None:
    """Return where the key `key` of a mapping is written, for diagnostics."""
    if isinstance(container, LocatedDict):
        found = container.key_locations.get(key)
        return found if found is not None else location_of(container, key)
    return getattr(container, "location", None)


def load_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedFile:
    """Read and parse one spec file; raise InputError for any problem in it."""
    name = display_path(path)
    start = SourceLocation(name, 1, 1)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise fail(f"file not found: {name}; check the path") from None
    except OSError as error:
        raise fail(f"cannot read {name}: {error.strerror}") from None
    if size > max_bytes:
        raise fail(
            f"file is {size} bytes, over the limit of {max_bytes} bytes; "
            "split it with file $refs or raise --max-spec-bytes",
            start,
        )
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise fail(
            f"file is not valid UTF-8 (byte {error.start}); save it as UTF-8",
            SourceLocation(name, line, 1),
        ) from None
    try:
        if path.suffix.lower() == ".json":
            root = _parse_json(text, name)
        else:
            root = _parse_yaml(text, name)
    except RecursionError:
        raise fail(
            f"nesting is deeper than {MAX_DEPTH} levels; no AsyncAPI document "
            "needs that, so check the file for runaway brackets",
            start,
        ) from None
    _check_depth(root, name)
    return LoadedFile(path=path, display_name=name, root=root)


def _check_depth(root: Any, name: str) -> None:
    """Reject documents nested deeper than the later steps can walk."""
    pending: list[tuple[Any, int]] = [(root, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            where = getattr(node, "location", None) or SourceLocation(name, 1, 1)
            raise fail(
                f"nesting is deeper than {MAX_DEPTH} levels; no AsyncAPI document "
                "needs that, so check the file for runaway brackets",
                where,
            )
        if isinstance(node, dict | list):
            keys = node.keys() if isinstance(node, dict) else range(len(node))
            for key in keys:
                child = node[key]
                if isinstance(child, float) and not math.isfinite(child):
                    raise fail(
                        f"{child!r} is not a number JSON can carry; write a finite "
                        "number or a string",
                        location_of(node, key),
                    )
                pending.append((child, depth + 1))


def _parse_json(text: str, name: str) -> Any:
    decoder = _LocatingJSONDecoder(text, name)
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as error:
        location = SourceLocation(name, error.lineno, error.colno)
        raise fail(f"invalid JSON: {error.msg}", location) from None
    except ValueError:
        # int() refused a number with too many digits; find it for the message.
        limit = sys.get_int_max_str_digits()
        found = re.search(rf"-?\d{{{limit + 1},}}", text)
        if found is None:
            raise
        before = text[: found.start()]
        location = SourceLocation(
            name, before.count("\n") + 1, found.start() - (before.rfind("\n") + 1) + 1
        )
        digits = len(found.group().lstrip("-"))
        raise fail(_LONG_INTEGER.format(digits=digits), location) from None


# The pure-Python parts of the json module; typeshed leaves them out.
_PY_MAKE_SCANNER: Any = getattr(json.scanner, "py_make_scanner")  # noqa: B009
_JSON_OBJECT: Any = getattr(json.decoder, "JSONObject")  # noqa: B009
_JSON_ARRAY: Any = getattr(json.decoder, "JSONArray")  # noqa: B009


class _LocatingJSONDecoder(json.JSONDecoder):
    """A JSON decoder whose objects and arrays record their line and column.

    The C scanner calls its own object parser, so this decoder uses the pure
    Python scanner, which goes through the `parse_object` and `parse_array` hooks.
    """

    def __init__(self, text: str, name: str) -> None:
        super().__init__()
        self._name = name
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.memo: dict[str, str] = {}
        self.parse_object = self._parse_object
        self.parse_array = self._parse_array
        self.scan_once = _PY_MAKE_SCANNER(self)

    def _location(self, index: int) -> SourceLocation:
        line = _bisect_right(self._line_starts, index)
        column = index - self._line_starts[line - 1] + 1
        return SourceLocation(self._name, line, column)

    def _parse_object(
        self, state: tuple[str, int], strict: bool, scan_once: Any, *_: Any
    ) -> tuple[Any, int]:
        location = self._location(state[1] - 1)
        pairs, new_end = _JSON_OBJECT(
            state, strict, scan_once, None, self._pairs, self.memo
        )
        result = LocatedDict()
        result.location = location
        result.value_locations = {}
        # The JSON scanner reports no key positions; a key sits on its value's line.
        result.key_locations = result.value_locations
        for key, value in pairs:
            if key in result:
                raise fail(f"duplicate key {key!r}; keep only one", location)
            result[key] = value
            result.value_locations[key] = getattr(value, "location", location)
        return result, new_end

    @staticmethod
    def _pairs(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        return pairs

    def _parse_array(self, state: tuple[str, int], scan_once: Any) -> tuple[Any, int]:
        location = self._location(state[1] - 1)
        values, new_end = _JSON_ARRAY(state, scan_once)
        result = LocatedList(values)
        result.location = location
        result.item_locations = [getattr(v, "location", location) for v in values]
        return result, new_end


def _bisect_right(values: list[int], target: int) -> int:
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) // 2
        if target < values[middle]:
            high = middle
        else:
            low = middle + 1
    return low


class _CoreSchemaLoader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema and located containers."""

    display_name = "<spec>"


# Keep only the YAML 1.2 core schema's implicit types: null, true/false, int, float.
_CoreSchemaLoader.yaml_implicit_resolvers = {}
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null",
    re.compile(r"^(?:~|null|Null|NULL|)$"),
    ["~", "n", "N", ""],
)
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    value = str(loader.construct_scalar(node))
    try:
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value)
    except ValueError:
        # Python converts at most sys.get_int_max_str_digits() digits.
        mark = node.start_mark
        name = getattr(loader, "display_name", "<spec>")
        location = SourceLocation(name, mark.line + 1, mark.column + 1)
        raise fail(_LONG_INTEGER.format(digits=len(value)), location) from None


_LONG_INTEGER = (
    "an integer of {digits} digits is longer than Python converts; quote it to "
    "keep it as a string"
)


_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _mark_location(loader: _CoreSchemaLoader, node: yaml.Node) -> SourceLocation:
    mark = node.start_mark
    return SourceLocation(loader.display_name, mark.line + 1, mark.column + 1)


def _construct_mapping(loader: _CoreSchemaLoader, node: yaml.MappingNode) -> Any:
    result = LocatedDict()
    result.location = _mark_location(loader, node)
    result.value_locations = {}
    result.key_locations = {}
    yield result
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = _key_text(loader.construct_object(key_node, deep=True))
        if not isinstance(key, str):
            raise fail("mapping keys must be strings", _mark_location(loader, key_node))
        if key in result:
            raise fail(
                f"duplicate key {key!r}; keep only one (YAML would silently drop one)",
                _mark_location(loader, key_node),
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.value_locations[key] = _mark_location(loader, value_node)
        result.key_locations[key] = _mark_location(loader, key_node)


def _key_text(key: Any) -> Any:
    """Return a scalar key as JSON spells it (`true`, `null`, `1`), others as is."""
    if key is None:
        return "null"
    if isinstance(key, bool):
        return str(key).lower()
    if isinstance(key, int | float):
        return str(key)
    return key


def _construct_sequence(loader: _CoreSchemaLoader, node: yaml.SequenceNode) -> Any:
    result = LocatedList()
    result.location = _mark_location(loader, node)
    yield result
    result.extend(loader.construct_object(item, deep=True) for item in node.value)
    result.item_locations = [_mark_location(loader, item) for item in node.value]


_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


class _FastCoreSchemaLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same loader on libyaml's parser, when PyYAML was built with it.

    It gives the same nodes and marks as the pure-Python parser, so the
    constructors above apply unchanged, and it halved the time to load a
    1,000-message spec from bench/synth.py.

    NOTE: libyaml and the Python parser may differ on rare edge cases of YAML
    syntax. A document that only libyaml rejects is parsed again by the Python
    parser, so such a case costs time but not a wrong verdict.
    """

    display_name = "<spec>"
    yaml_implicit_resolvers = _CoreSchemaLoader.yaml_implicit_resolvers
    yaml_constructors = _CoreSchemaLoader.yaml_constructors


def _parse_yaml(text: str, name: str) -> Any:
    try:
        # The reader checks characters as the loader is created.
        loader = _CoreSchemaLoader(text)
    except yaml.reader.ReaderError as error:
        before = text[: error.position]
        line = before.count("\n") + 1
        column = error.position - (before.rfind("\n") + 1) + 1
        raise fail(
            f"invalid YAML: control character U+{_code_point(error.character):04X} is "
            "not allowed; "
            "remove it or write it as an escape in a double-quoted string",
            SourceLocation(name, line, column),
        ) from None
    if yaml.__with_libyaml__:
        try:
            result = _parse_fast(text, name)
            loader.dispose()
            return result
        except yaml.YAMLError:
            # The pure-Python parser below reports the problem with the wording
            # and position that the error messages are written for.
            pass
    loader.display_name = name
    try:
        return _composed(loader, name)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        location = (
            SourceLocation(name, mark.line + 1, mark.column + 1) if mark else None
        )
        problem = error.problem or error.context or "invalid YAML"
        raise fail(f"invalid YAML: {problem}", location) from None
    except yaml.YAMLError as error:
        raise fail(f"invalid YAML: {error}", SourceLocation(name, 1, 1)) from None
    finally:
        loader.dispose()


def _parse_fast(text: str, name: str) -> Any:
    try:
        return _tree_from_events(text, name)
    except _Unusual:
        pass
    loader = _FastCoreSchemaLoader(text)
    loader.display_name = name
    try:
        return _composed(loader, name)
    finally:
        loader.dispose()


def _composed(loader: Any, name: str) -> Any:
    """Compose the document's node graph, check its aliases, and build the tree."""
    node = loader.get_single_node()
    if node is None:
        return None
    _check_expansion(node, name)
    return loader.construct_document(node)


class _Unusual(Exception):
    """The document needs the composing loader: anchors, tags, odd keys."""


class _Open:
    """A mapping or sequence whose end event has not come yet."""

    __slots__ = ("container", "key", "key_location")

    def __init__(self, container: LocatedDict | LocatedList) -> None:
        self.container = container
        self.key: str | None = None
        self.key_location: SourceLocation | None = None


def _tree_from_events(text: str, name: str) -> Any:
    """Build the located tree straight from libyaml's events.

    Composing first keeps a node with two marks for every value until the
    whole tree is built, which doubled the memory of loading the
    5,000-message spec from bench/synth.py. This builds the same tree from
    the event stream and drops each event at once. Anchors, aliases, explicit
    tags, keys that are not scalars, duplicate keys and streams of several
    documents raise `_Unusual`, and the composing loader handles them.
    """
    loader = _FastCoreSchemaLoader(text)
    try:
        return _build_from_events(loader, name)
    except InputError:
        # A value that cannot be built, such as an overlong integer: composing
        # first reports any syntax error later in the file before it.
        raise _Unusual from None
    finally:
        loader.dispose()


def _build_from_events(loader: Any, name: str) -> Any:
    loader.get_event()  # the start of the stream
    if loader.check_event(yaml.StreamEndEvent):
        return None
    loader.get_event()  # the start of the document
    stack: list[_Open] = []
    root: Any = None
    while True:
        event: Any = loader.get_event()
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            value = stack.pop().container
            location = value.location
        elif isinstance(event, yaml.NodeEvent):
            if event.anchor is not None or getattr(event, "tag", None) is not None:
                raise _Unusual
            start: Any = event.start_mark
            end: Any = event.end_mark
            location = SourceLocation(name, start.line + 1, start.column + 1)
            if isinstance(event, yaml.ScalarEvent):
                tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
                node = yaml.ScalarNode(tag, event.value, start, end, event.style)
                value = loader.yaml_constructors[tag](loader, node)
            else:
                container: LocatedDict | LocatedList
                if isinstance(event, yaml.MappingStartEvent):
                    container = LocatedDict()
                    container.value_locations = {}
                    container.key_locations = {}
                else:
                    container = LocatedList()
                    container.item_locations = []
                container.location = location
                stack.append(_Open(container))
                continue
        else:
            raise _Unusual
        if not stack:
            root = value
            break
        _place(stack[-1], value, location)
    loader.get_event()  # the end of the document
    if not loader.check_event(yaml.StreamEndEvent):
        raise _Unusual
    return root


def _place(parent: _Open, value: Any, location: SourceLocation) -> None:
    container = parent.container
    if isinstance(container, LocatedList):
        container.append(value)
        container.item_locations.append(location)
    elif parent.key is None:
        key = _key_text(value)
        if not isinstance(key, str) or key in container:
            raise _Unusual
        parent.key, parent.key_location = key, location
    else:
        container[parent.key] = value
        container.value_locations[parent.key] = location
        container.key_locations[parent.key] = parent.key_location or location
        parent.key = None


def _code_point(character: int | str) -> int:
    return character if isinstance(character, int) else ord(character[:1] or "\0")


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Reject documents whose aliases expand to more than MAX_EXPANDED_NODES."""
    sizes: dict[int, int] = {}

    def size_of(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            if known < 0:
                location = SourceLocation(
                    name, node.start_mark.line + 1, node.start_mark.column + 1
                )
                raise fail("an alias refers to a node that contains it", location)
            return known
        sizes[id(node)] = -1
        total = 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                total += size_of(key) + size_of(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size_of(item)
        if total > MAX_EXPANDED_NODES:
            location = SourceLocation(
                name, node.start_mark.line + 1, node.start_mark.column + 1
            )
            raise fail(
                f"aliases expand this document past {MAX_EXPANDED_NODES} nodes; "
                "replace repeated aliases with $refs",
                location,
            )
        sizes[id(node)] = total
        return total

    size_of(root)
