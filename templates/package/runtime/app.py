"""The ASGI webhook receiver application and its startup and shutdown."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Final

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .endpoint import MessageEndpoint
from .middleware import AccessLogMiddleware, CloseUnreadBodyMiddleware
from .problems import http_exception_handler, problem_response, server_error_handler
from .security import (
    Authenticator,
    BodyVerifier,
    SignatureVerifier,
    check_verifier,
    credential_header_names,
    load_verifier,
    validate_scheme,
)
from .settings import ConfigurationError, Settings
from .spec import RouteSpec, SecuritySchemeSpec
from .store import Store, describe_location, open_store
from .worker import Worker, load_handler

logger = logging.getLogger(__name__)

HEALTH_PATH: Final = "/_health"
STORED_HEADERS: Final = ("content-type", "user-agent")


def create_receiver(
    routes: Sequence[RouteSpec],
    schemes: Sequence[SecuritySchemeSpec],
    *,
    handler: object | None = None,
    settings: Settings | None = None,
    signature_header: str | None = None,
    verifier: BodyVerifier | None = None,
) -> Starlette:
    """Build the receiver application.

    `settings` defaults to `Settings.from_env(os.environ, schemes,
    signature_header)`, and `signature_header` is used only then. `handler`
    defaults to the object named by RECEIVER_HANDLER. Without either, messages
    are stored and stay pending.

    `verifier` checks each authenticated body in place of the HMAC signature
    check. It defaults to the object named by RECEIVER_SIGNATURE_VERIFIER, then
    to HMAC when a signing secret is set.

    Every scheme that any route names must have credentials, even one that is
    only an alternative. Raises ConfigurationError naming the variables to set,
    and ValueError when a route names an unknown or unsupported scheme.
    """
    if settings is None:
        settings = Settings.from_env(os.environ, schemes, signature_header)
    schemes_by_key = {scheme.key: scheme for scheme in schemes}
    for scheme in schemes:
        validate_scheme(scheme)
    settings.require_credentials(_required_scheme_keys(routes, schemes_by_key))
    if verifier is None:
        verifier = _signature_verifier(settings)
    else:
        check_verifier(verifier, "invalid verifier argument")
    if handler is None and settings.handler_reference is not None:
        handler = load_handler(settings.handler_reference, routes)

    store = open_store(
        settings.inbox_location,
        claim_timeout_seconds=settings.claim_timeout_seconds,
    )
    worker = None
    if handler is not None:
        worker = Worker(
            store=store,
            handler=handler,
            routes=routes,
            max_attempts=settings.max_attempts,
            retry_base_seconds=settings.retry_base_seconds,
        )
    stored_headers = _stored_header_names(settings, schemes)

    endpoints: list[Route] = []
    for route in routes:
        requirements = tuple(
            tuple(schemes_by_key[key] for key in requirement)
            for requirement in route.security
        )
        endpoint = MessageEndpoint(
            route=route,
            authenticator=Authenticator(requirements, settings.credentials),
            verifier=verifier,
            max_body_bytes=settings.max_body_bytes,
            store=store,
            worker=worker,
            stored_headers=stored_headers,
        )
        endpoints.append(
            Route(
                route.path,
                endpoint.handle,
                methods=[route.method.upper()],
                name=route.operation_id,
            )
        )
    endpoints.append(
        Route(HEALTH_PATH, partial(_health, store), methods=["GET"], name="health")
    )

    app = Starlette(
        routes=endpoints,
        middleware=[
            Middleware(AccessLogMiddleware),
            Middleware(CloseUnreadBodyMiddleware),
        ],
        exception_handlers={
            HTTPException: http_exception_handler,
            Exception: server_error_handler,
        },
        lifespan=partial(_lifespan, store=store, worker=worker, settings=settings),
    )
    # Starlette would redirect a route path with an added or missing trailing
    # slash, before authentication and to a Location built from the Host header.
    # A path that matches no route gets the 404 problem instead.
    app.router.redirect_slashes = False
    return app


@asynccontextmanager
async def _lifespan(
    app: Starlette,
    *,
    store: Store,
    worker: Worker | None,
    settings: Settings,
) -> AsyncIterator[None]:
    await store.open()
    logger.info("receiver started: %s", describe(settings))
    if worker is None:
        logger.info(
            "no handler configured (set RECEIVER_HANDLER): stored messages stay "
            "pending in %s",
            describe_location(settings.inbox_location),
        )
    else:
        await worker.start()
    try:
        yield
    finally:
        if worker is not None:
            await worker.stop()
        await store.close()


def describe(settings: Settings) -> str:
    """Return the effective configuration for the start-up log, without secrets.

    Credentials appear only as counts per variable, and the signing secret only
    as whether one is set.
    """
    keys = ", ".join(
        f"{settings.credential_env_vars.get(key, key)}={len(values)} key(s)"
        for key, values in sorted(settings.credentials.items())
    )
    if settings.signature_verifier_reference is not None:
        signature = f"verifier {settings.signature_verifier_reference}"
    elif settings.signing_secret:
        signature = (
            f"HMAC-{settings.signature_algorithm.upper()} ({settings.signature_header})"
        )
    else:
        signature = "off"
    inbox = describe_location(settings.inbox_location)
    return (
        f"inbox={inbox} credentials=[{keys}] signature={signature} "
        f"handler={settings.handler_reference or 'none'} "
        f"max_body_bytes={settings.max_body_bytes} "
        f"max_attempts={settings.max_attempts} "
        f"retry_base_seconds={settings.retry_base_seconds}"
    )


async def _health(store: Store, request: Request) -> Response:
    if not store.running:
        return problem_response(503, "The inbox writer is not running.")
    return JSONResponse({"status": "ok"})


def _required_scheme_keys(
    routes: Sequence[RouteSpec], schemes_by_key: dict[str, SecuritySchemeSpec]
) -> list[str]:
    keys: list[str] = []
    for route in routes:
        for requirement in route.security:
            for key in requirement:
                if key not in schemes_by_key:
                    raise ValueError(
                        f"route {route.operation_id!r} requires unknown security "
                        f"scheme {key!r}"
                    )
                keys.append(key)
    return keys


def _signature_verifier(settings: Settings) -> BodyVerifier | None:
    if settings.signature_verifier_reference is not None:
        return load_verifier(settings.signature_verifier_reference)
    if settings.signing_secret is None:
        return None
    if not settings.signature_header:
        raise ConfigurationError(
            "RECEIVER_SIGNING_SECRET is set but the spec names no signature header: "
            "set RECEIVER_SIGNATURE_HEADER"
        )
    return SignatureVerifier(
        header=settings.signature_header,
        secret=settings.signing_secret,
        algorithm=settings.signature_algorithm,
    )


def _stored_header_names(
    settings: Settings, schemes: Sequence[SecuritySchemeSpec]
) -> tuple[str, ...]:
    names = list(STORED_HEADERS)
    if settings.signature_header:
        names.append(settings.signature_header.lower())
    # A spec may send the signature in a header that is also an API key header,
    # and credentials must never be stored.
    excluded = credential_header_names(schemes)
    return tuple(name for name in names if name not in excluded)
