"""Turn a resolved AsyncAPI 2.x or 3.0 document into the model templates render.

Templates never see raw YAML: they get the frozen dataclasses below, named after
AsyncAPI concepts, in which every name is already a safe Python identifier and
every order is fixed. Both major versions map onto the same model, so one
template serves both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import Diagnostic, InputError, SourceLocation
from .load import plain
from .naming import pascal_case, snake_case, unique, upper_snake_case
from .resolve import Resolver, Target, is_ref, join_pointer
from .schemas import SchemaRegistry

Action = Literal["receive", "send"]
JSON_CONTENT_TYPE = "application/json"
HTTP_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE", "GET"})
# RFC 9110 token characters, which a header name is made of.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True)
class SecurityScheme:
    """A security scheme the receiver can check, with where its keys come from."""

    key: str
    type: str
    location: str | None
    name: str | None
    scheme: str | None
    description: str
    env_var: str
    supported: bool


@dataclass(frozen=True)
class Message:
    """One message: its names, content type, payload class and examples."""

    key: str
    name: str
    title: str
    summary: str
    description: str
    content_type: str
    payload_class: str | None
    python_name: str
    handler_method: str
    examples: tuple[Any, ...]
    example_headers: tuple[dict[str, str], ...]
    """The headers of each example in `examples`, as text; empty where none."""
    source: SourceLocation


@dataclass(frozen=True)
class Operation:
    """An operation on a channel, from the application's point of view."""

    operation_id: str
    action: Action
    channel: str
    http_path: str
    http_method: str
    summary: str
    description: str
    messages: tuple[Message, ...]
    union_name: str | None
    discriminator: str | None
    security: tuple[tuple[str, ...], ...]
    source: SourceLocation


@dataclass(frozen=True)
class Server:
    key: str
    url: str
    protocol: str
    description: str


@dataclass(frozen=True)
class Document:
    """Everything templates and the models step need to know about one spec."""

    asyncapi_version: str
    title: str
    version: str
    description: str
    servers: tuple[Server, ...]
    security_schemes: tuple[SecurityScheme, ...]
    operations: tuple[Operation, ...]
    messages: tuple[Message, ...]
    signature_header: str | None
    schema_document: dict[str, Any] = field(compare=False, repr=False)
    schema_sources: dict[str, SourceLocation] = field(compare=False, repr=False)
    unsupported: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)
    warnings: tuple[Diagnostic, ...] = field(default=(), compare=False, repr=False)
    """Payloads in schema formats that no model can be generated for."""

    @property
    def received(self) -> tuple[Operation, ...]:
        return tuple(op for op in self.operations if op.action == "receive")


def normalize(resolver: Resolver, *, receive: str = "publish") -> Document:
    """Build the Document for the resolved spec; raise InputError on problems."""
    return _Normalizer(resolver, receive=receive).run()


