"""In-process worker that passes stored messages to the handler.

Delivery to the handler is at least once. A row is marked done only after the
handler returns, so a crash between the two runs the handler again on restart.

Each row is claimed before its handler runs. The PostgreSQL store keeps the
claim for RECEIVER_CLAIM_TIMEOUT_SECONDS, so several receiver instances can
share one inbox. The SQLite store does not claim rows, so it locks its file
for one receiver process instead.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Final

from pydantic import ValidationError

from .problems import describe_validation_error
from .settings import ConfigurationError, import_reference
from .spec import MessageSpec, RouteSpec
from .store import InboxRow, Store, utc_now

logger = logging.getLogger(__name__)

POLL_SECONDS: Final = 1.0
"""Maximum wait between checks for due rows, which also picks up rows that
`inbox retry` or another process changed."""
MAX_RETRY_DELAY: Final = timedelta(days=1)
FAILURE_LOG_INTERVAL: Final = 60
"""Number of consecutive inbox failures between two log entries of the worker."""
STOP_TIMEOUT_SECONDS: Final = 10.0
MAX_ERROR_LENGTH: Final = 2000


def load_handler(reference: str, routes: Sequence[RouteSpec]) -> object:
    """Import the handler named by RECEIVER_HANDLER ("module:attribute").

    A class or a factory function is called without arguments. The handler must
    have a method for every message. Raises ConfigurationError otherwise.
    """
    target = import_reference("RECEIVER_HANDLER", reference)
    attribute_path = reference.partition(":")[2]
    method_names = sorted(
        {message.handler_method for route in routes for message in route.messages}
    )
    if isinstance(target, type) or (
        callable(target) and _missing_methods(target, method_names)
    ):
        try:
            target = target()
        except Exception as error:
            raise ConfigurationError(
                f"invalid RECEIVER_HANDLER={reference!r}: calling {attribute_path} "
                f"failed: {type(error).__name__}: {error}"
            ) from error
    missing = _missing_methods(target, method_names)
    if missing:
        raise ConfigurationError(
            f"invalid RECEIVER_HANDLER={reference!r}: the handler has no method "
            f"{', '.join(missing)}"
        )
    return target


def _missing_methods(target: object, method_names: Sequence[str]) -> list[str]:
    return [name for name in method_names if not callable(getattr(target, name, None))]


def retry_delay(attempts: int, base_seconds: float) -> timedelta:
    """Return the backoff after `attempts` failed calls: base * 2**(attempts - 1).

    The delay is capped at MAX_RETRY_DELAY.
    """
    exponent = max(attempts - 1, 0)
    max_seconds = MAX_RETRY_DELAY.total_seconds()
    # Comparing exponents first avoids float overflow for large attempt counts.
    if exponent >= 64:
        return MAX_RETRY_DELAY
    return timedelta(seconds=min(base_seconds * 2**exponent, max_seconds))


class Worker:
    """Processes due pending rows one at a time, in id order."""

    def __init__(
        self,
        *,
        store: Store,
        handler: object,
        routes: Sequence[RouteSpec],
        max_attempts: int,
        retry_base_seconds: float,
    ) -> None:
        self.store = store
        self.handler = handler
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds
        self._messages: Mapping[tuple[str, str], MessageSpec] = {
            (route.operation_id, message.name): message
            for route in routes
            for message in route.messages
        }
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        """Wake the worker because a new row was stored."""
        self._wake.set()

    async def start(self) -> None:
        """Start processing, beginning with rows left pending by a previous run."""
        self._task = asyncio.create_task(self._run(), name="inbox-worker")
        logger.info("inbox worker started with handler %s", _describe(self.handler))

    async def stop(self) -> None:
        """Finish the current handler call, then stop.

        A handler that runs longer than STOP_TIMEOUT_SECONDS is cancelled, and its
        row stays pending for the next run.
        """
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                logger.warning(
                    "inbox worker did not finish within %.0f s, cancelled",
                    STOP_TIMEOUT_SECONDS,
                )
        logger.info("inbox worker stopped")

    async def _run(self) -> None:
        consecutive_failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                row = await self.store.next_due(utc_now())
                if row is not None:
                    await self._process(row)
                    consecutive_failures = 0
                    continue
                wait_seconds = await self._seconds_until_due()
                consecutive_failures = 0
            except Exception:
                consecutive_failures += 1
                # A broken inbox fails on every poll, so repeats are logged only
                # now and then.
                if consecutive_failures % FAILURE_LOG_INTERVAL == 1:
                    logger.exception(
                        "inbox worker failed to read or update the inbox "
                        "(%d consecutive failures)",
                        consecutive_failures,
                    )
                wait_seconds = POLL_SECONDS
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), wait_seconds)
            except TimeoutError:
                pass

    async def _seconds_until_due(self) -> float:
        earliest = await self.store.earliest_pending_attempt()
        if earliest is None:
            return POLL_SECONDS
        seconds = (earliest - utc_now()).total_seconds()
        return min(max(seconds, 0.0), POLL_SECONDS)

    async def _process(self, row: InboxRow) -> None:
        try:
            await self._call_handler(row)
        except Exception as error:  # noqa: BLE001 - any handler failure is retried
            await self._record_failure(row, error)
            return
        await self.store.mark_done(row.id, utc_now())
        logger.info(
            "handled inbox row %d (%s) on attempt %d",
            row.id,
            row.message,
            row.attempts + 1,
        )

    async def _call_handler(self, row: InboxRow) -> None:
        spec = self._messages.get((row.operation_id, row.message))
        if spec is None:
            raise LookupError(
                f"message {row.message!r} of operation {row.operation_id!r} is not "
                "part of this receiver's spec"
            )
        payload = spec.payload_type.model_validate_json(row.body, strict=True)
        method = getattr(self.handler, spec.handler_method)
        if inspect.iscoroutinefunction(method):
            await method(payload)
            return
        # A sync handler runs in a worker thread, so that a slow one does not stall
        # the event loop that serves requests.
        result = await asyncio.to_thread(method, payload)
        if inspect.isawaitable(result):
            await result

    async def _record_failure(self, row: InboxRow, error: Exception) -> None:
        attempts = row.attempts + 1
        error_text = _error_text(error)
        # Pydantic's message in a traceback shows the input values, which are
        # personal data, so a failure that involves a ValidationError is logged
        # as its summary alone.
        traceback = None if _involves_validation_error(error) else error
        if attempts >= self.max_attempts:
            next_attempt_at = None
            logger.error(
                "inbox row %d (%s) is dead after %d attempts: %s",
                row.id,
                row.message,
                attempts,
                error_text,
                exc_info=traceback,
            )
        else:
            delay = retry_delay(attempts, self.retry_base_seconds)
            next_attempt_at = utc_now() + delay
            logger.warning(
                "inbox row %d (%s) failed on attempt %d, retry in %.2f s: %s",
                row.id,
                row.message,
                attempts,
                delay.total_seconds(),
                error_text,
                exc_info=traceback,
            )
        await self.store.mark_failed(
            row.id, error=error_text, next_attempt_at=next_attempt_at
        )


def _error_text(error: Exception) -> str:
    """Return the exception type and message, without input values or traceback."""
    if isinstance(error, ValidationError):
        text = describe_validation_error(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return text[:MAX_ERROR_LENGTH]


def _involves_validation_error(error: BaseException) -> bool:
    """Return whether `error` or an exception linked to it is a ValidationError.

    Causes, contexts and the members of exception groups are searched.
    """
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ValidationError):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return False


def _describe(handler: object) -> str:
    kind = type(handler)
    return f"{kind.__module__}.{kind.__qualname__}"
