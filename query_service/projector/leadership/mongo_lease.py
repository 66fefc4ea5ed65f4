"""The lease as a document in MongoDB (`projector_leases`), for deployments outside Kubernetes.

`{_id: name, holder, duration_s, transitions, version, acquired_at, renewed_at}`. Each write is
one atomic conditional update on `version` (or an insert, when there is no document yet, where
a concurrent insert fails on the unique `_id`): of two candidates that read the same version,
exactly one succeeds. The times are for people; nobody's timing depends on them (`election.py`).
"""

from typing import Any, Final

from pymongo.errors import DuplicateKeyError

from query_service.projector.leadership.election import LeaseConflict, LeaseRecord
from service_kit.mongo import Database

PROJECTOR_LEASES: Final = "projector_leases"


class MongoLease:
    def __init__(self, database: Database, name: str) -> None:
        self._collection = database[PROJECTOR_LEASES]
        self.name = name

    async def read(self) -> LeaseRecord | None:
        found = await self._collection.find_one({"_id": self.name})
        return None if found is None else _record(found)

    async def write(self, expected: LeaseRecord | None, record: LeaseRecord) -> LeaseRecord:
        if expected is None:
            version = 1
            try:
                await self._collection.insert_one({"_id": self.name, **_fields(record, version)})
            except DuplicateKeyError as error:
                raise LeaseConflict("another process created the lease first") from error
        else:
            version = int(expected.version) + 1
            result = await self._collection.update_one(
                {"_id": self.name, "version": int(expected.version)},
                {"$set": _fields(record, version)},
            )
            if result.matched_count != 1:
                raise LeaseConflict("another process wrote the lease since it was read")
        return LeaseRecord(**{**record.__dict__, "version": str(version)})


def _fields(record: LeaseRecord, version: int) -> dict[str, Any]:
    return {
        "holder": record.holder,
        "duration_s": record.duration_s,
        "transitions": record.transitions,
        "version": version,
        "acquired_at": record.acquired_at,
        "renewed_at": record.renewed_at,
    }


def _record(document: dict[str, Any]) -> LeaseRecord:
    return LeaseRecord(
        holder=document.get("holder"),
        duration_s=float(document.get("duration_s", 0)),
        transitions=int(document.get("transitions", 0)),
        version=str(document.get("version", 0)),
        acquired_at=document.get("acquired_at"),
        renewed_at=document.get("renewed_at"),
    )
