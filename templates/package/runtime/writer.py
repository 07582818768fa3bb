"""The single inbox writer thread, which commits concurrent writes together.

Requests that arrive while a commit is in progress queue up, and the next
transaction commits all of them with one fsync (group commit). Each caller's
future is resolved only after its transaction has committed, so an HTTP success
is never sent for a row that is not on disk.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from .inbox import connect, initialize
from .store import StorageError

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BATCH_SIZE: Final = 256
START_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 30.0


@dataclass
class _Job:
    run: Callable[[sqlite3.Connection], Any]
    future: Future[Any]


class _Stop:
    """Queue marker that ends the writer thread."""


class InboxWriter:
    """Owns the only write connection of the receiver and commits queued jobs.

    A job is a function that receives the connection inside an open transaction.
    When any job of a batch raises, the whole batch rolls back and every future in
    it fails with StorageError.
    """

    def __init__(self, path: Path, *, max_batch_size: int = MAX_BATCH_SIZE) -> None:
        self.path = path
        self.max_batch_size = max_batch_size
        self._queue: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._accepting = False
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: Exception | None = None

    @property
    def running(self) -> bool:
        """Whether the writer thread accepts jobs."""
        thread = self._thread
        return self._accepting and thread is not None and thread.is_alive()

    def start(self) -> None:
        """Create the database folder and schema, then start the writer thread.

        Raises StorageError when the database cannot be opened.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(
            target=self._run, name="inbox-writer", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS):
            raise StorageError(
                f"inbox writer did not open {self.path} within "
                f"{START_TIMEOUT_SECONDS:.0f} s"
            )
        if self._start_error is not None:
            raise StorageError(
                f"opening the inbox {self.path} failed: {self._start_error}. Check "
                "RECEIVER_DB_PATH."
            ) from self._start_error
        with self._lock:
            self._accepting = True

    def stop(self) -> None:
        """Commit the jobs queued so far, then end the thread."""
        with self._lock:
            if not self._accepting:
                return
            self._accepting = False
            # Every job was queued under the lock before this marker, so the
            # thread runs all of them before it stops.
            self._queue.put(_Stop())
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT_SECONDS)
            if self._thread.is_alive():
                logger.error(
                    "inbox writer did not stop within %.0f s", STOP_TIMEOUT_SECONDS
                )

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue a job. Raises StorageError when the writer is not running."""
        future: Future[T] = Future()
        with self._lock:
            if not self._accepting:
                raise StorageError("inbox writer is not running")
            self._queue.put(_Job(run=job, future=future))
        return future

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Queue a job and wait until its transaction has committed."""
        return await asyncio.wrap_future(self.submit(job))

    def _run(self) -> None:
        try:
            connection = connect(self.path)
            initialize(connection)
        except Exception as error:  # noqa: BLE001 - reported to the starting thread
            self._start_error = error
            self._ready.set()
            return
        self._ready.set()
        logger.info("inbox writer started on %s", self.path)
        try:
            while True:
                batch, stop = self._next_batch()
                if batch:
                    self._commit(connection, batch)
                if stop:
                    break
        finally:
            connection.close()
            logger.info("inbox writer stopped")

    def _next_batch(self) -> tuple[list[_Job], bool]:
        first = self._queue.get()
        if isinstance(first, _Stop):
            return [], True
        batch = [first]
        while len(batch) < self.max_batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Stop):
                return batch, True
            batch.append(item)
        return batch, False

    def _commit(self, connection: sqlite3.Connection, batch: list[_Job]) -> None:
        # A caller that stopped waiting has cancelled its future, and its job is
        # skipped. After this call a future can no longer be cancelled.
        jobs = [job for job in batch if job.future.set_running_or_notify_cancel()]
        if not jobs:
            return
        results: list[Any] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for job in jobs:
                results.append(job.run(connection))
            connection.execute("COMMIT")
        except Exception as error:  # noqa: BLE001
            # Any exception, not only sqlite3.Error, must fail the batch's futures,
            # because a dead writer thread would leave every later request waiting.
            _rollback(connection)
            logger.error(
                "inbox commit of %d jobs failed: %s: %s",
                len(jobs),
                type(error).__name__,
                error,
            )
            failure = StorageError(f"inbox commit failed: {type(error).__name__}")
            for job in jobs:
                job.future.set_exception(failure)
            return
        for job, result in zip(jobs, results, strict=True):
            job.future.set_result(result)


def _rollback(connection: sqlite3.Connection) -> None:
    try:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    except sqlite3.Error as error:
        logger.error("inbox rollback failed: %s", error)
