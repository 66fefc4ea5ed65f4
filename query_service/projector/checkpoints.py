"""The projector's resume point, stored in MongoDB next to the read models it vouches for."""

from dataclasses import dataclass
from typing import Any, Final

from bson.timestamp import Timestamp

from service_kit.clock import utc_now
from service_kit.mongo import Database

PROJECTOR_CHECKPOINTS: Final = "projector_checkpoints"
CHECKPOINT_ID = "read-models"


@dataclass(frozen=True)
class Checkpoint:
    # Where the stream resumes: after the last applied change (or a later position while idle).
    resume_token: dict[str, Any]
    # Every write at or before this cluster time is reflected in the read models: the cluster time
    # of the last applied change, or the start mark of the rebuild that produced them.
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
