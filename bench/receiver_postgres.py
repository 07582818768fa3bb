"""Measure receiver throughput with a PostgreSQL inbox, one and two instances.

Runs four configurations one after the other, each on a fresh inbox and with
no handler, so stored rows stay pending and no worker competes for the CPU:

- **baseline**: the bare Starlette endpoint of `bench/receiver.py`, which
  reads the body and returns 200, as the ceiling of the server stack;
- **sqlite**: one receiver with its default SQLite inbox, for comparison;
- **pg x1**: one receiver with RECEIVER_DATABASE_URL;
- **pg x2**: two receivers on two ports sharing one PostgreSQL schema, with
  half of the concurrent senders posting to each.

The PostgreSQL server is the one ASYNCAPI_GEN_TEST_POSTGRES_URL names, or a
throwaway one started as the tests do. The load comes from wrk when it is
installed (one wrk process per instance, run at the same time, with the
connections split between them), else from the Python client. Prints
requests per second and p50 and p99 latency per configuration; with two
instances the higher of the two p50 and p99 values. Exits 1 when any request
failed or the stored rows do not match the 2xx count, allowing for requests
that a timed wrk run cut off at its end.

NOTE: the load generator, the receivers and the database server share the
machine's CPUs, so on few cores the second instance mostly adds contention.

Run from the repository root: .venv/bin/python bench/receiver_postgres.py
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
    add_load_arguments,
    drive,
    drive_wrk,
    percentiles_ms,
    print_result,
    running_baseline,
)

from tests import postgres  # noqa: E402

PACKAGE = "realtor_connections_plus"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of the configured server, or of a throwaway one."""
    with postgres.server_url() as url:
        if url is None:
            raise SystemExit(f"error: no PostgreSQL server: {postgres.HOW_TO_RUN}")
        yield url


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


def wrk_many(base_urls: list[str], seconds: int, concurrency: int) -> LoadResult:
    """Run one wrk per URL at once, the connections split evenly between them."""
    share = max(concurrency // len(base_urls), 1)
    with ThreadPoolExecutor(len(base_urls)) as pool:
        runs = list(
            pool.map(
                lambda pair: drive_wrk(pair[1], f"L{pair[0]}", seconds, share, 1),
                enumerate(base_urls),
            )
        )
    return LoadResult(
        requests=sum(run.requests for run in runs),
        seconds=max(run.seconds for run in runs),
        p50_ms=max(run.p50_ms for run in runs),
        p99_ms=max(run.p99_ms for run in runs),
        success_count=sum(run.success_count for run in runs),
        failure_count=sum(run.failure_count for run in runs),
        cut_off_count=sum(run.cut_off_count for run in runs),
    )


def load(urls: list[str], args: argparse.Namespace) -> tuple[LoadResult, LoadResult]:
    """Return the warmup and the measured run against `urls`."""
    warmup = asyncio.run(drive_many(urls, "W", WARMUP_REQUESTS, args.concurrency))
    if args.load == "wrk":
        measured = wrk_many(urls, args.seconds, args.concurrency)
    else:
        measured = asyncio.run(drive_many(urls, "L", args.requests, args.concurrency))
    return warmup, measured


def measure(
    envs: list[dict[str, str]], args: argparse.Namespace
) -> tuple[LoadResult, LoadResult]:
    """Start one receiver per environment; return the warmup and measured runs."""
    with ExitStack() as stack:
        receivers = [
            stack.enter_context(running_receiver(PACKAGE, env)) for env in envs
        ]
        return load([receiver.base_url for receiver in receivers], args)


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
    add_load_arguments(parser, "configuration")
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
    if args.load == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed: apt-get install wrk, or --load python")
    # Two instances get half each, so an odd count would lose a request.
    args.requests -= args.requests % 2

    amount = (
        f"{args.seconds} s of wrk"
        if args.load == "wrk"
        else f"{args.requests} requests from Python"
    )
    print(
        f"{amount} after {WARMUP_REQUESTS} warmup requests, "
        f"concurrency {args.concurrency}, Python {sys.version.split()[0]}"
    )
    with running_baseline() as base_url:
        baseline_warmup, baseline = load([base_url], args)
    base = {"RECEIVER_API_KEYS": API_KEY, "RECEIVER_HANDLER": ""}
    results: list[tuple[str, LoadResult, LoadResult, int]] = []
    with tempfile.TemporaryDirectory(prefix="receiver-bench-") as folder:
        db_path = Path(folder) / "inbox.sqlite3"
        env = {**base, "RECEIVER_DB_PATH": str(db_path)}
        warmup, measured = measure([env], args)
        results.append(("sqlite", warmup, measured, count_sqlite_rows(db_path)))

    with postgres_server() as server_url:
        for name, instances in (("pg x1", 1), ("pg x2", 2)):
            with postgres.fresh_schema(server_url) as url:
                env = {**base, "RECEIVER_DATABASE_URL": url}
                warmup, measured = measure([env] * instances, args)
                results.append((name, warmup, measured, count_postgres_rows(url)))

    print_result("baseline", baseline)
    status = 0
    if baseline.failure_count or baseline_warmup.failure_count:
        print("error: baseline: requests failed or got a non-2xx status")
        status = 1
    for name, warmup, measured, rows in results:
        print_result(name, measured)
        successes = warmup.success_count + measured.success_count
        failed = warmup.failure_count + measured.failure_count
        if failed:
            print(f"error: {name}: {failed} requests failed or got a non-2xx status")
            status = 1
        # A request cut off at the end of a timed run may be stored unanswered.
        if not 0 <= rows - successes <= measured.cut_off_count:
            print(
                f"error: {name}: {successes} 2xx responses, "
                f"{measured.cut_off_count} cut off, but {rows} rows"
            )
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
