"""Operator requests to the running projector, and the rebuild's progress, as one MongoDB document.

The projector is the only writer of the read models, so an operator never rebuilds them from
outside: `admin rebuild` marks a request here, the running projector picks it up between batches,
rebuilds and reports each stage here, where the command follows it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from service_kit.clock import utc_now
from service_kit.mongo import Database

PROJECTOR_CONTROL: Final = "projector_control"
REBUILD_ID = "rebuild"


@dataclass(frozen=True)
class RebuildReport:
    state: str  # requested | running | done | failed
    stage: str
    replayed: int
    total: int
    reason: str
    error: str | None
    requested_at: datetime | None
    finished_at: datetime | None


async def request_rebuild(database: Database) -> datetime:
    requested_at = utc_now()
    await database[PROJECTOR_CONTROL].update_one(
        {"_id": REBUILD_ID},
        {"$set": {"state": "requested", "requested_at": requested_at, "error": None}},
        upsert=True,
    )
    return requested_at


async def rebuild_pending(database: Database) -> bool:
    """A rebuild an operator asked for, or one that a projector started and did not finish.

    Only one projector writes at a time, and one that is rebuilding does not ask, so "running"
    seen here means the previous projector died mid-rebuild: the request must not die with it.
    """
    found = await database[PROJECTOR_CONTROL].find_one(
        {"_id": REBUILD_ID, "state": {"$in": ["requested", "running"]}}
    )
    return found is not None


async def report_rebuild(database: Database, **fields: Any) -> None:
    if fields.get("state") in ("done", "failed"):
        fields["finished_at"] = utc_now()
    await database[PROJECTOR_CONTROL].update_one({"_id": REBUILD_ID}, {"$set": fields}, upsert=True)


async def rebuild_report(database: Database) -> RebuildReport | None:
    found = await database[PROJECTOR_CONTROL].find_one({"_id": REBUILD_ID})
    if found is None:
        return None
    return RebuildReport(
        state=found.get("state", ""),
        stage=found.get("stage", ""),
        replayed=int(found.get("replayed", 0)),
        total=int(found.get("total", 0)),
        reason=found.get("reason", ""),
        error=found.get("error"),
        requested_at=found.get("requested_at"),
        finished_at=found.get("finished_at"),
    )
