"""The `asyncapi-gen` command line: generate, check, validate and context.

Exit codes: 0 success, 1 `check` found drift, 2 the input is invalid (one line
per problem, no traceback). Anything else is a bug in the tool.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from . import __version__
from .check import compare
from .config import plan
from .errors import GeneratorError
from .fingerprint import fast_check
from .options import DEFAULT_MAX_BYTES, RECEIVE_CHOICES, Options
from .progress import progress_for, quiet_option
from .write import write_tree

# The pipeline (jinja2, jsonschema, datamodel-code-generator) is imported
# inside the commands that render, so that `check` on an unchanged tree
# decides from the fingerprints alone, without loading it.

DEFAULT_OUTPUT = Path("generated")


def _spec_options(command: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument(
            "spec",
            required=False,
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
        ),
        click.option(
            "--output",
            "-o",
            type=click.Path(path_type=Path, file_okay=False),
            default=DEFAULT_OUTPUT,
            show_default=True,
            help="Folder that contains the generated package.",
        ),
        click.option(
            "--package",
            help="Name of the generated Python package "
            "(default: from the spec file name).",
        ),
        click.option(
            "--receive",
            type=click.Choice(RECEIVE_CHOICES),
            default="publish",
            show_default=True,
            help="AsyncAPI 2.x only: which operation the application receives. "
            "`publish` means the sender publishes to this application.",
        ),
        click.option(
            "--allow-outside-refs",
            is_flag=True,
            help="Allow file $refs to leave the spec's folder.",
        ),
        click.option(
            "--idempotency-key",
            "idempotency_keys",
            multiple=True,
            metavar="MESSAGE=FIELD",
            callback=_parse_pairs,
            help="Payload property that identifies a redelivery of MESSAGE "
            "(repeatable); without one, the exact body does.",
        ),
        click.option(
            "--templates",
            "templates",
            multiple=True,
            type=click.Path(path_type=Path, file_okay=False, exists=True),
            help="Overlay template folder, searched before the built-in templates "
            "(repeatable; earlier folders win).",
        ),
        click.option(
            "--filters",
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="Python file defining FILTERS and GLOBALS dicts for templates.",
        ),
        click.option(
            "--max-spec-bytes",
            type=click.IntRange(min=1),
            default=DEFAULT_MAX_BYTES,
            show_default=True,
            help="Largest spec file, or file it refers to, that is read, in bytes.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _options(
    spec: Path | None,
    output: Path,
    package: str | None,
    receive: str,
    allow_outside_refs: bool,
    idempotency_keys: tuple[tuple[str, str], ...],
    templates: tuple[Path, ...],
    filters: Path | None,
    max_spec_bytes: int,
) -> Options:
    return Options(
        spec or Path(),
        output,
        package,
        receive,
        allow_outside_refs,
        max_spec_bytes,
        idempotency_keys,
        templates,
        filters,
    )


def _runs(kwargs: dict[str, Any]) -> list[Options]:
    """Return the options of each spec to handle: flags over pyproject.toml."""
    context = click.get_current_context()
    given = {
        name: value
        for name, value in kwargs.items()
        if name != "spec"
        and context.get_parameter_source(name)
        in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    }
    return plan(kwargs["spec"], given, _options(**kwargs))


def _one_run(kwargs: dict[str, Any]) -> Options:
    runs = _runs(kwargs)
    if len(runs) > 1:
        raise GeneratorError(
            "error: pyproject.toml configures several specs; name one as SPEC"
        )
    return runs[0]


def _parse_pairs(
    context: click.Context, parameter: click.Parameter, values: tuple[str, ...]
) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        name, separator, field = value.partition("=")
        if not separator or not name or not field:
            raise click.BadParameter(
                f"{value!r} is not MESSAGE=FIELD, such as BuyerLead=lead_id"
            )
        pairs.append((name, field))
    return tuple(pairs)


@click.group()
@click.version_option(__version__, prog_name="asyncapi-gen")
def main() -> None:
    """Generate pydantic models, a durable receiver and contract tests from an
    AsyncAPI document."""


def run() -> None:
    """Run the command line, as the `asyncapi-gen` script and `python -m` do.

    The cyclic garbage collector runs less often than by default: a generate
    allocates millions of objects and keeps most of them to the end, so the
    default thresholds spent about a twentieth of a Realtor generate scanning
    live objects. Cycles are still collected; on the 1,000-message benchmark
    spec the peak memory grew by a tenth.
    """
    gc.set_threshold(200_000, 30, 30)
    main()


@main.command()
@_spec_options
@quiet_option
def generate(quiet: bool, **kwargs: Any) -> None:
    """Render the package for SPEC, or for every configured spec, into its output.

    Every spec is rendered before anything is written, so an error in one
    leaves every output folder as it was.
    """
    from .pipeline import build

    results = []
    with progress_for(quiet) as progress:
        for options in _runs(kwargs):
            results.append((options, build(options, progress)))
        reports = []
        for options, result in results:
            progress("write files")
            reports.append(write_tree(options.output, result.files, result.manifest))
    for (options, result), report in zip(results, reports, strict=True):
        for warning in result.warnings:
            click.echo(warning.format(), err=True)
        click.echo(
            f"{options.output.as_posix()}/{result.package}: "
            f"{len(report.written)} written, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed",
            err=True,
        )


@main.command()
@_spec_options
@click.option(
    "--full",
    is_flag=True,
    help="Always render and compare, even when the manifest's fingerprints "
    "show that nothing changed.",
)
@quiet_option
def check(full: bool, quiet: bool, **kwargs: Any) -> None:
    """Exit 1 with a diff when an output folder is not what its spec produces.

    Without SPEC, checks every spec configured in pyproject.toml.
    """
    current = [_check_one(options, full=full, quiet=quiet) for options in _runs(kwargs)]
    if not all(current):
        raise SystemExit(1)


def _check_one(options: Options, *, full: bool, quiet: bool) -> bool:
    """Report how one spec's output differs from disk; return whether current."""
    shown = options.output.as_posix().rstrip("/")
    if not full and fast_check(options):
        click.echo(
            f"{shown}/{options.package_name}: up to date "
            "(inputs and outputs match the manifest; --full renders anyway)",
            err=True,
        )
        return True
    from .pipeline import build

    with progress_for(quiet) as progress:
        result = build(options, progress)
        progress("compare files")
        report = compare(options.output, result.files, result.manifest, shown)
    if report.current:
        click.echo(f"{shown}/{result.package}: up to date", err=True)
        return True
    for diff in report.stale.values():
        click.echo(diff, nl=False)
    for name in report.stale:
        click.echo(f"stale: {shown}/{name}", err=True)
    for name in report.missing:
        click.echo(f"missing: {shown}/{name}", err=True)
    for name in report.removed:
        click.echo(
            f"removed: {shown}/{name} (no longer produced; generate removes it)",
            err=True,
        )
    for name in report.unexpected:
        click.echo(f"unexpected: {shown}/{name} (not produced by the spec)", err=True)
    if report.stale or report.missing or report.removed:
        click.echo(
            f"{shown} is out of date; run `asyncapi-gen generate` (or "
            "`make generate`) and commit the result",
            err=True,
        )
    if report.unexpected:
        click.echo(
            f"generate never deletes files it did not write: move files marked "
            f"unexpected out of {shown} or delete them",
            err=True,
        )
    return False


