"""Spec-independent runtime of the generated webhook receiver.

Each accepted request is validated, stored in a SQLite inbox and only then
acknowledged. An optional in-process worker passes stored messages to a handler.
`testing` is not imported here because it needs httpx, a test-only dependency.
"""

from .app import create_receiver
from .cli import main
from .settings import ConfigurationError, Settings
from .spec import MessageSpec, RouteSpec, SecuritySchemeSpec

__all__ = [
    "ConfigurationError",
    "MessageSpec",
    "RouteSpec",
    "SecuritySchemeSpec",
    "Settings",
    "create_receiver",
    "main",
]
