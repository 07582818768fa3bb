"""Progress of `generate` and `check` on stderr, shown only in a terminal.

On a large spec the run takes minutes, so the terminal shows which step is
running, how many messages it covers and a bar over the steps. When
stderr is not a terminal (CI logs, pipes, files) nothing extra is written, and
`--quiet` turns the display off in a terminal too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

import click

# The steps of `generate` and `check`, in order: three in `pipeline.build`, and
# writing or comparing the files in the command itself.
STEP_COUNT = 4
BAR_WIDTH = 24

quiet_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Do not show progress on stderr (shown only when stderr is a terminal).",
)


class Progress:
    """A bar over the steps of one run, labelled with the step running now.

    Calling the object starts the next step and completes the one before it,
    so `pipeline.build` can take it as a plain callback.
    """

    def __init__(self, stream: TextIO | None) -> None:
        self._bar: Any = None
        if stream is not None:
            self._bar = click.progressbar(
                length=STEP_COUNT,
                label="asyncapi-gen",
                file=stream,
                width=BAR_WIDTH,
                show_eta=False,
                show_percent=False,
                show_pos=True,
                item_show_func=lambda step: step,
            )
        self._started = 0

    def __call__(self, step: str) -> None:
        """Complete the previous step and show `step` as running."""
        if self._bar is None:
            return
        if self._started:
            self._bar.update(1, step)
        else:
            self._bar.update(0, step)
            self._bar.render_progress()
        self._started += 1

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is None:
            return
        if kind is None:
            self._bar.update(STEP_COUNT - self._bar.pos, "done")
        # Ends the bar's line, so what the command prints next starts afresh.
        self._bar.render_finish()


def progress_for(quiet: bool, stream: TextIO | None = None) -> Progress:
    """Return a progress display on `stream` (stderr by default), or a silent one.

    The display is silent when `quiet` is set or `stream` is not a terminal.
    """
    stream = stream or sys.stderr
    if quiet or not stream.isatty():
        return Progress(None)
    return Progress(stream)


def messages_step(name: str, count: int) -> str:
    """Return the label of a step that covers `count` messages."""
    return f"{name} ({count} message{'' if count == 1 else 's'})"


Report = Callable[[str], None]


def silent(step: str) -> None:
    """Ignore a step; the default when no one watches the progress."""
