"""Operator commands for a running projector: `python -m query_service.projector.admin ...`.

    status                                  checkpoint, last rebuild, parked changes
    rebuild [--no-wait] [--timeout S]       ask the running projector to rebuild; follow progress
    dead-letters list [--limit N]           parked changes with their errors
    dead-letters replay (ID | --all)        ask the running projector to apply them again
    dead-letters discard (ID | --all)       drop them for good

They talk to MongoDB (MONGODB_URI) and never write read models: the running projector is their only
writer, so requests are left for it to serve between batches. In Kubernetes:
`kubectl exec deploy/microblog-projector -- python -m query_service.projector.admin rebuild`.
"""

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from query_service.projector import control, dead_letters
from query_service.projector.checkpoints import load_checkpoint
from service_kit.mongo import Database, connect
from service_kit.settings import get_settings

Print = Callable[[str], None]
POLL_SECONDS = 1.0


async def status(database: Database, out: Print) -> int:
    checkpoint = await load_checkpoint(database)
    if checkpoint is None:
        out("checkpoint: none (the projector has not finished a first rebuild)")
    else:
        out(f"checkpoint: cluster time {checkpoint.cluster_time}")
    report = await control.rebuild_report(database)
    if report is not None:
        out(f"last rebuild: {_describe(report)}")
    parked = await dead_letters.list_parked(database, limit=1000)
    out(f"parked changes: {len(parked)}")
    return 0


async def rebuild(database: Database, out: Print, *, wait_seconds: float | None) -> int:
    """File a rebuild request and, unless `wait_seconds` is None, print progress until it ends."""
    requested_at = await control.request_rebuild(database)
    out("rebuild requested; the running projector starts it between batches")
    if wait_seconds is None:
        return 0
    last_line = ""
    async with asyncio.timeout(wait_seconds):
        while True:
            report = await control.rebuild_report(database)
            if report is not None and report.state != "requested":
                line = _describe(report)
                if line != last_line:
                    out(line)
                    last_line = line
                if _finished_since(report, requested_at):
                    return 0 if report.state == "done" else 1
            await asyncio.sleep(POLL_SECONDS)


async def list_dead_letters(database: Database, out: Print, *, limit: int) -> int:
    parked = await dead_letters.list_parked(database, limit=limit)
    for letter in parked:
        change = letter["change"]
        out(
            f"{letter['_id']}  {letter['parked_at']:%Y-%m-%d %H:%M:%S}  "
            f"{change['operationType']} {change.get('ns', {}).get('coll')} "
            f"{change.get('documentKey')}  after {letter['attempts']} attempts: {letter['error']}"
            + ("  [replay requested]" if letter.get("replay_requested") else "")
        )
    out(f"{len(parked)} parked change(s)")
    return 0


async def replay_dead_letters(database: Database, out: Print, letter_id: str | None) -> int:
    count = await dead_letters.request_replay(database, letter_id)
    out(f"replay requested for {count} parked change(s); the running projector applies them")
    return 0 if count or letter_id is None else 1


async def discard_dead_letters(database: Database, out: Print, letter_id: str | None) -> int:
    count = await dead_letters.discard(database, letter_id)
    out(f"discarded {count} parked change(s)")
    return 0 if count or letter_id is None else 1


def _describe(report: control.RebuildReport) -> str:
    progress = f" ({report.replayed} of {report.total} documents)" if report.total else ""
    error = f": {report.error}" if report.error else ""
    return f"{report.state}, {report.stage}{progress}, because {report.reason}{error}"


def _finished_since(report: control.RebuildReport, requested_at: datetime) -> bool:
    return (
        report.state in ("done", "failed")
        and report.finished_at is not None
        and report.finished_at >= requested_at
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m query_service.projector.admin")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="checkpoint, last rebuild, parked changes")
    rebuild_parser = commands.add_parser("rebuild", help="rebuild the read models under traffic")
    rebuild_parser.add_argument("--no-wait", action="store_true", help="only file the request")
    rebuild_parser.add_argument("--timeout", type=float, default=3600.0, metavar="SECONDS")
    letters = commands.add_parser("dead-letters", help="changes the projector parked")
    actions = letters.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list")
    listing.add_argument("--limit", type=int, default=100)
    for action in ("replay", "discard"):
        chosen = actions.add_parser(action).add_mutually_exclusive_group(required=True)
        chosen.add_argument("id", nargs="?", help="a parked change's id (see list)")
        chosen.add_argument("--all", action="store_true")
    return parser


async def run_command(database: Database, argv: Sequence[str], out: Print = print) -> int:
    args = _parser().parse_args(argv)
    if args.command == "status":
        return await status(database, out)
    if args.command == "rebuild":
        return await rebuild(database, out, wait_seconds=None if args.no_wait else args.timeout)
    if args.action == "list":
        return await list_dead_letters(database, out, limit=args.limit)
    letter_id = None if args.all else args.id
    if args.action == "replay":
        return await replay_dead_letters(database, out, letter_id)
    return await discard_dead_letters(database, out, letter_id)


async def _main(argv: Sequence[str]) -> int:
    settings = get_settings()
    if settings.embedded:
        print(
            "microblog admin: MONGODB_URI is unset. The embedded store lives inside the `make run` "
            "process and cannot be reached from here; these commands are for a projector running "
            "on MongoDB.",
            file=sys.stderr,
        )
        return 2
    connection = connect(settings)
    try:
        return await run_command(connection.read_database, argv)
    finally:
        await connection.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1:])))
