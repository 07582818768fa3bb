"""Allow `python -m generator`, the same as the `asyncapi-gen` command."""

from .cli import run

run()
