"""hashtag_hours: how many live posts used each hashtag in each hour (UTC), for trending tags.

Written only by `HashtagsProjection`. A post's change marks the (tag, hour) buckets of its
hashtags stale; at the end of the batch each is recounted from `post_views` (its `terms` hold
`#tag`, and the `terms_newest` index serves the tag and hour range), and a bucket that counts
nothing is removed. So a replayed or repeated change never counts twice, and deleting a post takes
its tags out. The hour is that of the post's `created_at`: display time, but stored with the post,
so the buckets are still a function of the write model.

Read side (`top_hashtags`): the buckets of the last 24 whole hours, summed per tag by the server;
its cost grows with the tags used in a day, never with the posts.
"""

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypedDict

from pymongo import ASCENDING, IndexModel

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models.names import HASHTAG_HOURS, POST_VIEWS
from query_service.read_models.posts import live_post
from service_kit.mongo import Database
from service_kit.text import hashtags_of
from service_kit.write_model import POSTS

HOUR = timedelta(hours=1)
WINDOW_HOURS = 24


class HashtagHour(TypedDict):
    _id: str  # "<tag>:<hour as YYYY-MM-DDTHH>"
    tag: str
    hour: datetime
    count: int


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def bucket_id(tag: str, hour: datetime) -> str:
    return f"{tag}:{hour:%Y-%m-%dT%H}"


class HashtagsProjection(Projection):
    name = "hashtags"
    consumes = (POSTS,)
    owns: ClassVar[OwnedCollections] = {
        HASHTAG_HOURS: [IndexModel([("hour", ASCENDING)], name="by_hour")]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        post: dict[str, Any] | None = change.get("fullDocument")
        if post is not None and live_post(change) is not None:
            # What the view's terms hold (`#tag`), so the buckets marked are those recounted.
            tags = hashtags_of(post["text"])
        elif post is not None and "hashtags" in post:
            # A tombstone keeps its hashtags and time (a delete only drops the text).
            tags = list(post["hashtags"])
        else:
            # A post removed outright (never done by the application), or one written before
            # posts stored their hashtags: its view, if still there, says where it counted.
            post = await context.collection(POST_VIEWS).find_one(
                {"_id": str(change["documentKey"]["_id"])}, {"terms": 1, "created_at": 1}
            )
            if post is None:
                return
            tags = [term[1:] for term in post.get("terms", []) if term[:1] == "#"]
        hour = hour_of(post["created_at"])
        # Stale buckets as "<tag> <hour>" (a tag has no spaces): what `finish_batch` recounts.
        context.stale_ids(self.name).update(f"{tag} {hour.isoformat()}" for tag in tags)

    async def finish_batch(self, context: ProjectionContext) -> None:
        stale = context.stale_ids(self.name)
        buckets = context.collection(HASHTAG_HOURS)
        for entry in sorted(stale):
            tag, iso_hour = entry.split(" ")
            hour = datetime.fromisoformat(iso_hour)
            count = await context.collection(POST_VIEWS).count_documents(
                {"terms": f"#{tag}", "created_at": {"$gte": hour, "$lt": hour + HOUR}}
            )
            if count == 0:
                await buckets.delete_one({"_id": bucket_id(tag, hour)})
            else:
                await buckets.update_one(
                    {"_id": bucket_id(tag, hour)},
                    {"$set": {"tag": tag, "hour": hour, "count": count}},
                    upsert=True,
                )
        stale.clear()


# ---- the read side -----------------------------------------------------------------------------


def window_start(now: datetime) -> datetime:
    """The first hour of "the last 24 hours": the current hour and the 23 before it."""
    return hour_of(now.astimezone(UTC)) - (WINDOW_HOURS - 1) * HOUR


async def top_hashtags(database: Database, since: datetime, limit: int) -> list[dict[str, Any]]:
    """The most used tags since `since`: [{tag, count}], most first, ties alphabetical."""
    cursor = await database[HASHTAG_HOURS].aggregate(
        [
            {"$match": {"hour": {"$gte": since}}},
            {"$group": {"_id": "$tag", "count": {"$sum": "$count"}}},
            {"$sort": {"count": -1, "_id": 1}},
            {"$limit": limit},
        ]
    )
    return [{"tag": found["_id"], "count": found["count"]} async for found in cursor]
