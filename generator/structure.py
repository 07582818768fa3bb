"""Check the shape of an AsyncAPI document for the version it declares.

The rules are tables written from the AsyncAPI specifications 2.0.0 to 2.6.0
and 3.0.0. For each kind of object they give the fixed fields it allows, which
of them are required and what each one holds: a string, a mapping of server
objects, a list of tags, and so on. Like the official AsyncAPI JSON Schemas,
they reject unknown keys except `x-` extensions, missing required keys and
values of the wrong JSON type.

Schema Objects, bindings and example values are data or JSON Schema, so this
module does not look inside them. It does not follow `$ref`s either: a
`{"$ref": ...}` mapping is accepted wherever the specification allows a
Reference Object, and its target is checked where it is defined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from .errors import Diagnostic, SourceLocation
from .load import location_of


@dataclass(frozen=True)
class Field:
    """The expected value of one fixed field of an object."""

    # A primitive from _PRIMITIVES, or an object kind from the rule tables.
    item: str
    container: Literal["one", "map", "list"] = "one"
    # Whether a Reference Object may stand in for the value or for each item.
    ref: bool = False
    required: bool = False
    # The first AsyncAPI 2.x minor version with this field. 3.0 rules keep 0.
    since: int = 0
    # The allowed string values, if the field is an enumeration.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """The fixed fields of one kind of object."""

    name: str
    plural: str
    fields: dict[str, Field]
    extensions: bool = True
    # At least one of these keys must be present.
    needs_one_of: tuple[str, ...] = ()


# Phrases for each primitive item in messages, in singular and plural.
_PRIMITIVES: dict[str, tuple[str, str]] = {
    "any": ("any value", "values"),
    "string": ("a string", "strings"),
    "boolean": ("a boolean", "booleans"),
    "mapping": ("a mapping", "mappings"),
    "reference": ("a Reference Object ({$ref: ...})", "Reference Objects"),
    "address": ("a string or null", "strings"),
}

_STR = Field("string")
_REQUIRED_STR = Field("string", required=True)
_BOOL = Field("boolean")
_ANY = Field("any")
_STRINGS = Field("string", "list")
_BINDINGS = Field("mapping", ref=True)

# Security scheme types and the 2.x minor version that introduced each one.
_SCHEME_TYPES: dict[str, int] = {
    "userPassword": 0,
    "apiKey": 0,
    "X509": 0,
    "symmetricEncryption": 0,
    "asymmetricEncryption": 0,
    "httpApiKey": 0,
    "http": 0,
    "oauth2": 0,
    "openIdConnect": 0,
    # The SASL mechanisms came with AsyncAPI 2.1.0.
    "plain": 1,
    "scramSha256": 1,
    "scramSha512": 1,
    "gssapi": 1,
}

# The URLs each OAuth flow requires.
# NOTE: every flow accepts all three URL fields, although the official schemas
# may also reject a URL that a flow does not use (`tokenUrl` on `implicit`).
_FLOW_URLS: dict[str, tuple[str, ...]] = {
    "implicit": ("authorizationUrl",),
    "password": ("tokenUrl",),
    "clientCredentials": ("tokenUrl",),
    "authorizationCode": ("authorizationUrl", "tokenUrl"),
}


def _flow_rules(scopes_key: str) -> dict[str, Rule]:
    """Build the OAuth Flows Object and one rule per flow it may contain."""
    rules: dict[str, Rule] = {}
    flows: dict[str, Field] = {}
    for flow, required in _FLOW_URLS.items():
        fields = {
            url: Field("string", required=url in required)
            for url in ("authorizationUrl", "tokenUrl", "refreshUrl")
        }
        fields[scopes_key] = Field("string", "map", required=True)
        rules[f"{flow}Flow"] = Rule(f"{flow} OAuth flow", f"{flow} OAuth flows", fields)
        flows[flow] = Field(f"{flow}Flow")
    rules["oauthFlows"] = Rule("OAuth flows object", "OAuth flows objects", flows)
    return rules


def _scheme_rule(scheme_type: str, major: int) -> Rule:
    """Build the fields one security scheme type allows and requires."""
    fields: dict[str, Field] = {"type": _REQUIRED_STR, "description": _STR}
    if scheme_type == "apiKey":
        fields["in"] = Field("string", required=True, choices=("user", "password"))
    elif scheme_type == "httpApiKey":
        fields["name"] = _REQUIRED_STR
        fields["in"] = Field(
            "string", required=True, choices=("query", "header", "cookie")
        )
    elif scheme_type == "http":
        fields["scheme"] = _REQUIRED_STR
        fields["bearerFormat"] = _STR
    elif scheme_type == "oauth2":
        fields["flows"] = Field("oauthFlows", required=True)
    elif scheme_type == "openIdConnect":
        fields["openIdConnectUrl"] = _REQUIRED_STR
    if major == 3 and scheme_type in ("oauth2", "openIdConnect"):
        fields["scopes"] = _STRINGS
    name = f"{scheme_type} security scheme"
    return Rule(name, f"{name}s", fields)


_COMMON_RULES: dict[str, Rule] = {
    "contact": Rule(
        "contact object",
        "contact objects",
        {"name": _STR, "url": _STR, "email": _STR},
    ),
    "license": Rule(
        "license object", "license objects", {"name": _REQUIRED_STR, "url": _STR}
    ),
    "serverVariable": Rule(
        "server variable object",
        "server variables",
        {
            "enum": _STRINGS,
            "default": _STR,
            "description": _STR,
            "examples": _STRINGS,
        },
    ),
    "correlationId": Rule(
        "correlation ID object",
        "correlation IDs",
        {"description": _STR, "location": _REQUIRED_STR},
    ),
    "externalDocs": Rule(
        "external documentation object",
        "external documentation objects",
        {"description": _STR, "url": _REQUIRED_STR},
    ),
    "messageExample": Rule(
        "message example",
        "message examples",
        {"headers": Field("mapping"), "payload": _ANY, "name": _STR, "summary": _STR},
        # The official schemas allow no extensions on an example.
        extensions=False,
        needs_one_of=("payload", "headers"),
    ),
}

_RULES_V2: dict[str, Rule] = {
    **_COMMON_RULES,
    **_flow_rules("scopes"),
    "root": Rule(
        "the root object",
        "documents",
        {
            "asyncapi": _REQUIRED_STR,
            "id": _STR,
            "info": Field("info", required=True),
            "servers": Field("server", "map", ref=True),
            "defaultContentType": _STR,
            "channels": Field("channelItem", "map", required=True),
            "components": Field("components"),
            "tags": Field("tag", "list"),
            "externalDocs": Field("externalDocs"),
        },
    ),
    "info": Rule(
        "info",
        "info objects",
        {
            "title": _REQUIRED_STR,
            "version": _REQUIRED_STR,
            "description": _STR,
            "termsOfService": _STR,
            "contact": Field("contact"),
            "license": Field("license"),
        },
    ),
    "server": Rule(
        "server object",
        "servers",
        {
            "url": _REQUIRED_STR,
            "protocol": _REQUIRED_STR,
            "protocolVersion": _STR,
            "description": _STR,
            "variables": Field("serverVariable", "map", ref=True),
            "security": Field("securityRequirement", "list"),
            "bindings": _BINDINGS,
            "tags": Field("tag", "list", since=5),
        },
    ),
    "channelItem": Rule(
        "channel item object",
        "channel items",
        {
            # A channel item may point elsewhere and still add fields of its own.
            "$ref": _STR,
            "description": _STR,
            "servers": Field("string", "list", since=2),
            "subscribe": Field("operation"),
            "publish": Field("operation"),
            "parameters": Field("parameter", "map", ref=True),
            "bindings": _BINDINGS,
        },
    ),
    "operation": Rule(
        "operation object",
        "operations",
        {
            "operationId": _STR,
            "summary": _STR,
            "description": _STR,
            "security": Field("securityRequirement", "list", since=4),
            "tags": Field("tag", "list"),
            "externalDocs": Field("externalDocs"),
            "bindings": _BINDINGS,
            "traits": Field("operationTrait", "list", ref=True),
            "message": Field("message", ref=True),
        },
    ),
    "operationTrait": Rule(
        "operation trait object",
        "operation traits",
        {
            "operationId": _STR,
            "summary": _STR,
            "description": _STR,
            "security": Field("securityRequirement", "list", since=4),
            "tags": Field("tag", "list"),
            "externalDocs": Field("externalDocs"),
            "bindings": _BINDINGS,
        },
    ),
    "message": Rule(
        "message object",
        "messages",
        {
            "messageId": Field("string", since=4),
            "headers": _ANY,
            "payload": _ANY,
            "correlationId": Field("correlationId", ref=True),
            "schemaFormat": _STR,
            "contentType": _STR,
            "name": _STR,
            "title": _STR,
            "summary": _STR,
            "description": _STR,
            "tags": Field("tag", "list"),
            "externalDocs": Field("externalDocs"),
            "bindings": _BINDINGS,
            "examples": Field("messageExample", "list"),
            "traits": Field("messageTrait", "list", ref=True),
            "deprecated": _BOOL,
        },
    ),
    "messageTrait": Rule(
        "message trait object",
        "message traits",
        {
            "messageId": Field("string", since=4),
            "headers": _ANY,
            "correlationId": Field("correlationId", ref=True),
            "schemaFormat": _STR,
            "contentType": _STR,
            "name": _STR,
            "title": _STR,
            "summary": _STR,
            "description": _STR,
            "tags": Field("tag", "list"),
            "externalDocs": Field("externalDocs"),
            "bindings": _BINDINGS,
            # 2.x traits keep the free-form examples of 2.0.0.
            "examples": Field("mapping", "list"),
            "deprecated": _BOOL,
        },
    ),
    "parameter": Rule(
        "parameter object",
        "parameters",
        {"description": _STR, "schema": _ANY, "location": _STR},
    ),
    "tag": Rule(
        "tag object",
        "tags",
        {
            "name": _REQUIRED_STR,
            "description": _STR,
            "externalDocs": Field("externalDocs"),
        },
    ),
    # NOTE: the specifications require component names to match
    # ^[a-zA-Z0-9.\-_]+$, and this module does not check names.
    "components": Rule(
        "components object",
        "components objects",
        {
            "schemas": Field("any", "map"),
            "servers": Field("server", "map", ref=True, since=3),
            "serverVariables": Field("serverVariable", "map", ref=True, since=5),
            "channels": Field("channelItem", "map", since=3),
            "messages": Field("message", "map", ref=True),
            "securitySchemes": Field("securityScheme", "map", ref=True),
            "parameters": Field("parameter", "map", ref=True),
            "correlationIds": Field("correlationId", "map", ref=True),
            "operationTraits": Field("operationTrait", "map", ref=True),
            "messageTraits": Field("messageTrait", "map", ref=True),
            "serverBindings": Field("mapping", "map", ref=True),
            "channelBindings": Field("mapping", "map", ref=True),
            "operationBindings": Field("mapping", "map", ref=True),
            "messageBindings": Field("mapping", "map", ref=True),
        },
    ),
}

_TAGS_V3 = Field("tag", "list", ref=True)
_DOCS_V3 = Field("externalDocs", ref=True)
_SECURITY_V3 = Field("securityScheme", "list", ref=True)

_RULES_V3: dict[str, Rule] = {
    **_COMMON_RULES,
    **_flow_rules("availableScopes"),
    "root": Rule(
        "the root object",
        "documents",
        {
            "asyncapi": _REQUIRED_STR,
            "id": _STR,
            "info": Field("info", required=True),
            "servers": Field("server", "map", ref=True),
            "defaultContentType": _STR,
            "channels": Field("channel", "map", ref=True),
            "operations": Field("operation", "map", ref=True),
            "components": Field("components"),
        },
    ),
    "info": Rule(
        "info",
        "info objects",
        {
            "title": _REQUIRED_STR,
            "version": _REQUIRED_STR,
            "description": _STR,
            "termsOfService": _STR,
            "contact": Field("contact"),
            "license": Field("license"),
            "tags": _TAGS_V3,
            "externalDocs": _DOCS_V3,
        },
    ),
    "server": Rule(
        "server object",
        "servers",
        {
            "host": _REQUIRED_STR,
            "protocol": _REQUIRED_STR,
            "protocolVersion": _STR,
            "pathname": _STR,
            "description": _STR,
            "title": _STR,
            "summary": _STR,
            "variables": Field("serverVariable", "map", ref=True),
            "security": _SECURITY_V3,
            "tags": _TAGS_V3,
            "externalDocs": _DOCS_V3,
            "bindings": _BINDINGS,
        },
    ),
    "channel": Rule(
        "channel object",
        "channels",
        {
            "address": Field("address"),
            "messages": Field("message", "map", ref=True),
            "title": _STR,
            "summary": _STR,
            "description": _STR,
            "servers": Field("reference", "list"),
            "parameters": Field("parameter", "map", ref=True),
            "tags": _TAGS_V3,
            "externalDocs": _DOCS_V3,
            "bindings": _BINDINGS,
        },
    ),
    "operation": Rule(
        "operation object",
        "operations",
        {
            "action": Field("string", required=True, choices=("send", "receive")),
            "channel": Field("reference", required=True),
            "title": _STR,
            "summary": _STR,
            "description": _STR,
            "security": _SECURITY_V3,
            "tags": _TAGS_V3,
            "externalDocs": _DOCS_V3,
            "bindings": _BINDINGS,
            "traits": Field("operationTrait", "list", ref=True),
            "messages": Field("reference", "list"),
            "reply": Field("operationReply", ref=True),
        },
    ),
    "operationTrait": Rule(
        "operation trait object",
        "operation traits",
        {
            "title": _STR,
            "summary": _STR,
            "description": _STR,
            "security": _SECURITY_V3,
            "tags": _TAGS_V3,
            "externalDocs": _DOCS_V3,
            "bindings": _BINDINGS,
        },
    ),
    "operationReply": Rule(
        "operation reply object",
        "operation replies",
        {
            "address": Field("replyAddress", ref=True),
            "channel": Field("reference"),
            "messages": Field("reference", "list"),
        },
    ),
    "replyAddress": Rule(
        "reply address object",
        "reply addresses",
        {"description": _STR, "location": _REQUIRED_STR},
    ),
    "message": Rule(
        "message object",
        "messages",
        {
            "headers": _ANY,
            "payload": _ANY,
            "correlationId": Field("correlationId", ref=True),
            "contentType": _STR,
            "name": _STR,
            "title": _STR,
            "summary": _STR,
            "description": _STR,
            "tags": _TAGS_V3,
            "externalDocs": _DOCS_V3,
            "bindings": _BINDINGS,
            "examples": Field("messageExample", "list"),
            "traits": Field("messageTrait", "list", ref=True),
            "deprecated": _BOOL,
        },
    ),
    "messageTrait": Rule(
        "message trait object",
        "message traits",
        {
            "headers": _ANY,
            "correlationId": Field("correlationId", ref=True),
            "contentType": _STR,
            "name": _STR,
            "title": _STR,
            "summary": _STR,
            "description": _STR,
            "tags": _TAGS_V3,
            "externalDocs": _DOCS_V3,
            "bindings": _BINDINGS,
            "examples": Field("messageExample", "list"),
            "deprecated": _BOOL,
        },
    ),
    "parameter": Rule(
        "parameter object",
        "parameters",
        {
            "enum": _STRINGS,
            "default": _STR,
            "description": _STR,
            "examples": _STRINGS,
            "location": _STR,
        },
    ),
    "tag": Rule(
        "tag object",
        "tags",
        {"name": _REQUIRED_STR, "description": _STR, "externalDocs": _DOCS_V3},
    ),
    "components": Rule(
        "components object",
        "components objects",
        {
            "schemas": Field("any", "map"),
            "servers": Field("server", "map", ref=True),
            "channels": Field("channel", "map", ref=True),
            "operations": Field("operation", "map", ref=True),
            "messages": Field("message", "map", ref=True),
            "securitySchemes": Field("securityScheme", "map", ref=True),
            "serverVariables": Field("serverVariable", "map", ref=True),
            "parameters": Field("parameter", "map", ref=True),
            "correlationIds": Field("correlationId", "map", ref=True),
            "replies": Field("operationReply", "map", ref=True),
            "replyAddresses": Field("replyAddress", "map", ref=True),
            "externalDocs": Field("externalDocs", "map", ref=True),
            "tags": Field("tag", "map", ref=True),
            "operationTraits": Field("operationTrait", "map", ref=True),
            "messageTraits": Field("messageTrait", "map", ref=True),
            "serverBindings": Field("mapping", "map", ref=True),
            "channelBindings": Field("mapping", "map", ref=True),
            "operationBindings": Field("mapping", "map", ref=True),
            "messageBindings": Field("mapping", "map", ref=True),
        },
    ),
}

# Advice for keys that belong to the other major version, keyed by
# (major version, object kind, key).
_HINTS: dict[tuple[int, str, str], str] = {
    (2, "root", "operations"): (
        "root 'operations' are AsyncAPI 3.0; in 2.x put 'publish' and "
        "'subscribe' operations in each channel item"
    ),
    (2, "parameter", "name"): "the parameter's key under 'parameters' is its name",
    (2, "securityScheme", "scopes"): (
        "'scopes' on a security scheme are AsyncAPI 3.0; in 2.x list the scopes "
        "in each security requirement"
    ),
    (3, "root", "tags"): "AsyncAPI 3.0 moved 'tags' into 'info'",
    (3, "root", "externalDocs"): "AsyncAPI 3.0 moved 'externalDocs' into 'info'",
    (3, "server", "url"): "AsyncAPI 3.0 splits the URL into 'host' and 'pathname'",
    (3, "channel", "publish"): (
        "AsyncAPI 3.0 describes operations under the root 'operations' with "
        "'action: receive'"
    ),
    (3, "channel", "subscribe"): (
        "AsyncAPI 3.0 describes operations under the root 'operations' with "
        "'action: send'"
    ),
    (3, "operation", "operationId"): (
        "in AsyncAPI 3.0 the operation's key under 'operations' is its id"
    ),
    (3, "operation", "message"): (
        "AsyncAPI 3.0 uses 'messages', a list of $refs to the channel's messages"
    ),
    (3, "message", "messageId"): (
        "in AsyncAPI 3.0 the message's key under 'messages' is its id"
    ),
    (3, "message", "schemaFormat"): (
        "AsyncAPI 3.0 puts 'schemaFormat' next to 'schema' in a multi format "
        "schema object under 'payload'"
    ),
    (3, "message", "oneOf"): (
        "in AsyncAPI 3.0 list the alternatives under the channel's 'messages'"
    ),
    (3, "parameter", "schema"): (
        "AsyncAPI 3.0 parameters are strings described by 'enum', 'default' "
        "and 'examples'"
    ),
}

# A root key that is an info field is most often a line indented too little.
_HINTS.update(
    {
        (major, "root", key): f"'{key}' belongs in 'info'; indent it there"
        for major in (2, 3)
        for key in ("title", "version", "description", "termsOfService", "contact")
    }
)

_VERSION = re.compile(r"^(\d+)\.(\d+)\.")


def check_structure(
    root: dict[str, Any], version: str, file_label: str
) -> list[Diagnostic]:
    """Check the shape of an AsyncAPI document and return every problem found.

    `version` is the document's `asyncapi` value and selects the rules:
    2.0.x to 2.6.x, or 3.0.x. Other versions, a version that is not a string
    and a root that is not a mapping return no diagnostics, because
    `validate_document` already reports them. Each diagnostic is located at
    the offending node and carries the node's JSON pointer. Nodes without a
    location of their own (containers not built by `generator.load`) are
    reported at line 1 of `file_label`.
    """
    if not isinstance(version, str) or not isinstance(root, dict):
        return []
    match = _VERSION.match(version)
    if match is None:
        return []
    major, minor = int(match.group(1)), int(match.group(2))
    if major == 2 and minor <= 6:
        rules = _RULES_V2
    elif (major, minor) == (3, 0):
        rules, minor = _RULES_V3, 0
    else:
        return []
    checker = _Checker(rules, version, major, minor)
    start: SourceLocation = getattr(root, "location", SourceLocation(file_label, 1, 1))
    checker.check_object(root, "root", start, "", "the document")
    return checker.problems


def _escape(key: str) -> str:
    """Escape one JSON pointer segment (RFC 6901)."""
    return key.replace("~", "~0").replace("/", "~1")


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _article(noun: str) -> str:
    # "an httpApiKey", "an X509": the letter names start with a vowel sound.
    if noun[:1] in "aeioAEIOX" or noun.startswith("http"):
        return "an"
    return "a"


def _join(words: list[str]) -> str:
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and "$ref" in value


class _Checker:
    """One walk over a document, collecting diagnostics as it goes."""

    def __init__(
        self, rules: dict[str, Rule], version: str, major: int, minor: int
    ) -> None:
        self.rules = rules
        self.version = version
        self.major = major
        self.minor = minor
        self.problems: list[Diagnostic] = []
        self.scheme_rules = {
            scheme_type: _scheme_rule(scheme_type, major)
            for scheme_type, since in _SCHEME_TYPES.items()
            if major == 3 or since <= minor
        }

    def report(self, message: str, where: SourceLocation, pointer: str) -> None:
        self.problems.append(Diagnostic(message, where.with_pointer(pointer)))

    def describe(self, item: str, *, plural: bool = False) -> str:
        """Name what an item must be, such as 'a string' or 'server objects'."""
        if item in _PRIMITIVES:
            singular, many = _PRIMITIVES[item]
            return many if plural else singular
        if item == "securityRequirement":
            noun = "security requirement object"
        elif item == "securityScheme":
            noun = "security scheme object"
        else:
            name = self.rules[item].name
            noun = name if name.endswith("object") else f"{name} object"
        if plural:
            return f"{noun}s"
        return f"{_article(noun)} {noun} (a mapping)"

    def check_object(
        self, value: Any, kind: str, where: SourceLocation, pointer: str, name: str
    ) -> None:
        """Check a mapping against the rule for its kind of object."""
        if not isinstance(value, dict):
            expected = self.describe(kind)
            self.report(
                f"{name} must be {expected}, not {_type_name(value)}", where, pointer
            )
            return
        self.check_fields(value, self.rules[kind], kind, where, pointer)

    def check_fields(
        self,
        value: dict[str, Any],
        rule: Rule,
        kind: str,
        where: SourceLocation,
        pointer: str,
    ) -> None:
        for key, child in value.items():
            child_where = location_of(value, key) or where
            child_pointer = f"{pointer}/{_escape(key)}"
            spec = rule.fields.get(key)
            if spec is not None and spec.since <= self.minor:
                self.check_value(child, spec, child_where, child_pointer, f"'{key}'")
                if spec.choices and isinstance(child, str):
                    self.check_choice(
                        child, key, spec, rule, child_where, child_pointer
                    )
            elif not (rule.extensions and key.startswith("x-")):
                message = self.unexpected_key(key, rule, kind, spec)
                self.report(message, child_where, child_pointer)
        for key, spec in rule.fields.items():
            if spec.required and key not in value:
                self.report(
                    f"missing required key '{key}' in {rule.name}", where, pointer
                )
        if rule.needs_one_of and not any(key in value for key in rule.needs_one_of):
            keys = " or ".join(f"'{key}'" for key in rule.needs_one_of)
            self.report(
                f"missing {keys} in {rule.name}; give at least one of them",
                where,
                pointer,
            )

    def unexpected_key(
        self, key: str, rule: Rule, kind: str, spec: Field | None
    ) -> str:
        allowed = [k for k, f in rule.fields.items() if f.since <= self.minor]
        if rule.extensions:
            allowed.append("x- extensions")
        message = (
            f"unexpected key '{key}' in {rule.name}; AsyncAPI {self.version} "
            f"{rule.plural} allow {_join(allowed)}"
        )
        if spec is not None:
            message += f"; '{key}' needs AsyncAPI 2.{spec.since}.0 or later"
        elif key == "$ref":
            message += f"; AsyncAPI {self.version} allows no Reference Object here"
        hint = _HINTS.get((self.major, kind, key))
        if hint:
            message += f"; {hint}"
        return message

    def check_choice(
        self,
        value: str,
        key: str,
        spec: Field,
        rule: Rule,
        where: SourceLocation,
        pointer: str,
    ) -> None:
        if value not in spec.choices:
            self.report(
                f"'{key}' of {_article(rule.name)} {rule.name} must be one of "
                f"{', '.join(spec.choices)}, not {value!r}",
                where,
                pointer,
            )

    def check_value(
        self, value: Any, spec: Field, where: SourceLocation, pointer: str, name: str
    ) -> None:
        """Check the value of one field: a single item, a mapping or a list."""
        if spec.container == "map":
            if not isinstance(value, dict):
                expected = self.describe(spec.item, plural=True)
                self.report(
                    f"{name} must be a mapping of {expected}, not {_type_name(value)}",
                    where,
                    pointer,
                )
                return
            for entry, item in value.items():
                self.check_item(
                    item,
                    spec,
                    location_of(value, entry) or where,
                    f"{pointer}/{_escape(entry)}",
                    f"{name} entry '{entry}'",
                )
        elif spec.container == "list":
            if not isinstance(value, list):
                expected = self.describe(spec.item, plural=True)
                self.report(
                    f"{name} must be a list of {expected}, not {_type_name(value)}",
                    where,
                    pointer,
                )
                return
            for index, item in enumerate(value):
                self.check_item(
                    item,
                    spec,
                    location_of(value, index) or where,
                    f"{pointer}/{index}",
                    f"{name} item {index}",
                )
            if spec.item == "tag":
                self.check_unique_tags(value, where, pointer)
        else:
            self.check_item(value, spec, where, pointer, name)

    def check_item(
        self, value: Any, spec: Field, where: SourceLocation, pointer: str, name: str
    ) -> None:
        """Check one value against the item type of a field."""
        item = spec.item
        if spec.ref and _is_reference(value):
            self.check_reference(value, where, pointer)
            return
        if item in _PRIMITIVES:
            self.check_primitive(value, item, where, pointer, name)
        elif item == "securityScheme":
            self.check_security_scheme(value, where, pointer, name)
        elif item == "securityRequirement":
            self.check_security_requirement(value, where, pointer, name)
        elif self.major == 2 and item == "message" and isinstance(value, dict):
            if "oneOf" in value:
                self.check_message_alternatives(value, where, pointer)
            else:
                self.check_object(value, item, where, pointer, name)
        elif self.major == 2 and item == "messageExample" and self.minor == 0:
            # AsyncAPI 2.0.0 examples are free-form mappings. The example
            # object with name and summary came with 2.1.0.
            self.check_primitive(value, "mapping", where, pointer, name)
        elif self.major == 2 and item.endswith("Trait") and isinstance(value, list):
            # The official 2.x schemas also accept a trait as a pair:
            # [trait or $ref, mapping of overrides]. Only the trait is checked.
            if value:
                self.check_item(value[0], spec, where, f"{pointer}/0", name)
        else:
            self.check_object(value, item, where, pointer, name)

    def check_primitive(
        self, value: Any, item: str, where: SourceLocation, pointer: str, name: str
    ) -> None:
        if item == "any":
            return
        if item == "reference":
            if _is_reference(value):
                self.check_reference(value, where, pointer)
                return
            valid = False
        elif item == "string":
            valid = isinstance(value, str)
        elif item == "boolean":
            valid = isinstance(value, bool)
        elif item == "mapping":
            valid = isinstance(value, dict)
        else:  # "address": a channel address may be null (unknown or dynamic)
            valid = value is None or isinstance(value, str)
        if not valid:
            expected = _PRIMITIVES[item][0]
            message = f"{name} must be {expected}, not {_type_name(value)}"
            if item == "string" and isinstance(value, bool | int | float):
                # YAML reads `version: 1.0` or `on` as a number or boolean.
                message += "; put the value in quotes"
            self.report(message, where, pointer)

    def check_reference(
        self, value: dict[str, Any], where: SourceLocation, pointer: str
    ) -> None:
        target = value["$ref"]
        if not isinstance(target, str):
            self.report(
                f"'$ref' must be a string, not {_type_name(target)}",
                location_of(value, "$ref") or where,
                f"{pointer}/$ref",
            )

    def check_message_alternatives(
        self, value: dict[str, Any], where: SourceLocation, pointer: str
    ) -> None:
        """Check a 2.x `{oneOf: [...]}` message, which may contain nothing else."""
        for key in value:
            if key != "oneOf":
                self.report(
                    f"unexpected key '{key}' beside 'oneOf' in a message; a message "
                    "with 'oneOf' contains only the list of alternative messages",
                    location_of(value, key) or where,
                    f"{pointer}/{_escape(key)}",
                )
        self.check_value(
            value["oneOf"],
            Field("message", "list", ref=True),
            location_of(value, "oneOf") or where,
            f"{pointer}/oneOf",
            "'oneOf'",
        )

    def check_security_requirement(
        self, value: Any, where: SourceLocation, pointer: str, name: str
    ) -> None:
        """Check a 2.x security requirement: scheme names to lists of scopes."""
        if not isinstance(value, dict):
            self.report(
                f"{name} must be a security requirement (a mapping of security "
                f"scheme names to lists of scopes), not {_type_name(value)}",
                where,
                pointer,
            )
            return
        for scheme, scopes in value.items():
            self.check_value(
                scopes,
                _STRINGS,
                location_of(value, scheme) or where,
                f"{pointer}/{_escape(scheme)}",
                f"{name} entry '{scheme}'",
            )

    def check_security_scheme(
        self, value: Any, where: SourceLocation, pointer: str, name: str
    ) -> None:
        """Check a security scheme with the fields its `type` allows."""
        if not isinstance(value, dict):
            expected = self.describe("securityScheme")
            self.report(
                f"{name} must be {expected}, not {_type_name(value)}", where, pointer
            )
            return
        if "type" not in value:
            self.report(
                "missing required key 'type' in security scheme", where, pointer
            )
            return
        scheme_type = value["type"]
        if not isinstance(scheme_type, str) or scheme_type not in self.scheme_rules:
            self.report(
                self.scheme_type_problem(scheme_type),
                location_of(value, "type") or where,
                f"{pointer}/type",
            )
            return
        rule = self.scheme_rules[scheme_type]
        self.check_fields(value, rule, "securityScheme", where, pointer)
        # The official schemas accept `bearerFormat` only with the exact
        # scheme name "bearer".
        if scheme_type == "http" and "bearerFormat" in value:
            if value.get("scheme") != "bearer":
                self.report(
                    "unexpected key 'bearerFormat' in http security scheme; "
                    "'bearerFormat' applies only to 'scheme: bearer' (lower case)",
                    location_of(value, "bearerFormat") or where,
                    f"{pointer}/bearerFormat",
                )

    def scheme_type_problem(self, scheme_type: Any) -> str:
        if not isinstance(scheme_type, str):
            actual = _type_name(scheme_type)
        else:
            actual = repr(scheme_type)
        message = (
            "'type' of a security scheme must be one of "
            f"{', '.join(self.scheme_rules)}, not {actual}"
        )
        if isinstance(scheme_type, str) and scheme_type in _SCHEME_TYPES:
            since = _SCHEME_TYPES[scheme_type]
            message += f"; {actual} needs AsyncAPI 2.{since}.0 or later"
        return message

    def check_unique_tags(
        self, tags: list[Any], where: SourceLocation, pointer: str
    ) -> None:
        seen: set[str] = set()
        for index, tag in enumerate(tags):
            if not isinstance(tag, dict) or _is_reference(tag):
                continue
            name = tag.get("name")
            if not isinstance(name, str):
                continue
            if name in seen:
                self.report(
                    f"duplicate tag name {name!r}; tag names must be unique in a list",
                    location_of(tag, "name") or location_of(tags, index) or where,
                    f"{pointer}/{index}/name",
                )
            seen.add(name)
