"""Errors and diagnostics for problems in the user's input.

The tree of exceptions::

    click.ClickException
     +-- GeneratorError          exit code 2, printed without a traceback
          +-- InputError         one or more diagnostics about the spec or options

Every problem in a spec becomes a `Diagnostic` that knows its source position.
The pipeline gathers them and raises one `InputError`, which prints one line per
problem as ``file:line:column: error: message [at #/json/pointer]``.
Any other exception that escapes is a bug in the tool, never the user's fault.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import IO, Literal

import click

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True, slots=True)
class SourceLocation:
    """A position in a spec file: 1-based line and column, and the JSON pointer."""

    file: str
    line: int
    column: int
    pointer: str = ""

    def with_pointer(self, pointer: str) -> SourceLocation:
        return SourceLocation(self.file, self.line, self.column, pointer)


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the input, with where it is and what to do about it."""

    message: str
    location: SourceLocation | None = None
    severity: Severity = "error"

    def format(self) -> str:
        if self.location is None:
            return f"{self.severity}: {self.message}"
        where = f"{self.location.file}:{self.location.line}:{self.location.column}"
        text = f"{where}: {self.severity}: {self.message}"
        if self.location.pointer:
            text += f" [at #{self.location.pointer}]"
        return text

    def sort_key(self) -> tuple[str, int, int, str]:
        if self.location is None:
            return ("", 0, 0, self.message)
        loc = self.location
        return (loc.file, loc.line, loc.column, self.message)


class GeneratorError(click.ClickException):
    """A failure the user can fix; the CLI prints it and exits with code 2."""

    exit_code = 2

    def show(self, file: IO[str] | None = None) -> None:
        click.echo(self.format_message(), file=file or sys.stderr)


class InputError(GeneratorError):
    """The spec or the options are invalid; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


def fail(message: str, location: SourceLocation | None = None) -> InputError:
    """Build an InputError holding a single diagnostic, for `raise fail(...)`."""
    return InputError([Diagnostic(message, location)])