@main.command()
@_spec_options
def validate(**kwargs: Any) -> None:
    """Load, resolve and check SPEC, or every configured spec; write nothing."""
    from .pipeline import check_document

    for options in _runs(kwargs):
        document, warnings = check_document(options)
        for warning in warnings:
            click.echo(warning.format(), err=True)
        click.echo(
            f"{options.spec.as_posix()}: valid AsyncAPI "
            f"{document.asyncapi_version}, "
            f"{_count(len(document.operations), 'operation')}, "
            f"{_count(len(document.messages), 'message')}",
            err=True,
        )


@main.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="File to write: YAML, or JSON when the name ends in .json.",
)
@click.option(
    "--allow-outside-refs",
    is_flag=True,
    help="Allow file $refs to leave the spec's folder.",
)
def bundle(spec: Path, output: Path, allow_outside_refs: bool) -> None:
    """Write SPEC and every file it refers to as one document.

    Nodes from other files move into `components` under their own names;
    local refs stay refs.
    """
    from .bundle import bundle as bundle_document
    from .bundle import check_output, dump
    from .load import load_file
    from .pipeline import load_document
    from .resolve import Resolver

    options = Options(spec, output.parent, allow_outside_refs=allow_outside_refs)
    load_document(options)
    loaded = load_file(spec, max_bytes=options.max_spec_bytes)
    resolver = Resolver(loaded, allow_outside_root=allow_outside_refs)
    text = dump(bundle_document(resolver), output)
    check_output(output, resolver)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.asyncapi-gen-tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, output)
    click.echo(f"{output.as_posix()}: bundled from {spec.as_posix()}", err=True)


@main.command()
@_spec_options
def context(**kwargs: Any) -> None:
    """Print the data that templates receive for SPEC, as JSON."""
    from .models import generate_models
    from .pipeline import idempotency_fields, load_document
    from .render import template_context

    options = _one_run(kwargs)
    document = load_document(options)
    data, _ = template_context(
        document,
        package=options.package_name,
        models_code=generate_models(document),
        idempotency_fields=idempotency_fields(options, document),
    )
    click.echo(json.dumps(data, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(type(value).__name__)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
