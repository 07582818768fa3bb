"""Check the loaded spec's shape before anything is built from it.

This step catches what would otherwise surface later as a confusing failure: a
missing or unsupported `asyncapi` version, a missing `info`, sections of the
wrong type. Each problem is one diagnostic at the node it concerns; all of
them are reported together.
"""

from __future__ import annotations

import re
from typing import Any

from ._jsonschema import jsonschema
from .errors import Diagnostic, InputError, SourceLocation
from .load import LoadedFile, key_location_of, location_of
from .normalize import HEADER_NAME, Document, Message, Operation
from .samples import Samples
from .structure import check_structure

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
    elif not isinstance(version, str) or not SUPPORTED.fullmatch(version):
        problems.append(
            Diagnostic(
                f"unsupported asyncapi version {version!r}; asyncapi-gen reads "
                "2.0.0 to 2.6.0 and 3.0.x (quote the version so it stays a string)",
                where(root, "asyncapi"),
            )
        )
    if not problems:
        problems.extend(check_structure(root, str(version), loaded.display_name))
    if problems:
        raise InputError(problems)


def check_meaning(loaded: LoadedFile, document: Document) -> list[Diagnostic]:
    """Check what only shows once refs are resolved; return the warnings.

    Duplicate operation ids, message examples that break their own payload
    schema, and channel parameters that do not match the channel's address.
    Raises InputError when any of them is an error.
    """
    problems: list[Diagnostic] = []
    seen: dict[str, Operation] = {}
    for operation in document.operations:
        first = seen.setdefault(operation.operation_id, operation)
        if first is not operation:
            problems.append(
                Diagnostic(
                    f"duplicate operationId {operation.operation_id!r}, also used at "
                    f"line {first.source.line}; operation ids must be unique",
                    operation.source,
                )
            )
    problems.extend(_schema_problems(document))
    problems.extend(_receiver_problems(document))
    samples = Samples(document.schema_document)
    for message in document.messages:
        if message.payload_class is None:
            continue
        validator = samples.validator(message.payload_class)
        for index, example in enumerate(message.examples, 1):
            error = jsonschema.exceptions.best_match(validator.iter_errors(example))
            if error is None:
                continue
            where = "".join(f"/{part}" for part in error.absolute_path) or "/"
            problems.append(
                Diagnostic(
                    f"example {index} of message {message.name!r} does not match "
                    f"its payload schema at {where}: {_reason(error)}; fix the "
                    "example or the schema",
                    message.source,
                )
            )
    problems.extend(_channel_parameters(loaded))
    if any(problem.severity == "error" for problem in problems):
        raise InputError(problems)
    return problems


def _reason(error: jsonschema.ValidationError) -> str:
    """Describe a schema failure without quoting long instance values."""
    text = error.message
    return text if len(text) <= 160 else text[:157] + "..."


_ADDRESS_PARAMETER = re.compile(r"\{([^{}]+)\}")
# Characters that a route path cannot match as written: the query and fragment
# marks, percent escapes (the server matches the decoded path), whitespace and
# control characters.
_UNSERVABLE_PATH_CHARACTER = re.compile(r"[?#%\s\x00-\x1f\x7f-\x9f]")


def _channel_parameters(loaded: LoadedFile) -> list[Diagnostic]:
    """Check that `{name}` in each channel address matches its parameters."""
    root = loaded.root
    channels = root.get("channels")
    if not isinstance(channels, dict):
        return []
    major = str(root.get("asyncapi", "")).split(".", 1)[0]
    problems = []
    for key, channel in channels.items():
        if not isinstance(channel, dict) or "$ref" in channel:
            continue
        address = channel.get("address") if major == "3" else key
        if not isinstance(address, str):
            continue
        parameters = channel.get("parameters")
        declared = set(parameters) if isinstance(parameters, dict) else set()
        used = set(_ADDRESS_PARAMETER.findall(address))
        where = key_location_of(channels, key) or SourceLocation(
            loaded.display_name, 1, 1
        )
        for name in sorted(used - declared):
            problems.append(
                Diagnostic(
                    f"channel {address!r} uses parameter {{{name}}} but does not "
                    f"declare it under `parameters`; add `{name}` there",
                    where,
                )
            )
        for name in sorted(declared - used):
            problems.append(
                Diagnostic(
                    f"channel {address!r} declares parameter {name!r} that its "
                    f"address does not use; remove it or add {{{name}}} to the "
                    "address",
                    where,
                    severity="warning",
                )
            )
    return problems


