"""Command line: `send` posts one message, `simulate` posts many fake ones.

Both read credentials from flags or from the receiver's own variables (the
first entry of each scheme's variable, RECEIVER_SIGNING_SECRET), so on a
machine set up for `serve` they work without flags. httpx is imported only
when one of them runs.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any, Final
from urllib.parse import urlsplit

from .settings import ConfigurationError, signature_algorithm_from_env
from .spec import SecuritySchemeSpec

SENDER_COMMANDS: Final = ("send", "simulate")
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
DEFAULT_COUNT: Final = 10
DEFAULT_CONCURRENCY: Final = 4


def add_sender_commands(commands: Any) -> None:
    """Add `send` and `simulate` to the subcommands of the package's parser."""
    send = commands.add_parser(
        "send",
        help="post one message to a receiver and print the response",
        description="Post one message, read as JSON from --file or stdin, with "
        "the credentials and signature the spec requires.",
    )
    send.add_argument("message", help="message name, such as BuyerLead or buyer_lead")
    send.add_argument(
        "--file", type=Path, help="JSON payload to send (default: read stdin)"
    )
    send.add_argument(
        "--no-validate",
        action="store_true",
        help="send the payload even if the model rejects it",
    )
    _add_connection_options(send)

    simulate = commands.add_parser(
        "simulate",
        help="post realistic fake messages and print the count of each status",
        description="Post schema-valid fake messages built from the spec's "
        "examples. Exits 1 when any request fails or gets a non-2xx answer.",
    )
    simulate.add_argument(
        "--count",
        type=_positive_int,
        default=DEFAULT_COUNT,
        help=f"number of messages (default: {DEFAULT_COUNT})",
    )
    simulate.add_argument(
        "--rate",
        type=_non_negative_float,
        default=0.0,
        help="messages per second; 0 sends as fast as possible (default: 0)",
    )
    simulate.add_argument(
        "--message",
        help="send only this message (default: every message in turn)",
    )
    simulate.add_argument(
        "--concurrency",
        type=_positive_int,
        default=DEFAULT_CONCURRENCY,
        help=f"requests in flight at once (default: {DEFAULT_CONCURRENCY})",
    )
    simulate.add_argument(
        "--seed",
        type=int,
        help="seed of the fake values; the same seed sends the same messages "
        "(default: a random seed, printed to stderr)",
    )
    _add_connection_options(simulate)


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        required=True,
        help="base URL of the receiver, such as http://127.0.0.1:8000",
    )
    parser.add_argument(
        "--api-key",
        help="credential for every security scheme of the route: an API key, a "
        "bearer token or user:password for basic (default: the first entry of "
        "each scheme's receiver variable)",
    )
    parser.add_argument(
        "--credential",
        action="append",
        default=[],
        metavar="SCHEME=VALUE",
        help="credential for one security scheme, by its key in the spec; repeatable",
    )
    parser.add_argument(
        "--signing-secret",
        help="HMAC-SHA256 key for the signature header (default: "
        "RECEIVER_SIGNING_SECRET; without either, no signature is sent)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=10.0,
        help="seconds to wait for each response (default: 10)",
    )


