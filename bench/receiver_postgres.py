"""Measure receiver throughput with a PostgreSQL inbox, one and two instances.

Runs three configurations one after the other, each on a fresh inbox and with
no handler, so stored rows stay pending and no worker competes for the CPU:

- **sqlite**: one receiver with its default SQLite inbox, for comparison;
- **pg x1**: one receiver with RECEIVER_DATABASE_URL;
- **pg x2**: two receivers on two ports sharing one PostgreSQL schema, with
  half of the concurrent senders posting to each.

The PostgreSQL server is the one ASYNCAPI_GEN_TEST_POSTGRES_URL names, or a
throwaway one started as the tests do. Prints requests per second and p50 and
p99 latency per configuration, and exits 1 when any request failed or the 2xx
count differs from the stored rows.

NOTE: the load generator, the receivers and the database server share the
machine's CPUs, so on few cores the second instance mostly adds contention.

Run from the repository root: .venv/bin/python bench/receiver_postgres.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generated"))
sys.path.insert(0, str(ROOT))

from realtor_connections_plus.runtime.testing import running_receiver  # noqa: E402
from receiver import (  # noqa: E402
    API_KEY,
    WARMUP_REQUESTS,
    LoadResult,
    drive,
    percentiles_ms,
    print_result,
)

from tests import postgres  # noqa: E402

PACKAGE = "realtor_connections_plus"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of the configured server, or of a throwaway one."""
    url = os.environ.get(postgres.URL_VARIABLE, "").strip()
    if url:
        yield url
        return
    binaries = postgres.find_binaries()
    if binaries is None:
        raise SystemExit(f"error: no PostgreSQL server: {postgres.HOW_TO_RUN}")
    with postgres.throwaway_server(binaries) as started_url:
        yield started_url


async def drive_many(
    base_urls: list[str], prefix: str, requests: int, concurrency: int
) -> LoadResult:
    """Split `requests` and `concurrency` evenly over `base_urls`, all at once."""
    count = len(base_urls)
    runs = [
        drive(
            base_url,
            f"{prefix}{index}",
            requests // count,
            max(concurrency // count, 1),
        )
        for index, base_url in enumerate(base_urls)
    ]
    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(*runs)
    seconds = asyncio.get_running_loop().time() - started
    latencies = [value for result in results for value in result.latencies]
    p50, p99 = percentiles_ms(latencies)
    return LoadResult(
        requests=sum(result.requests for result in results),
        seconds=seconds,
        p50_ms=p50,
        p99_ms=p99,
        success_count=sum(result.success_count for result in results),
        failure_count=sum(result.failure_count for result in results),
        latencies=latencies,
    )


def measure(
    envs: list[dict[str, str]], requests: int, concurrency: int
) -> tuple[LoadResult, LoadResult]:
    """Start one receiver per environment; return the warmup and measured runs."""
    with ExitStack() as stack:
        receivers = [
            stack.enter_context(running_receiver(PACKAGE, env)) for env in envs
        ]
        urls = [receiver.base_url for receiver in receivers]
        warmup = asyncio.run(drive_many(urls, "W", WARMUP_REQUESTS, concurrency))
        measured = asyncio.run(drive_many(urls, "L", requests, concurrency))
    return warmup, measured


def count_postgres_rows(url: str) -> int:
    with psycopg.connect(url) as connection:
        found = connection.execute("SELECT COUNT(*) FROM messages").fetchone()
    assert found is not None
    return int(found[0])


def count_sqlite_rows(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        (count,) = connection.execute("SELECT COUNT(*) FROM messages").fetchone()
    finally:
        connection.close()
    return int(count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=3000,
        help="measured requests per configuration, each a distinct lead (default 3000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="requests in flight at once, over all instances (default 64)",
    )
    args = parser.parse_args()
    if args.requests < 4 or args.concurrency < 2:
        parser.error("--requests must be at least 4 and --concurrency at least 2")
    # Two instances get half each, so an odd count would lose a request.
    requests = args.requests - args.requests % 2

    print(
        f"{requests} requests after {WARMUP_REQUESTS} warmup requests, "
        f"concurrency {args.concurrency}, Python {sys.version.split()[0]}"
    )
    base = {"RECEIVER_API_KEYS": API_KEY, "RECEIVER_HANDLER": ""}
    results: list[tuple[str, LoadResult, LoadResult, int]] = []
    with tempfile.TemporaryDirectory(prefix="receiver-bench-") as folder:
        db_path = Path(folder) / "inbox.sqlite3"
        env = {**base, "RECEIVER_DB_PATH": str(db_path)}
        warmup, measured = measure([env], requests, args.concurrency)
        results.append(("sqlite", warmup, measured, count_sqlite_rows(db_path)))

    with postgres_server() as server_url:
        for name, instances in (("pg x1", 1), ("pg x2", 2)):
            with postgres.fresh_schema(server_url) as url:
                env = {**base, "RECEIVER_DATABASE_URL": url}
                warmup, measured = measure(
                    [env] * instances, requests, args.concurrency
                )
                results.append((name, warmup, measured, count_postgres_rows(url)))

    status = 0
    for name, warmup, measured, rows in results:
        print_result(name, measured)
        successes = warmup.success_count + measured.success_count
        failed = warmup.failure_count + measured.failure_count
        if failed:
            print(f"error: {name}: {failed} requests failed or got a non-2xx status")
            status = 1
        if successes != rows:
            print(f"error: {name}: {successes} 2xx responses but {rows} rows")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
