"""Measure the generated Realtor receiver against a bare Starlette baseline.

Both servers run as uvicorn subprocesses on 127.0.0.1, and this process sends
the same number of distinct valid buyer leads to each with httpx and asyncio.
The receiver runs without a handler, so its rows stay pending and no worker
competes for the CPU. The baseline reads the body and returns an empty 200.

Prints requests per second and p50 and p99 latency for both, and the count of
2xx responses of the receiver next to its inbox rows. Exits 1 when the two
counts differ or when any request failed or got a non-2xx status.

NOTE: the load generator is one Python process. At high concurrency on few CPUs
it can be the bottleneck, and both servers then show the same throughput.

Run from the repository root: .venv/bin/python bench/receiver.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "generated"))

from realtor_connections_plus.runtime.testing import running_receiver  # noqa: E402

PACKAGE = "realtor_connections_plus"
HOST = "127.0.0.1"
API_KEY = "bench-key"
WARMUP_REQUESTS = 200
START_TIMEOUT_SECONDS = 20.0
REQUEST_TIMEOUT_SECONDS = 30.0

BASELINE_SOURCE = """
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route


async def accept(request):
    await request.body()
    return Response(status_code=200)


async def health(request):
    return Response(status_code=200)


app = Starlette(
    routes=[
        Route("/lead", accept, methods=["POST"]),
        Route("/_health", health, methods=["GET"]),
    ]
)
uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), log_level="warning")
"""


@dataclass
class LoadResult:
    """Outcome of one load run against one server."""

    requests: int
    seconds: float
    latencies: list[float]
    """Latency of each completed request, in seconds."""
    success_count: int
    """Responses with a 2xx status."""
    failure_count: int
    """Responses with another status, and requests without a response."""

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    def latency_ms(self, percentile: int) -> float:
        cut_points = statistics.quantiles(self.latencies, n=100, method="inclusive")
        return cut_points[percentile - 1] * 1000


def lead_body(lead_id: str) -> bytes:
    lead = {
        "lead_id": lead_id,
        "role": "buyer",
        "contact": {"email": "a@example.com"},
        "timestamp": "2026-12-04T10:15:00Z",
    }
    return json.dumps(lead).encode("utf-8")


async def drive(
    base_url: str, prefix: str, requests: int, concurrency: int
) -> LoadResult:
    """Post `requests` distinct leads from `concurrency` tasks and time them.

    Each task has its own client with one connection. One shared client with
    a pool of 64 connections sent fewer requests per second than one
    connection did on the benchmark machine, so the pool would have been
    measured instead of the server.
    """
    next_index = iter(range(requests))
    latencies: list[float] = []
    success_count = 0
    failure_count = 0
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    headers = {"X-API-Key": API_KEY, "Content-Type": "application/json"}

    async def send_until_done() -> None:
        nonlocal success_count, failure_count
        async with httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            limits=limits,
            timeout=REQUEST_TIMEOUT_SECONDS,
        ) as client:
            for index in next_index:
                body = lead_body(f"{prefix}-{index}")
                started = time.perf_counter()
                try:
                    response = await client.post("/lead", content=body)
                except httpx.TransportError:
                    failure_count += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if 200 <= response.status_code < 300:
                    success_count += 1
                else:
                    failure_count += 1

    started = time.perf_counter()
    await asyncio.gather(*(send_until_done() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return LoadResult(requests, seconds, latencies, success_count, failure_count)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_baseline() -> Iterator[str]:
    """Run the bare Starlette app under uvicorn and yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", BASELINE_SOURCE, HOST, str(port)],
        stdin=subprocess.DEVNULL,
    )
    base_url = f"http://{HOST}:{port}"
    try:
        wait_until_healthy(base_url, process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"baseline server exited with status {process.poll()}")
        try:
            if httpx.get(f"{base_url}/_health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"baseline server was not healthy in {START_TIMEOUT_SECONDS} s")


def count_inbox_rows(db_path: Path) -> int:
    connection = sqlite3.connect(db_path)
    try:
        (count,) = connection.execute("SELECT COUNT(*) FROM messages").fetchone()
    finally:
        connection.close()
    return int(count)


def run_load(
    base_url: str, requests: int, concurrency: int
) -> tuple[LoadResult, LoadResult]:
    """Send WARMUP_REQUESTS distinct leads, then the measured run. Returns both."""
    warmup = asyncio.run(drive(base_url, "W", WARMUP_REQUESTS, concurrency))
    measured = asyncio.run(drive(base_url, "L", requests, concurrency))
    return warmup, measured


def print_result(name: str, result: LoadResult) -> None:
    print(
        f"{name:<9} {result.requests_per_second:8.0f} req/s   "
        f"p50 {result.latency_ms(50):7.2f} ms   p99 {result.latency_ms(99):7.2f} ms   "
        f"2xx {result.success_count}/{result.requests}   "
        f"failed {result.failure_count}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=3000,
        help="measured requests per server, each a distinct lead (default 3000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="requests in flight at once (default 64)",
    )
    args = parser.parse_args()
    if args.requests < 2 or args.concurrency < 1:
        parser.error("--requests must be at least 2 and --concurrency at least 1")

    print(
        f"{args.requests} requests after {WARMUP_REQUESTS} warmup requests, "
        f"concurrency {args.concurrency}, Python {sys.version.split()[0]}"
    )
    with running_baseline() as base_url:
        baseline_warmup, baseline = run_load(base_url, args.requests, args.concurrency)

    with tempfile.TemporaryDirectory(prefix="receiver-bench-") as folder:
        env = {
            "RECEIVER_API_KEYS": API_KEY,
            "RECEIVER_DB_PATH": str(Path(folder) / "inbox.sqlite3"),
            "RECEIVER_HANDLER": "",
        }
        with running_receiver(PACKAGE, env) as receiver:
            warmup, result = run_load(
                receiver.base_url, args.requests, args.concurrency
            )
        inbox_rows = count_inbox_rows(receiver.db_path)

    print_result("baseline", baseline)
    print_result("receiver", result)
    print(
        f"receiver/baseline: throughput "
        f"{result.requests_per_second / baseline.requests_per_second:.2f}x, "
        f"p50 {result.latency_ms(50) / baseline.latency_ms(50):.2f}x, "
        f"p99 {result.latency_ms(99) / baseline.latency_ms(99):.2f}x"
    )
    receiver_successes = result.success_count + warmup.success_count
    print(
        f"receiver 2xx responses (warmup included): {receiver_successes}, "
        f"inbox rows: {inbox_rows}"
    )

    failed = sum(
        run.failure_count for run in (baseline_warmup, baseline, warmup, result)
    )
    if failed:
        print(f"error: {failed} requests failed or got a non-2xx status")
        return 1
    if receiver_successes != inbox_rows:
        print("error: the count of 2xx responses differs from the inbox rows")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
