"""Measure the generated Realtor receiver against a bare Starlette baseline.

Both servers run as uvicorn subprocesses on 127.0.0.1 and get distinct valid
buyer leads. The receiver runs without a handler, so its rows stay pending and
no worker competes for the CPU. The baseline reads the body and returns an
empty 200.

The load comes from wrk, a load generator written in C, when it is installed
(Debian package `wrk`): it sends for a fixed time, with a Lua script that
gives every request its own lead_id. Without wrk, or with `--load python`,
this process sends a fixed number of requests with httpx and asyncio. At high
concurrency on few CPUs that Python client is the bottleneck, so both servers
then show about the same throughput.

Prints requests per second and p50 and p99 latency for both, and the count of
2xx responses of the receiver next to its inbox rows. Exits 1 when the two
counts differ or when any request failed or got a non-2xx status.

Run from the repository root: .venv/bin/python bench/receiver.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    p50_ms: float
    p99_ms: float
    success_count: int
    """Responses with a 2xx status."""
    failure_count: int
    """Responses with another status, and requests without a response."""
    cut_off_count: int = 0
    """Requests still in flight when a timed run ended: sent, but their
    responses were never read. The server may have stored them."""
    latencies: list[float] = field(default_factory=list)
    """Latency of each request in seconds, from the Python load generator."""

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds


def percentiles_ms(latencies: list[float]) -> tuple[float, float]:
    """Return p50 and p99 of latencies given in seconds, in milliseconds."""
    cut_points = statistics.quantiles(latencies, n=100, method="inclusive")
    return cut_points[49] * 1000, cut_points[98] * 1000


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
    p50, p99 = percentiles_ms(latencies)
    return LoadResult(
        requests, seconds, p50, p99, success_count, failure_count, 0, latencies
    )


# wrk runs one Lua state per thread. Each thread numbers its own requests, and
# `done` adds up the status counts that the threads kept.
WRK_SCRIPT = """
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1]
  counter = 0
  successes = 0
  failures = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-API-Key"] = args[2]
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"lead_id":"%s-%d-%d","role":"buyer","contact":{"email":"a@example.com"},'
    .. '"timestamp":"2026-12-04T10:15:00Z"}', prefix, id, counter)
  return wrk.format(nil, "/lead", nil, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    successes = successes + 1
  else
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local successes, failures, sent = 0, 0, 0
  for _, thread in ipairs(threads) do
    successes = successes + thread:get("successes")
    failures = failures + thread:get("failures")
    sent = sent + thread:get("counter")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"microseconds":%d,"p50_us":%d,"p99_us":%d,'
    .. '"successes":%d,"failures":%d,"sent":%d,"socket_errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), successes, failures, sent,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def drive_wrk(
    base_url: str, prefix: str, seconds: int, concurrency: int, threads: int
) -> LoadResult:
    """Post distinct leads with wrk for `seconds`, `concurrency` connections."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        completed = subprocess.run(
            [
                "wrk",
                f"--threads={min(threads, concurrency)}",
                f"--connections={concurrency}",
                f"--duration={seconds}s",
                f"--timeout={REQUEST_TIMEOUT_SECONDS:.0f}s",
                f"--script={script.name}",
                base_url,
                "--",
                prefix,
                API_KEY,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    lines = [row for row in completed.stdout.splitlines() if row.startswith("WRK_")]
    if not lines:
        raise RuntimeError(f"wrk printed no result:\n{completed.stderr}")
    result = json.loads(lines[0].removeprefix("WRK_RESULT "))
    responses = result["successes"] + result["failures"]
    return LoadResult(
        requests=result["requests"],
        seconds=result["microseconds"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        success_count=result["successes"],
        failure_count=result["failures"] + result["socket_errors"],
        cut_off_count=max(result["sent"] - responses, 0),
    )


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


def run_load(base_url: str, args: argparse.Namespace) -> tuple[LoadResult, LoadResult]:
    """Send WARMUP_REQUESTS distinct leads, then the measured run. Returns both."""
    warmup = asyncio.run(drive(base_url, "W", WARMUP_REQUESTS, args.concurrency))
    if args.load == "wrk":
        measured = drive_wrk(
            base_url, "L", args.seconds, args.concurrency, args.wrk_threads
        )
    else:
        measured = asyncio.run(drive(base_url, "L", args.requests, args.concurrency))
    return warmup, measured


def print_result(name: str, result: LoadResult) -> None:
    print(
        f"{name:<9} {result.requests_per_second:8.0f} req/s   "
        f"p50 {result.p50_ms:7.2f} ms   p99 {result.p99_ms:7.2f} ms   "
        f"2xx {result.success_count}/{result.requests}   "
        f"failed {result.failure_count}"
    )


def add_load_arguments(parser: argparse.ArgumentParser, unit: str) -> None:
    """Add the options that choose the load generator and its length."""
    parser.add_argument(
        "--load",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="load generator (default: wrk when installed, else python)",
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=10,
        help=f"length of a wrk run per {unit} (default 10)",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_arguments(parser, "server")
    parser.add_argument(
        "--wrk-threads",
        type=int,
        default=1,
        help="wrk threads; each takes a CPU from the servers (default 1)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=3000,
        help="measured requests per server with --load python, each a distinct "
        "lead (default 3000)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=64,
        help="requests in flight at once (default 64)",
    )
    args = parser.parse_args()
    if args.requests < 2 or args.concurrency < 1 or args.seconds < 1:
        parser.error(
            "--requests must be at least 2, --concurrency and --seconds at least 1"
        )
    if args.load == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed: apt-get install wrk, or --load python")

    amount = (
        f"{args.seconds} s of wrk with {args.wrk_threads} thread(s)"
        if args.load == "wrk"
        else f"{args.requests} requests from Python"
    )
    print(
        f"{amount} after {WARMUP_REQUESTS} warmup requests, "
        f"concurrency {args.concurrency}, Python {sys.version.split()[0]}"
    )
    with running_baseline() as base_url:
        baseline_warmup, baseline = run_load(base_url, args)

    with tempfile.TemporaryDirectory(prefix="receiver-bench-") as folder:
        env = {
            "RECEIVER_API_KEYS": API_KEY,
            "RECEIVER_DB_PATH": str(Path(folder) / "inbox.sqlite3"),
            "RECEIVER_HANDLER": "",
        }
        with running_receiver(PACKAGE, env) as receiver:
            warmup, result = run_load(receiver.base_url, args)
        inbox_rows = count_inbox_rows(receiver.db_path)

    print_result("baseline", baseline)
    print_result("receiver", result)
    print(
        f"receiver/baseline: throughput "
        f"{result.requests_per_second / baseline.requests_per_second:.2f}x, "
        f"p50 {result.p50_ms / baseline.p50_ms:.2f}x, "
        f"p99 {result.p99_ms / baseline.p99_ms:.2f}x"
    )
    receiver_successes = result.success_count + warmup.success_count
    print(
        f"receiver 2xx responses (warmup included): {receiver_successes}, "
        f"inbox rows: {inbox_rows}, requests cut off by the end of the run: "
        f"{result.cut_off_count}"
    )

    failed = sum(
        run.failure_count for run in (baseline_warmup, baseline, warmup, result)
    )
    if failed:
        print(f"error: {failed} requests failed or got a non-2xx status")
        return 1
    # Every 2xx must be a row. A request cut off at the end of a timed run may
    # have been stored without its 2xx being read, as a sender's timeout would.
    extra_rows = inbox_rows - receiver_successes
    if not 0 <= extra_rows <= result.cut_off_count:
        print(
            f"error: {inbox_rows} inbox rows for {receiver_successes} 2xx responses "
            f"and {result.cut_off_count} requests cut off"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
