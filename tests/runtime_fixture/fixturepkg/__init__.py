"""Hand-written stand-in for a generated package, used by tests/test_runtime.py."""

from __future__ import annotations

from pydantic import TypeAdapter

from .models import (
    BuyerLead,
    ClosedEvent,
    CreatedEvent,
    Event,
    Lead,
    SellerLead,
    StatusUpdate,
)
from .runtime.spec import MessageSpec, RouteSpec, SecuritySchemeSpec

SIGNATURE_HEADER = "X-Signature"

SECURITY_SCHEMES = (
    SecuritySchemeSpec(
        key="apiKey",
        type="httpApiKey",
        location="header",
        name="X-API-Key",
        scheme=None,
        env_var="RECEIVER_API_KEYS",
    ),
    SecuritySchemeSpec(
        key="bearerAuth",
        type="http",
        location=None,
        name=None,
        scheme="bearer",
        env_var="RECEIVER_BEARER_TOKENS",
    ),
    SecuritySchemeSpec(
        key="basicAuth",
        type="http",
        location=None,
        name=None,
        scheme="basic",
        env_var="RECEIVER_BASIC_CREDENTIALS",
    ),
    SecuritySchemeSpec(
        key="queryKey",
        type="httpApiKey",
        location="query",
        name="api_key",
        scheme=None,
        env_var="RECEIVER_QUERY_KEYS",
    ),
)

ROUTES = (
    RouteSpec(
        operation_id="receiveLead",
        path="/lead",
        method="POST",
        adapter=TypeAdapter(Lead),
        discriminator="role",
        messages=(
            MessageSpec(
                name="buyerLead",
                payload_type=BuyerLead,
                handler_method="on_buyer_lead",
                content_type="application/json",
            ),
            MessageSpec(
                name="sellerLead",
                payload_type=SellerLead,
                handler_method="on_seller_lead",
                content_type="application/json",
            ),
        ),
        security=(("apiKey",),),
    ),
    RouteSpec(
        operation_id="receiveStatus",
        path="/status",
        method="POST",
        adapter=TypeAdapter(StatusUpdate),
        discriminator=None,
        messages=(
            MessageSpec(
                name="statusUpdate",
                payload_type=StatusUpdate,
                handler_method="on_status_update",
                content_type="application/json",
            ),
        ),
        security=(("bearerAuth",), ("basicAuth",)),
    ),
    RouteSpec(
        operation_id="receiveEvent",
        path="/event",
        method="POST",
        adapter=TypeAdapter(Event),
        discriminator=None,
        messages=(
            MessageSpec(
                name="createdEvent",
                payload_type=CreatedEvent,
                handler_method="on_created_event",
                content_type="application/json",
            ),
            MessageSpec(
                name="closedEvent",
                payload_type=ClosedEvent,
                handler_method="on_closed_event",
                content_type="application/json",
            ),
        ),
        security=(("queryKey",),),
    ),
)