class _Normalizer:
    def __init__(self, resolver: Resolver, *, receive: str) -> None:
        self.resolver = resolver
        self.root = resolver.root.root
        self.root_target = Target(resolver.root.path.resolve(), "")
        self.version = str(self.root.get("asyncapi", ""))
        self.major = self.version.split(".", 1)[0]
        self.receive = receive
        self.registry = SchemaRegistry(resolver)
        self.problems: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.messages: dict[Target, Message] = {}
        self.message_names: set[str] = set()
        self.schemes: dict[str, SecurityScheme] = {}
        self.taken_env: set[str] = set()

    # --- helpers -------------------------------------------------------------

    def at(self, pointer: str) -> Target:
        return Target(self.root_target.file, pointer)

    def follow(self, node: Any, base: Target) -> tuple[Any, Target]:
        resolved = self.resolver.follow(node, base)
        return resolved.node, resolved.target

    def where(self, target: Target) -> SourceLocation:
        return self.resolver.location(target)

    # --- the walk --------------------------------------------------------------

    def run(self) -> Document:
        info = self.root.get("info") or {}
        self._collect_security_schemes()
        operations = (
            self._operations_v3() if self.major == "3" else self._operations_v2()
        )
        operations.sort(key=lambda op: (op.http_path, op.operation_id))
        if self.problems:
            raise InputError(self.problems)
        messages = sorted(self.messages.values(), key=lambda m: m.python_name)
        return Document(
            asyncapi_version=self.version,
            title=_text(info.get("title")),
            version=_text(info.get("version")),
            description=_text(info.get("description")),
            servers=self._servers(),
            security_schemes=tuple(sorted(self.schemes.values(), key=lambda s: s.key)),
            operations=tuple(operations),
            messages=tuple(messages),
            signature_header=self._signature_header(),
            schema_document=self.registry.document(),
            unsupported=tuple(self.registry.unsupported),
            warnings=tuple(self.warnings + self.registry.renamed),
            schema_sources={
                name: self.where(target)
                for name, target in self.registry.sources.items()
            },
        )

    def _servers(self) -> tuple[Server, ...]:
        servers = self.root.get("servers") or {}
        result = []
        for key in sorted(servers):
            node, _ = self.follow(servers[key], self.at(join_pointer("/servers", key)))
            url = _text(node.get("url")) or _text(node.get("host"))
            result.append(
                Server(
                    key,
                    url,
                    _text(node.get("protocol")),
                    _text(node.get("description")),
                )
            )
        return tuple(result)

    def _collect_security_schemes(self) -> None:
        schemes = (self.root.get("components") or {}).get("securitySchemes") or {}
        for key in sorted(schemes):
            target = self.at(join_pointer("/components/securitySchemes", key))
            node, _ = self.follow(schemes[key], target)
            self._add_scheme(key, node)

    def _add_scheme(self, key: str, node: Any) -> str:
        """Record a security scheme under `key` and return the key."""
        node = node if isinstance(node, dict) else {}
        kind = _text(node.get("type"))
        location = _text(node.get("in")) or None
        http_scheme = _text(node.get("scheme")).lower() or None
        supported = (
            kind == "httpApiKey" and location in ("header", "query", "cookie")
        ) or (kind == "http" and http_scheme in ("bearer", "basic"))
        env = upper_snake_case(key, fallback="credential")
        env = f"RECEIVER_{env}S" if env.endswith("KEY") else f"RECEIVER_{env}_KEYS"
        self.schemes[key] = SecurityScheme(
            key=key,
            type=kind,
            location=location,
            name=_text(node.get("name")) or None,
            scheme=http_scheme,
            description=_text(node.get("description")),
            env_var=unique(env, self.taken_env),
            supported=supported,
        )
        return key

    def _signature_header(self) -> str | None:
        """Return the header of a declared signature scheme that no requirement uses.

        A spec can describe a signature only as an `httpApiKey` scheme in a header
        whose name mentions "signature"; the receiver treats it as an HMAC header.
        """
        for scheme in self.schemes.values():
            if (
                scheme.type == "httpApiKey"
                and scheme.location == "header"
                and scheme.name
                and "signature" in scheme.name.lower()
            ):
                return scheme.name
        return None

    # --- AsyncAPI 2.x ----------------------------------------------------------

    def _operations_v2(self) -> list[Operation]:
        channels = self.root.get("channels") or {}
        result = []
        for address in channels:
            channel_target = self.at(join_pointer("/channels", address))
            channel, channel_target = self.follow(channels[address], channel_target)
            for verb in ("publish", "subscribe"):
                if verb not in channel:
                    continue
                target = Target(
                    channel_target.file, join_pointer(channel_target.pointer, verb)
                )
                node, target = self.follow(channel[verb], target)
                node = self._apply_traits(node, target, message=False)
                action: Action = "receive" if verb == self.receive else "send"
                message_node = node.get("message")
                message_target = Target(
                    target.file, join_pointer(target.pointer, "message")
                )
                refs: list[tuple[Any, Target]] = []
                if message_node is not None:
                    resolved, resolved_target = self.follow(
                        message_node, message_target
                    )
                    if isinstance(resolved, dict) and isinstance(
                        resolved.get("oneOf"), list
                    ):
                        for index, item in enumerate(resolved["oneOf"]):
                            item_target = Target(
                                resolved_target.file,
                                join_pointer(
                                    join_pointer(resolved_target.pointer, "oneOf"),
                                    index,
                                ),
                            )
                            refs.append((item, item_target))
                    else:
                        refs.append((message_node, message_target))
                operation_id = _text(node.get("operationId")) or f"{action} {address}"
                security = self._requirements_v2(node, channel, channel_target)
                result.append(
                    self._operation(
                        operation_id=operation_id,
                        action=action,
                        address=address,
                        node=node,
                        target=target,
                        message_refs=refs,
                        security=security,
                    )
                )
        return result

    def _requirements_v2(
        self, operation: Any, channel: Any, channel_target: Target
    ) -> list[Any]:
        if isinstance(operation.get("security"), list):
            return [req for req in operation["security"]]
        servers = self.root.get("servers") or {}
        names = channel.get("servers") or list(servers)
        requirements: list[Any] = []
        for name in names:
            server = servers.get(name) if isinstance(name, str) else None
            if server is None:
                # A misspelt server would silently drop its security.
                self.problems.append(
                    Diagnostic(
                        f"channel lists server {name!r}, which is not defined under "
                        f"servers; define it or fix the name (defined: "
                        f"{', '.join(map(repr, servers)) or 'none'})",
                        self.where(
                            Target(
                                channel_target.file,
                                join_pointer(channel_target.pointer, "servers"),
                            )
                        ),
                    )
                )
                continue
            server, _ = self.follow(server, self.at(join_pointer("/servers", name)))
            requirements.extend(server.get("security") or [])
        return requirements

    # --- AsyncAPI 3.0 ----------------------------------------------------------

    def _operations_v3(self) -> list[Operation]:
        operations = self.root.get("operations") or {}
        result = []
        for key in operations:
            target = self.at(join_pointer("/operations", key))
            node, target = self.follow(operations[key], target)
            node = self._apply_traits(node, target, message=False)
            action: Action = "receive" if node.get("action") == "receive" else "send"
            channel_ref = node.get("channel")
            channel_target = Target(
                target.file, join_pointer(target.pointer, "channel")
            )
            channel, channel_target = self.follow(channel_ref, channel_target)
            address = channel.get("address")
            if not isinstance(address, str):
                address = channel_target.pointer.rsplit("/", 1)[-1]
            refs: list[tuple[Any, Target]] = []
            if isinstance(node.get("messages"), list):
                for index, item in enumerate(node["messages"]):
                    item_target = Target(
                        target.file,
                        join_pointer(join_pointer(target.pointer, "messages"), index),
                    )
                    refs.append((item, item_target))
            else:
                channel_messages = channel.get("messages") or {}
                for name in channel_messages:
                    item_target = Target(
                        channel_target.file,
                        join_pointer(
                            join_pointer(channel_target.pointer, "messages"), name
                        ),
                    )
                    refs.append((channel_messages[name], item_target))
            security = self._requirements_v3(node, channel, key)
            result.append(
                self._operation(
                    operation_id=key,
                    action=action,
                    address=address,
                    node=node,
                    target=target,
                    message_refs=refs,
                    security=security,
                )
            )
        return result

    def _requirements_v3(
        self, operation: Any, channel: Any, operation_id: str
    ) -> list[Any]:
        """Return 3.0 security as 2.x-style requirement objects (one scheme each)."""
        if isinstance(operation.get("security"), list):
            schemes = operation["security"]
        else:
            servers = self.root.get("servers") or {}
            schemes = []
            for server in channel.get("servers") or list(servers.values()):
                resolved, _ = self.follow(server, self.root_target)
                schemes.extend(resolved.get("security") or [])
        requirements: list[dict[str, list[str]]] = []
        for index, scheme in enumerate(schemes):
            if is_ref(scheme):
                requirements.append({scheme["$ref"].rsplit("/", 1)[-1]: []})
            elif isinstance(scheme, dict):
                # An inline scheme gets a key of its own; dropping it would
                # leave the endpoint open.
                key = unique(f"{operation_id}Security{index + 1}", set(self.schemes))
                requirements.append({self._add_scheme(key, scheme): []})
        return requirements

    # --- shared --------------------------------------------------------------

    def _operation(
        self,
        *,
        operation_id: str,
        action: Action,
        address: str,
        node: Any,
        target: Target,
        message_refs: list[tuple[Any, Target]],
        security: list[Any],
    ) -> Operation:
        messages = tuple(
            self._message(ref, ref_target) for ref, ref_target in message_refs
        )
        union_name = None
        discriminator = None
        with_payload = tuple(m for m in messages if m.payload_class)
        if len(set(m.payload_class for m in with_payload)) > 1:
            union_name = self.registry.claim(pascal_case(operation_id) + "Payload")
            discriminator = self._discriminator(with_payload)
        bindings = node.get("bindings")
        http = bindings.get("http") if isinstance(bindings, dict) else None
        method = _text(http.get("method") if isinstance(http, dict) else None)
        method = method.upper() or "POST"
        if method not in HTTP_METHODS:
            self.problems.append(
                Diagnostic(
                    f"HTTP binding method {method!r} is not an HTTP method; use one "
                    f"of {', '.join(sorted(HTTP_METHODS))}",
                    self.where(target),
                )
            )
        alternatives = sorted(
            {tuple(sorted(req)) for req in security if isinstance(req, dict)}
        )
        for group in alternatives:
            for name in group:
                if name not in self.schemes:
                    self.problems.append(
                        Diagnostic(
                            f"security requirement names scheme {name!r}, which is not "
                            "defined under components/securitySchemes",
                            self.where(target),
                        )
                    )
        path = address if address.startswith("/") else "/" + address
        return Operation(
            operation_id=operation_id,
            action=action,
            channel=address,
            http_path=path,
            http_method=method,
            summary=_text(node.get("summary")),
            description=_text(node.get("description")),
            messages=messages,
            union_name=union_name,
            discriminator=discriminator,
            security=tuple(alternatives),
            source=self.where(target),
        )

    def _message(self, ref: Any, ref_target: Target) -> Message:
        node, target = self.follow(ref, ref_target)
        known = self.messages.get(target)
        if known is not None:
            return known
        if not isinstance(node, dict):
            raise InputError(
                [
                    Diagnostic(
                        "a message must be an object with a payload, not "
                        f"{type(node).__name__}; fix the ref or the message",
                        self.where(ref_target),
                    )
                ]
            )
        node = self._apply_traits(node, target, message=True)
        key = _message_key(target.pointer)
        name = _text(node.get("name")) or _text(node.get("messageId")) or key
        if not name:
            name = _text(node.get("title")) or "Message"
        wanted = snake_case(name, fallback="message")
        python_name = unique(wanted, self.message_names)
        if python_name != wanted:
            self.warnings.append(
                Diagnostic(
                    f"message {name!r} gets handler on_{python_name} because another "
                    f"message already uses on_{wanted}; give the messages distinct "
                    "names",
                    self.where(target),
                    severity="warning",
                )
            )
        payload_class = None
        if node.get("payload") is not None:
            payload, payload_target = (
                node["payload"],
                Target(target.file, join_pointer(target.pointer, "payload")),
            )
            schema_format = _text(node.get("schemaFormat")) or None
            if self.major == "3" and isinstance(payload, dict) and "schema" in payload:
                schema_format = _text(payload.get("schemaFormat")) or None
                payload_target = Target(
                    payload_target.file, join_pointer(payload_target.pointer, "schema")
                )
                payload = payload["schema"]
            payload_class = self.registry.add_payload(
                payload,
                payload_target,
                inline_name=pascal_case(name) + "Payload",
                schema_format=schema_format,
                where=self.where(target),
            )
        content_type = (
            _text(node.get("contentType"))
            or _text(self.root.get("defaultContentType"))
            or JSON_CONTENT_TYPE
        )
        message = Message(
            key=key or name,
            name=name,
            title=_text(node.get("title")),
            summary=_text(node.get("summary")),
            description=_text(node.get("description")),
            content_type=content_type,
            payload_class=payload_class,
            python_name=python_name,
            handler_method=f"on_{python_name}",
            examples=tuple(_examples(node)),
            example_headers=tuple(_example_headers(node)),
            source=self.where(target),
        )
        self.messages[target] = message
        return message

    def _apply_traits(self, node: Any, target: Target, *, message: bool) -> Any:
        """Merge `traits` into a message or operation with JSON Merge Patch.

        AsyncAPI 2.x applies each trait in order as a merge patch over the
        object, so a trait's value replaces the object's. 3.0 merges the traits
        in order and then the object over them, so the object's values win.
        A trait may itself be a ref, and is followed first.
        """
        traits = node.get("traits") if isinstance(node, dict) else None
        if not isinstance(traits, list):
            return node
        own: dict[str, Any] = {k: v for k, v in node.items() if k != "traits"}
        merged: dict[str, Any] = {} if self.major == "3" else own
        for index, trait in enumerate(traits):
            trait_target = Target(
                target.file, join_pointer(join_pointer(target.pointer, "traits"), index)
            )
            trait_node, _ = self.follow(trait, trait_target)
            if isinstance(trait_node, dict):
                merged = merge_patch(merged, trait_node)
        if self.major == "3":
            merged = merge_patch(merged, own)
        return merged

    def _discriminator(self, messages: tuple[Message, ...]) -> str | None:
        """Return the property whose constant value distinguishes the messages."""
        definitions = self.registry.definitions
        schemas = [definitions.get(m.payload_class or "", {}) for m in messages]
        declared = {s.get("discriminator") for s in schemas}
        only = next(iter(declared))
        if len(declared) == 1 and isinstance(only, str):
            return only
        if not all(s.get("type") == "object" for s in schemas):
            return None
        candidates = set.intersection(*(set(s.get("required") or []) for s in schemas))
        for name in sorted(candidates):
            values = []
            for schema in schemas:
                prop = (schema.get("properties") or {}).get(name) or {}
                if "const" in prop:
                    values.append(prop["const"])
                elif isinstance(prop.get("enum"), list) and len(prop["enum"]) == 1:
                    values.append(prop["enum"][0])
                else:
                    break
            else:
                distinct = len(set(values)) == len(values)
                if distinct and all(isinstance(v, str) for v in values):
                    return str(name)
        return None


