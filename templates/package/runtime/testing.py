"""Test helper that runs the receiver as a real server process on 127.0.0.1.

Needs httpx, which only the tests install.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import httpx

from .settings import DEFAULT_DB_PATH

LOOPBACK_HOST: Final = "127.0.0.1"
START_TIMEOUT_SECONDS: Final = 20.0
STOP_TIMEOUT_SECONDS: Final = 15.0
POLL_INTERVAL_SECONDS: Final = 0.05


class ReceiverStartError(RuntimeError):
    """The receiver process exited or did not become healthy in time."""


@dataclass
class RunningReceiver:
    """A receiver process started by `running_receiver`."""

    base_url: str
    """URL of the server, such as "http://127.0.0.1:50123"."""
    db_path: Path
    """The server's inbox file (RECEIVER_DB_PATH)."""
    process: subprocess.Popen[bytes]
    output_file: IO[bytes]
    """Temporary file that collects the server's stdout and stderr (its log)."""
    final_output: str | None = None
    """Everything the server wrote, set when `running_receiver` has stopped it."""

    def output_text(self) -> str:
        """Return what the server wrote to stdout and stderr so far.

        After the server has stopped, this includes its shutdown log.
        """
        if self.final_output is not None:
            return self.final_output
        self.output_file.flush()
        return Path(self.output_file.name).read_text("utf-8", errors="replace")


@contextmanager
def running_receiver(package: str, env: Mapping[str, str]) -> Iterator[RunningReceiver]:
    """Run `python -m <package> serve` on a free local port until the block ends.

    `env` is merged over `os.environ`, and the folder that contains `package`
    in this process is put first on the PYTHONPATH of the server, so that a
    package found through pytest's `pythonpath` setting is found there too.
    Waits until GET /_health returns 200 and
    raises ReceiverStartError with the server's stderr when it does not within
    START_TIMEOUT_SECONDS. On exit the process gets SIGTERM, then SIGKILL after
    STOP_TIMEOUT_SECONDS. Uvicorn re-raises SIGTERM after its graceful shutdown,
    so a cleanly stopped server has return code -15.
    """
    port = _free_port()
    environment = {**os.environ, **env}
    import_root = _import_root(package)
    if import_root is not None:
        python_path = environment.get("PYTHONPATH", "")
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (import_root, python_path) if part
        )
    db_path = Path(environment.get("RECEIVER_DB_PATH", "") or DEFAULT_DB_PATH)
    command = [
        sys.executable,
        "-m",
        package,
        "serve",
        "--host",
        LOOPBACK_HOST,
        "--port",
        str(port),
    ]
    with tempfile.NamedTemporaryFile(prefix="receiver-", suffix=".log") as output_file:
        process = subprocess.Popen(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output_file,
            stderr=output_file,
        )
        receiver = RunningReceiver(
            base_url=f"http://{LOOPBACK_HOST}:{port}",
            db_path=db_path,
            process=process,
            output_file=output_file,
        )
        try:
            _wait_until_healthy(receiver)
            yield receiver
        finally:
            _stop(process)
            receiver.final_output = receiver.output_text()


def _import_root(package: str) -> str | None:
    """Return the folder that contains `package`, or None when it is not found."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    package_folder = Path(next(iter(spec.submodule_search_locations)))
    return str(package_folder.parent)


def _free_port() -> int:
    # NOTE: another process can take the port between this check and the server's
    # bind. The server then fails to start, and the error shows its stderr.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_healthy(receiver: RunningReceiver) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    with httpx.Client(base_url=receiver.base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            exit_code = receiver.process.poll()
            if exit_code is not None:
                raise ReceiverStartError(
                    f"receiver exited with status {exit_code} before it was "
                    f"healthy. Its output:\n{receiver.output_text()}"
                )
            try:
                if client.get("/_health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(POLL_INTERVAL_SECONDS)
    raise ReceiverStartError(
        f"receiver was not healthy within {START_TIMEOUT_SECONDS:.0f} s. "
        f"Its output:\n{receiver.output_text()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
