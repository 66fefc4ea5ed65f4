"""Names, shapes and indexes of the read-model collections.

- `user_views`: a user page, with follower, following and post counts.
- `post_views`: a post with its author embedded and its counts; deleted posts are removed.
- `timeline_entries`: one per (owner, post) in the owner's home timeline; hydrated from post_views.
- `follow_edges`: who follows whom, as the projector has applied it (drives fan-out).
- `projector_checkpoints`: the resume token of the last applied batch.
Ids are strings (the API's ids); times are UTC datetimes.
"""

from datetime import datetime
from typing import Final, TypedDict

from pymongo import ASCENDING, DESCENDING, IndexModel

from service_kit.mongo import Database

USER_VIEWS: Final = "user_views"
POST_VIEWS: Final = "post_views"
TIMELINE_ENTRIES: Final = "timeline_entries"
FOLLOW_EDGES: Final = "follow_edges"
PROJECTOR_CHECKPOINTS: Final = "projector_checkpoints"
# Everything the projector derives, and so everything a rebuild clears.
DERIVED_COLLECTIONS: Final = (USER_VIEWS, POST_VIEWS, TIMELINE_ENTRIES, FOLLOW_EDGES)


class AuthorSummary(TypedDict):
    id: str
    handle: str
    display_name: str


class UserView(TypedDict):
    _id: str
    handle: str
    handle_lower: str
    display_name: str
    bio: str
    created_at: datetime
    followers_count: int
    following_count: int
    posts_count: int


class PostView(TypedDict):
    _id: str
    author_id: str
    author: AuthorSummary
    text: str
    created_at: datetime
    reply_to: str | None
    like_count: int
    repost_count: int
    reply_count: int


class TimelineEntry(TypedDict):
    _id: str
    owner_id: str
    post_id: str
    author_id: str
    created_at: datetime


def timeline_entry_id(owner_id: str, post_id: str) -> str:
    return f"{owner_id}:{post_id}"


def follow_edge_id(follower_id: str, followee_id: str) -> str:
    return f"{follower_id}:{followee_id}"


# Newest first with the id breaking ties: the order of every page and of its cursor.
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
TIMELINE_NEWEST_FIRST = [("created_at", DESCENDING), ("post_id", DESCENDING)]

READ_MODEL_INDEXES: dict[str, list[IndexModel]] = {
    USER_VIEWS: [IndexModel([("handle_lower", ASCENDING)], unique=True, name="handle_unique")],
    POST_VIEWS: [
        IndexModel([("author_id", ASCENDING), *NEWEST_FIRST], name="author_newest"),
        IndexModel([("reply_to", ASCENDING)], name="replies_to", sparse=True),
    ],
    TIMELINE_ENTRIES: [
        IndexModel([("owner_id", ASCENDING), *TIMELINE_NEWEST_FIRST], name="owner_newest"),
        IndexModel([("post_id", ASCENDING)], name="by_post"),
        IndexModel([("owner_id", ASCENDING), ("author_id", ASCENDING)], name="owner_author"),
    ],
    FOLLOW_EDGES: [
        IndexModel([("followee_id", ASCENDING), ("created_at", DESCENDING)], name="followers_of"),
        IndexModel([("follower_id", ASCENDING), ("created_at", DESCENDING)], name="following_of"),
    ],
}


async def ensure_read_model_indexes(database: Database) -> None:
    for collection, indexes in READ_MODEL_INDEXES.items():
        await database[collection].create_indexes(indexes)
