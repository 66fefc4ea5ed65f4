"""The projector's resume point, stored in MongoDB next to the read models it vouches for."""

from dataclasses import dataclass
from typing import Any

from bson.timestamp import Timestamp

from query_service.read_models.collections import PROJECTOR_CHECKPOINTS
from service_kit.clock import utc_now
from service_kit.mongo import Database

CHECKPOINT_ID = "read-models"


@dataclass(frozen=True)
class Checkpoint:
    resume_token: dict[str, Any]
    # Cluster time of the last applied change: what a read-your-writes check compares against.
    cluster_time: Timestamp | None


async def load_checkpoint(database: Database) -> Checkpoint | None:
    found = await database[PROJECTOR_CHECKPOINTS].find_one({"_id": CHECKPOINT_ID})
    if found is None:
        return None
    return Checkpoint(resume_token=found["resume_token"], cluster_time=found.get("cluster_time"))


async def save_checkpoint(database: Database, checkpoint: Checkpoint) -> None:
    fields: dict[str, Any] = {"resume_token": checkpoint.resume_token, "updated_at": utc_now()}
    if checkpoint.cluster_time is not None:
        fields["cluster_time"] = checkpoint.cluster_time
    await database[PROJECTOR_CHECKPOINTS].update_one(
        {"_id": CHECKPOINT_ID}, {"$set": fields}, upsert=True
    )


async def delete_checkpoint(database: Database) -> None:
    await database[PROJECTOR_CHECKPOINTS].delete_one({"_id": CHECKPOINT_ID})