def _schema_problems(document: Document) -> list[Diagnostic]:
    """Check each payload schema against the JSON Schema draft-07 metaschema."""
    metaschema = jsonschema.Draft7Validator(jsonschema.Draft7Validator.META_SCHEMA)
    problems = []
    for name, schema in document.schema_document["$defs"].items():
        error = jsonschema.exceptions.best_match(metaschema.iter_errors(schema))
        if error is None:
            continue
        where = document.schema_sources.get(name)
        pointer = "".join(f"/{part}" for part in error.absolute_path)
        if where is not None:
            where = where.with_pointer(where.pointer + pointer)
        problems.append(
            Diagnostic(
                f"schema {name!r} is not a valid JSON Schema at {pointer or '/'}: "
                f"{_reason(error)}",
                where,
            )
        )
    return problems


def _receiver_problems(document: Document) -> list[Diagnostic]:
    """Check what the generated receiver needs: routes, headers and schemes."""
    problems: list[Diagnostic] = []
    routes: dict[tuple[str, str], Operation] = {}
    for operation in document.received:
        key = (operation.http_method, operation.http_path)
        first = routes.setdefault(key, operation)
        if first is not operation:
            problems.append(
                Diagnostic(
                    f"operations {first.operation_id!r} and "
                    f"{operation.operation_id!r} both receive {key[0]} {key[1]}; "
                    f"the HTTP receiver serves only {first.operation_id!r} there, so "
                    "merge their messages into one operation to receive both",
                    operation.source,
                    severity="warning",
                )
            )
        path_problem = _http_path_problem(operation.http_path)
        if path_problem is not None:
            problems.append(
                Diagnostic(
                    f"operation {operation.operation_id!r} receives at HTTP path "
                    f"{operation.http_path!r}, which {path_problem}; rename the "
                    "channel or give it an address that is a plain URL path",
                    operation.source,
                )
            )
        problems.extend(_message_problems(operation))
    used = {name for op in document.received for group in op.security for name in group}
    for scheme in document.security_schemes:
        header = scheme.name if scheme.location == "header" else None
        if header is not None and not HEADER_NAME.match(header):
            problems.append(
                Diagnostic(
                    f"security scheme {scheme.key!r} names header {header!r}, which "
                    "is not a valid HTTP header name; use letters, digits and '-'",
                    None,
                )
            )
        if scheme.key in used and not scheme.supported:
            problems.append(
                Diagnostic(
                    f"security scheme {scheme.key!r} ({scheme.type}"
                    f"{' in ' + scheme.location if scheme.location else ''}) cannot "
                    "be checked by the generated receiver, which will not start "
                    "until the scheme is httpApiKey in a header, query or cookie, "
                    "or http bearer or basic",
                    None,
                    severity="warning",
                )
            )
    return problems


def _http_path_problem(path: str) -> str | None:
    """Return why the receiver cannot serve `path`, or None when it can."""
    found = _UNSERVABLE_PATH_CHARACTER.search(path)
    if found is not None:
        return f"contains {found.group()!r}, which a request path cannot match"
    if any(segment in (".", "..") for segment in path.split("/")):
        return "has a '.' or '..' segment, which clients remove before sending"
    return None


def _message_problems(operation: Operation) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    owners: dict[str, Message] = {}
    for message in operation.messages:
        if not message.payload_class:
            continue
        if not _is_json(message.content_type):
            problems.append(
                Diagnostic(
                    f"message {message.name!r} has content type "
                    f"{message.content_type!r}; the receiver accepts JSON only and "
                    "will answer 415 to it",
                    message.source,
                    severity="warning",
                )
            )
        first = owners.setdefault(message.payload_class, message)
        if first is not message:
            problems.append(
                Diagnostic(
                    f"messages {first.name!r} and {message.name!r} share the payload "
                    f"schema {message.payload_class!r}, so the receiver cannot tell "
                    f"them apart and stores both as {first.name!r}; give each its "
                    "own schema with a distinguishing const property",
                    message.source,
                    severity="warning",
                )
            )
    if operation.union_name and not operation.discriminator:
        problems.append(
            Diagnostic(
                f"the messages of operation {operation.operation_id!r} have no "
                "property with a distinct const or single-value enum, so a payload "
                "that fits several is stored as the first that fits; add such a "
                "property or a `discriminator`",
                operation.source,
                severity="warning",
            )
        )
    return problems


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")
