"""Spec-derived descriptions of routes, messages and security schemes.

The generated package builds these from the AsyncAPI document. The runtime reads
them and never looks at the document itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter


@dataclass(frozen=True)
class MessageSpec:
    """One message that a route accepts, and the handler method that processes it."""

    name: str
    """Message name from the spec, stored in the inbox ("buyerLead")."""
    payload_type: type[BaseModel]
    """Generated pydantic model of the payload."""
    handler_method: str
    """Name of the handler method called with a validated payload ("on_buyer_lead")."""
    content_type: str
    """Content type declared in the spec ("application/json")."""
    idempotency_field: str | None = None
    """Top-level payload property that identifies a redelivery ("lead_id").

    Without one, a redelivery is recognized by its exact body.
    """


@dataclass(frozen=True)
class SecuritySchemeSpec:
    """One security scheme from the spec and the variable with its credentials."""

    key: str
    """Scheme key in the spec ("apiKey")."""
    type: str
    """Scheme type: "httpApiKey" or "http"."""
    location: str | None
    """Where an httpApiKey credential is sent: "header", "query" or "cookie"."""
    name: str | None
    """Header, query parameter or cookie name of an httpApiKey ("X-API-Key")."""
    scheme: str | None
    """HTTP authentication scheme of an "http" scheme: "bearer" or "basic"."""
    env_var: str
    """Environment variable with the comma-separated accepted credentials.

    For "basic" each entry is "user:password".
    """


@dataclass(frozen=True)
class RouteSpec:
    """One receiving operation: the HTTP endpoint and the messages it accepts."""

    operation_id: str
    path: str
    """URL path of the endpoint ("/lead")."""
    method: str
    """HTTP method of the endpoint ("POST")."""
    adapter: TypeAdapter[Any]
    """Validates the JSON body: a single model or a discriminated union of models."""
    discriminator: str | None
    """JSON property that selects the message when `adapter` is a union ("role")."""
    messages: tuple[MessageSpec, ...]
    security: tuple[tuple[str, ...], ...]
    """Security requirements: a request must pass every scheme key of at least one
    inner tuple. An empty tuple means that the route needs no authentication."""