def _message_key(pointer: str) -> str:
    """Return a message's own key: the last pointer token, unless positional."""
    last = pointer.rsplit("/", 1)[-1].replace("~1", "/").replace("~0", "~")
    if not last or last.isdigit() or last in ("message", "payload"):
        return ""
    return last


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 JSON Merge Patch and return the result as a new value."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _examples(node: Any) -> list[Any]:
    result = []
    for example in node.get("examples") or []:
        if isinstance(example, dict) and "payload" in example:
            result.append(plain(example["payload"]))
    return result


def _example_headers(node: Any) -> list[dict[str, str]]:
    """Return the headers of each example that `_examples` keeps, as text.

    Only headers that an HTTP request can carry are kept: a valid name and a
    scalar value without control characters.
    """
    result = []
    for example in node.get("examples") or []:
        if not (isinstance(example, dict) and "payload" in example):
            continue
        headers = example.get("headers")
        kept: dict[str, str] = {}
        if isinstance(headers, dict):
            for name, value in headers.items():
                text = _header_text(value)
                if isinstance(name, str) and HEADER_NAME.match(name) and text:
                    kept[name] = text
        result.append(kept)
    return result


def _header_text(value: Any) -> str | None:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    else:
        return None
    if any(ord(character) < 0x20 or ord(character) == 0x7F for character in text):
        return None
    return text


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
