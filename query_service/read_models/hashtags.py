"""hashtag_hours: how many live posts used each hashtag in each hour (UTC), for trending tags.

A bucket is a counted document made by its counts (`counters.py`): a post's view counts into the
buckets of its hashtags (`PostsProjection`, through `counted_by`), exactly and in O(1) per
change, like every other counter; a count creates its bucket and a bucket whose count falls back
to 0 is removed. So a replayed or repeated change never counts twice, and deleting a post takes
its tags out. The hour is that of the post's `created_at`: display time, but stored with the post,
so the buckets are still a function of the write model. `HashtagsProjection` owns the collection
and its index; it handles no change itself.

Read side (`top_hashtags`): the buckets of the last 24 whole hours, summed per tag by the server;
its cost grows with the tags used in a day, never with the posts.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypedDict

from pymongo import ASCENDING, IndexModel

from query_service.projector.projection import OwnedCollections, Projection
from query_service.read_models.counters import CountedDocument, Counter, Tally
from query_service.read_models.names import HASHTAG_HOURS, POST_VIEWS
from service_kit.mongo import Database
from service_kit.text import hashtags_of

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


def _bucket_fields(document_id: str) -> dict[str, Any]:
    tag, hour = document_id.split(":", 1)  # a tag is word characters: never ":"
    return {"tag": tag, "hour": datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)}


def _posts_in_bucket(document_id: str) -> dict[str, Any]:
    fields = _bucket_fields(document_id)
    hour = fields["hour"]
    return {"terms": f"#{fields['tag']}", "created_at": {"$gte": hour, "$lt": hour + HOUR}}


HASHTAG_COUNTS = CountedDocument(
    HASHTAG_HOURS,
    identity="tag",
    fields=(("count", Tally(POST_VIEWS, "terms", query=_posts_in_bucket)),),
    made_by_counts=_bucket_fields,
)


def bucket_counters(post: Mapping[str, Any]) -> list[Counter]:
    """The buckets a post's view counts into, from the hashtags of its text: a write-model post
    or the view itself (which keeps the text it was written with; posts are never edited)."""
    hour = hour_of(post["created_at"])
    return [
        HASHTAG_COUNTS.counter(bucket_id(tag, hour), "count")
        for tag in hashtags_of(post.get("text", ""))
    ]


class HashtagsProjection(Projection):
    name = "hashtags"
    consumes = ()
    owns: ClassVar[OwnedCollections] = {
        HASHTAG_HOURS: [IndexModel([("hour", ASCENDING)], name="by_hour")]
    }
    counted = (HASHTAG_COUNTS,)


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
