"""Command line: `serve` runs the receiver, `migrate` prepares its database, and
`inbox ...` inspects and retries rows.

`send` and `simulate` post messages to a receiver; see `send_cli`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from contextlib import closing
from typing import Final

from .app import create_receiver
from .logs import configure_logging
from .send_cli import SENDER_COMMANDS, add_sender_commands, run_sender_command
from .settings import (
    LOG_FORMATS,
    ConfigurationError,
    Settings,
    inbox_location_from_env,
)
from .spec import RouteSpec, SecuritySchemeSpec
from .store import (
    STATUSES,
    InboxNotFoundError,
    StorageError,
    StoreAdmin,
    migrate,
    open_admin,
    open_store,
    utc_now,
)

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
DEFAULT_LIST_LIMIT: Final = 50
GRACEFUL_SHUTDOWN_SECONDS: Final = 30
LOG_LEVELS: Final = ("critical", "error", "warning", "info", "debug")


def main(
    argv: Sequence[str] | None,
    *,
    package: str,
    routes: Sequence[RouteSpec],
    schemes: Sequence[SecuritySchemeSpec],
    signature_header: str | None,
) -> int:
    """Run the command line and return the exit status.

    `argv` defaults to `sys.argv[1:]`. Configuration errors print one line to
    stderr and return 2.
    """
    parser = _build_parser(package)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args, routes, schemes, signature_header)
    if args.command in SENDER_COMMANDS:
        return run_sender_command(args, package)
    try:
        location = inbox_location_from_env(os.environ)
        if args.command == "migrate":
            for line in migrate(location):
                print(line)
            return EXIT_OK
        with closing(open_admin(location)) as admin:
            return _run_inbox_command(args, admin)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (InboxNotFoundError, StorageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader (`| head`) went away; stop quietly, as Unix tools do, and
        # point stdout at /dev/null so the interpreter's final flush succeeds.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE


def _build_parser(package: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {package}",
        description="Webhook receiver that stores every accepted message in an "
        "inbox before acknowledging it: a SQLite file (RECEIVER_DB_PATH), or a "
        "PostgreSQL database shared by several instances (RECEIVER_DATABASE_URL).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP receiver")
    serve.add_argument("--host", help="address to bind (default: HOST or 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, help="TCP port to listen on (default: PORT or 8000)"
    )
    serve.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="info",
        help="minimum level of log messages (default: info)",
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="text lines, or one JSON object per line (default: "
        "RECEIVER_LOG_FORMAT or text)",
    )

    commands.add_parser(
        "migrate",
        help="create or upgrade the inbox schema (serve also does this on start)",
    )

    inbox_parser = commands.add_parser("inbox", help="inspect the stored messages")
    inbox_commands = inbox_parser.add_subparsers(dest="inbox_command", required=True)
    list_parser = inbox_commands.add_parser(
        "list",
        help="print rows newest first as tab-separated id, status, message, "
        "received_at, attempts",
    )
    list_parser.add_argument("--status", choices=STATUSES)
    list_parser.add_argument(
        "--limit",
        type=_positive_int,
        default=DEFAULT_LIST_LIMIT,
        help=f"maximum number of rows (default: {DEFAULT_LIST_LIMIT})",
    )
    show = inbox_commands.add_parser("show", help="print one row as JSON")
    show.add_argument("id", type=_row_id)
    retry = inbox_commands.add_parser(
        "retry", help="move a dead row back to pending with its attempts reset"
    )
    retry.add_argument("id", type=_row_id)
    inbox_commands.add_parser("stats", help="print the number of rows per status")
    purge = inbox_commands.add_parser(
        "purge", help="delete a done or dead row (pending rows are kept)"
    )
    purge.add_argument("id", type=_row_id)

    held = commands.add_parser(
        "quarantine", help="inspect authenticated bodies that were rejected"
    )
    held_commands = held.add_subparsers(dest="quarantine_command", required=True)
    held_list = held_commands.add_parser(
        "list",
        help="print rows newest first as tab-separated id, operation, "
        "received_at, status",
    )
    held_list.add_argument(
        "--limit",
        type=_positive_int,
        default=DEFAULT_LIST_LIMIT,
        help=f"maximum number of rows (default: {DEFAULT_LIST_LIMIT})",
    )
    held_show = held_commands.add_parser("show", help="print one row as JSON")
    held_show.add_argument("id", type=_row_id)
    held_purge = held_commands.add_parser("purge", help="delete one row")
    held_purge.add_argument("id", type=_row_id)
    add_sender_commands(commands)
    return parser


def _serve(
    args: argparse.Namespace,
    routes: Sequence[RouteSpec],
    schemes: Sequence[SecuritySchemeSpec],
    signature_header: str | None,
) -> int:
    # Imported here so that the inbox commands start without loading the server.
    import uvicorn

    try:
        settings = Settings.from_env(os.environ, schemes, signature_header)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(args.log_level, args.log_format or settings.log_format)
    try:
        app = create_receiver(routes, schemes, settings=settings)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        asyncio.run(_try_store(settings))
    except StorageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    # uvicorn's access log would print the query string, which can carry an API
    # key, so the receiver logs its own access lines (AccessLogMiddleware).
    # NOTE: uvicorn rejects requests that break HTTP framing, such as
    # "Content-Length: -1", with its own text/plain 400 before the receiver sees
    # them, so those responses are not problem+json.
    uvicorn.run(
        app,
        host=settings.host if args.host is None else args.host,
        port=settings.port if args.port is None else args.port,
        log_level=args.log_level,
        # uvicorn's records go to the root logger, in the configured format.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    return EXIT_OK


async def _try_store(settings: Settings) -> None:
    """Open and close the inbox once, to report an unusable store in one line.

    Otherwise the same failure would show as a start-up traceback of uvicorn.
    """
    store = open_store(
        settings.inbox_location,
        claim_timeout_seconds=settings.claim_timeout_seconds,
    )
    await store.open()
    await store.close()


def _run_quarantine_command(args: argparse.Namespace, admin: StoreAdmin) -> int:
    if args.quarantine_command == "list":
        for held in admin.list_quarantine(args.limit):
            fields = (
                held.id,
                held.operation_id,
                held.received_at,
                held.problem.get("status", ""),
            )
            print("\t".join(str(field) for field in fields))
        return EXIT_OK
    if args.quarantine_command == "show":
        found = admin.get_quarantine(args.id)
        if found is None:
            print(f"error: quarantine row {args.id} not found", file=sys.stderr)
            return EXIT_FAILURE
        print(json.dumps(found.to_json_object(), indent=2, ensure_ascii=False))
        return EXIT_OK
    if admin.purge_quarantine(args.id):
        print(f"quarantine row {args.id} deleted")
        return EXIT_OK
    print(f"error: quarantine row {args.id} not found", file=sys.stderr)
    return EXIT_FAILURE


def _run_inbox_command(args: argparse.Namespace, admin: StoreAdmin) -> int:
    if args.command == "quarantine":
        return _run_quarantine_command(args, admin)
    if args.inbox_command == "list":
        for row in admin.list_rows(status=args.status, limit=args.limit):
            fields = (row.id, row.status, row.message, row.received_at, row.attempts)
            print("\t".join(str(field) for field in fields))
        return EXIT_OK
    if args.inbox_command == "show":
        found = admin.get_row(args.id)
        if found is None:
            print(f"error: inbox row {args.id} not found", file=sys.stderr)
            return EXIT_FAILURE
        print(json.dumps(found.to_json_object(), indent=2, ensure_ascii=False))
        return EXIT_OK
    if args.inbox_command == "retry":
        return _retry(admin, args.id)
    if args.inbox_command == "purge":
        return _purge(admin, args.id)
    counts = admin.count_by_status()
    for status, count in counts.items():
        print(f"{status}\t{count}")
    print(f"total\t{sum(counts.values())}")
    return EXIT_OK


def _purge(admin: StoreAdmin, row_id: int) -> int:
    if admin.purge_finished(row_id):
        print(f"inbox row {row_id} deleted")
        return EXIT_OK
    found = admin.get_row(row_id)
    if found is None:
        print(f"error: inbox row {row_id} not found", file=sys.stderr)
    else:
        print(
            f"error: inbox row {row_id} is {found.status}; only done or dead rows "
            "can be purged",
            file=sys.stderr,
        )
    return EXIT_FAILURE


def _retry(admin: StoreAdmin, row_id: int) -> int:
    if admin.retry_dead(row_id, utc_now()):
        print(f"inbox row {row_id} is pending again")
        return EXIT_OK
    found = admin.get_row(row_id)
    if found is None:
        print(f"error: inbox row {row_id} not found", file=sys.stderr)
    else:
        print(
            f"error: inbox row {row_id} is {found.status}; only dead rows can be "
            "retried",
            file=sys.stderr,
        )
    return EXIT_FAILURE


MAX_ROW_ID: Final = 2**63 - 1
"""Largest row id that SQLite and PostgreSQL store (a signed 64-bit integer)."""


def _row_id(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_ROW_ID:
        raise argparse.ArgumentTypeError(f"no row has an id as large as {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value