def run_sender_command(args: argparse.Namespace, package: str) -> int:
    """Run `send` or `simulate` with the package's generated sender module."""
    module = importlib.import_module(f"{package}.sender")
    message = getattr(args, "message", None)
    names = _message_names(module)
    if message is not None and message not in names:
        choices = ", ".join(sorted(names))
        print(
            f"error: unknown message {message!r}; use one of {choices}", file=sys.stderr
        )
        return EXIT_USAGE

    problem = url_problem(args.url)
    if problem is not None:
        print(
            f"error: invalid --url {args.url!r}: {problem}; give the receiver's "
            "base URL, such as http://127.0.0.1:8000",
            file=sys.stderr,
        )
        return EXIT_USAGE

    # The receiver's own variables, so that both sides sign the same way.
    try:
        credentials = _credentials(args, module.SECURITY_SCHEMES, os.environ)
        algorithm = signature_algorithm_from_env(os.environ)
    except (ValueError, ConfigurationError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    secret = args.signing_secret or os.environ.get("RECEIVER_SIGNING_SECRET") or None
    header = os.environ.get("RECEIVER_SIGNATURE_HEADER", "").strip() or None
    options = {
        "credentials": credentials,
        "signing_secret": secret,
        "signature_header": header,
        "signature_algorithm": algorithm,
    }

    key = names[message] if message is not None else None
    if args.command == "send":
        assert key is not None
        return _send(args, module, key, options)
    return _simulate(args, module, key, options)


def url_problem(url: str) -> str | None:
    """Return why `url` cannot be a receiver's base URL, or None when it can.

    Checked before anything is sent, because httpx raises on a bad URL only
    when the first request is built.
    """
    import httpx

    if any(character.isspace() or not character.isprintable() for character in url):
        return "it contains white space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as error:
        return str(error) or type(error).__name__
    if parts.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if not parsed.host or not parts.hostname:
        return "the host is missing"
    if port == 0:
        return "the port must be between 1 and 65535"
    return None


def _message_names(module: ModuleType) -> dict[str, str]:
    """Map each accepted spelling of a message name to its DESTINATIONS key."""
    names: dict[str, str] = {}
    for key, destination in module.DESTINATIONS.items():
        names[key] = key
        names[destination.message] = key
    return names


def _credentials(
    args: argparse.Namespace,
    schemes: tuple[SecuritySchemeSpec, ...],
    environ: Mapping[str, str],
) -> dict[str, str]:
    from .sender import credentials_from_env

    values = credentials_from_env(environ, schemes)
    if args.api_key is not None:
        values = {scheme.key: args.api_key for scheme in schemes}
    known = {scheme.key for scheme in schemes}
    for entry in args.credential:
        scheme_key, separator, value = entry.partition("=")
        if not separator or scheme_key not in known:
            raise ValueError(
                f"invalid --credential {scheme_key!r}: expected SCHEME=VALUE with "
                f"SCHEME one of {', '.join(sorted(known)) or '(none)'}"
            )
        values[scheme_key] = value
    return values


def _send(
    args: argparse.Namespace, module: ModuleType, key: str, options: dict[str, Any]
) -> int:
    import httpx
    from pydantic import ValidationError

    try:
        body = args.file.read_bytes() if args.file else sys.stdin.buffer.read()
    except OSError as error:
        print(f"error: cannot read the payload: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not args.no_validate:
        try:
            module.MODELS[key].model_validate_json(body)
        except ValidationError as error:
            print(f"error: the payload is not a valid {key}:\n{error}", file=sys.stderr)
            return EXIT_USAGE
    try:
        response = module.send_body(
            args.url, key, body, timeout=args.timeout, **options
        )
    except httpx.HTTPError as error:
        print(f"error: sending to {args.url} failed: {error!r}", file=sys.stderr)
        return EXIT_FAILURE
    print(response.status_code)
    print(response.text)
    return EXIT_OK if response.is_success else EXIT_FAILURE


def _simulate(
    args: argparse.Namespace,
    module: ModuleType,
    only: str | None,
    options: dict[str, Any],
) -> int:
    import httpx

    seed = args.seed
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
        print(f"seed: {seed}", file=sys.stderr)
    keys = [only] if only else sorted(module.DESTINATIONS)
    try:
        bodies = fake_bodies(module, keys, count=args.count, seed=seed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE

    interval = 1.0 / args.rate if args.rate > 0 else 0.0
    start = time.monotonic()
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=args.concurrency)
    with httpx.Client(base_url=args.url, timeout=args.timeout, limits=limits) as client:

        def post(index: int) -> None:
            delay = start + index * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            key, body = bodies[index]
            try:
                outcome = str(
                    module.send_body(client, key, body, **options).status_code
                )
            except httpx.HTTPError as error:
                outcome = f"error ({type(error).__name__})"
            with lock:
                counts[outcome] += 1

        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(post, range(len(bodies))))
    for outcome, count in sorted(counts.items()):
        print(f"{outcome}: {count}")
    failed = sum(
        count for outcome, count in counts.items() if not outcome.startswith("2")
    )
    return EXIT_FAILURE if failed else EXIT_OK


def fake_bodies(
    module: ModuleType, keys: list[str], *, count: int, seed: int
) -> list[tuple[str, bytes]]:
    """Return `count` encoded fake payloads, taking the messages in `keys` in turn.

    The same seed gives the same bodies. The idempotency field of the i-th
    payload, if it has one, is "sim-<seed>-<i>", so no two are redeliveries.
    """
    from .fake import FakeMessages

    schema_path = Path(str(module.__file__)).parent / "schema.json"
    fakes = FakeMessages(
        json.loads(schema_path.read_text(encoding="utf-8")),
        classes=module.SCHEMA_CLASSES,
        seeds=module.SEED_PAYLOADS,
        idempotency_fields=module.IDEMPOTENCY_FIELDS,
    )
    bodies: list[tuple[str, bytes]] = []
    for index in range(count):
        key = keys[index % len(keys)]
        # A string seed gives each message its own stream of values that does
        # not depend on the interpreter's hash seed.
        rng = random.Random(f"{seed}:{index}")
        payload = fakes.make(key, f"sim-{seed}-{index}", rng)
        bodies.append((key, json.dumps(payload).encode("utf-8")))
    return bodies


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of 0 or more, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of seconds, got {text}"
        )
    return value
