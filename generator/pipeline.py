"""Run the steps in order: load, validate, resolve, normalize, models, render.

Each step lives in its own module; this one only wires them together and
decides the names that appear in the output (package, header, command).
"""

from __future__ import annotations

import contextlib
import gc
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import Diagnostic, InputError, fail
from .fingerprint import digest, input_fingerprints
from .load import load_file
from .models import generate_models
from .naming import is_identifier
from .normalize import Document, normalize
from .options import (
    DEFAULT_MAX_BYTES,
    HIDDEN_MODULES,
    MAX_PACKAGE_LENGTH,
    Options,
    default_package,
    relative_posix,
)
from .progress import Report, messages_step, silent
from .render import Origin, render_package
from .resolve import Resolver
from .validate import check_meaning, validate_document
from .write import manifest_bytes, manifest_name


@dataclass(frozen=True)
class Build:
    """The rendered output of one spec, ready to write or compare."""

    package: str
    manifest: str
    files: dict[str, bytes]
    warnings: tuple[Diagnostic, ...]


def load_document(options: Options) -> Document:
    """Run the front end: load, validate, resolve and normalize the spec."""
    return check_document(options)[0]


def check_document(options: Options) -> tuple[Document, list[Diagnostic]]:
    """Run the front end and return the document with any warnings."""
    document, warnings, _ = front_end(options)
    return document, warnings


def front_end(
    options: Options,
) -> tuple[Document, list[Diagnostic], list[Path]]:
    """Run the front end; also return every spec file that the refs reached."""
    loaded = load_file(options.spec, max_bytes=options.max_spec_bytes)
    validate_document(loaded)
    resolver = Resolver(
        loaded,
        allow_outside_root=options.allow_outside_refs,
        max_bytes=options.max_spec_bytes,
    )
    resolver.check_all()
    document = normalize(resolver, receive=options.receive)
    warnings = [
        Diagnostic(d.message, d.location, severity="warning")
        for d in document.unsupported
    ]
    warnings.extend(document.warnings)
    files = sorted(resolver.files)
    return document, warnings + check_meaning(loaded, document), files


def build(options: Options, progress: Report = silent) -> Build:
    """Return every output file for the spec, or raise InputError.

    `progress` is called with the name of each step as it starts.
    """
    package = options.package_name
    if not is_identifier(package) or package.startswith("_"):
        raise fail(
            f"--package {package!r} is not a valid Python package name; use "
            "lowercase letters, digits and underscores"
        )
    if len(package) > MAX_PACKAGE_LENGTH:
        raise fail(
            f"package name {package[:20]!r}... is {len(package)} characters long; "
            f"pass --package with a name of at most {MAX_PACKAGE_LENGTH}"
        )
    if package in HIDDEN_MODULES:
        raise fail(
            f"--package {package!r} would hide the module of that name, which the "
            "generated code imports; choose another name"
        )
    with _collector_paused(_is_small(options.spec)):
        progress("read spec")
        document, front_warnings, spec_files = front_end(options)
        if document.unsupported:
            raise InputError(list(document.unsupported))
        keys = idempotency_fields(options, document)
        progress(messages_step("models", len(document.messages)))
        models_code = generate_models(document)
        progress(messages_step("render", len(document.messages)))
        files, warnings = render_package(
            document,
            package=package,
            models_code=models_code,
            origin=origin(options),
            templates=options.template_set(),
            idempotency_fields=keys,
        )
    manifest = manifest_name(package)
    digests = {name: digest(content) for name, content in files.items()}
    inputs = input_fingerprints(options, spec_files)
    files[manifest] = manifest_bytes(package, digests, inputs)
    return Build(package, manifest, files, tuple(front_warnings + warnings))


# A spec file up to this size is built with the cyclic garbage collector
# paused. Such a build keeps most of what it allocates to the end, so
# collections cost time (about 20 ms of a 0.6 s Realtor generate) and free
# little: the 100-message benchmark spec (250 KiB) peaked at 103 MiB without
# them and 94 MiB with them. Larger specs keep the collector, which held the
# 1,000-message spec at 220 MiB instead of 390.
PAUSED_GC_MAX_SPEC_BYTES = 512 * 1024


def _is_small(spec: Path) -> bool:
    try:
        return spec.stat().st_size <= PAUSED_GC_MAX_SPEC_BYTES
    except OSError:
        return False  # the front end reports the file


@contextlib.contextmanager
def _collector_paused(paused: bool) -> Iterator[None]:
    """Pause the cyclic garbage collector for the block when `paused` is true."""
    resume = paused and gc.isenabled()
    if resume:
        gc.disable()
    try:
        yield
    finally:
        if resume:
            gc.enable()


def idempotency_fields(options: Options, document: Document) -> dict[str, str]:
    """Check `--idempotency-key` pairs against the spec; map message to field."""
    by_name = {m.name: m for m in document.messages}
    result: dict[str, str] = {}
    for name, field in options.idempotency_keys:
        message = by_name.get(name)
        if message is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise fail(
                f"--idempotency-key names message {name!r}, which the spec does "
                f"not define (messages: {known})"
            )
        schema = document.schema_document["$defs"].get(message.payload_class or "")
        properties = (schema or {}).get("properties") or {}
        if field not in properties:
            raise fail(
                f"--idempotency-key {name}={field}: the payload of {name!r} has no "
                f"top-level property {field!r}",
                message.source,
            )
        result[name] = field
    return result


def origin(options: Options) -> Origin:
    """Name the spec and the command relative to the output's parent folder.

    The header must not depend on where the repository is checked out, so
    paths are relative, with forward slashes, from the folder that contains the
    output (the repository root in the usual layout).
    """
    base = options.output.resolve().parent
    spec = relative_posix(options.spec.resolve(), base)
    output = relative_posix(options.output.resolve(), base)
    command = f"asyncapi-gen generate {spec} --output {output}"
    if options.package and options.package != default_package(options.spec):
        command += f" --package {options.package}"
    if options.receive != "publish":
        command += f" --receive {options.receive}"
    for message, field in options.idempotency_keys:
        command += f" --idempotency-key {shlex.quote(f'{message}={field}')}"
    for folder in options.templates:
        command += f" --templates {shlex.quote(relative_posix(folder.resolve(), base))}"
    if options.filters is not None:
        filters = relative_posix(options.filters.resolve(), base)
        command += f" --filters {shlex.quote(filters)}"
    if options.allow_outside_refs:
        command += " --allow-outside-refs"
    if options.max_spec_bytes != DEFAULT_MAX_BYTES:
        command += f" --max-spec-bytes {options.max_spec_bytes}"
    return Origin(spec=spec, command=command)
