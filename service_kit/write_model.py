"""The write model: collections the command service writes and the projector reads changes of.

This is the contract between the two sides of CQRS, so it lives here rather than in either
service. Ids are ObjectIds; a follow's `_id` is the (follower, followee) pair itself, so that a
delete event, which carries only `documentKey`, still says which edge disappeared.

What a timeline contains must not depend on clocks (`created_at` is only for display), so every
post carries its number in its author's sequence of posts (`author_seq`, 1, 2, 3, ...), drawn from
`post_sequences` with an atomic `$inc`, and every follow records how many posts the followee had
numbered when it was made (`followee_post_seq`). `post_sequences` is not projected.
"""

from datetime import datetime
from typing import Final, TypedDict

from bson import ObjectId

USERS: Final = "users"
POSTS: Final = "posts"
FOLLOWS: Final = "follows"
# The collections the projector follows, in the order a rebuild replays them.
COLLECTIONS: Final = (USERS, POSTS, FOLLOWS)
# Per-author post counters: write-side bookkeeping, never projected.
POST_SEQUENCES: Final = "post_sequences"


class UserDocument(TypedDict):
    _id: ObjectId
    handle: str
    handle_lower: str
    display_name: str
    bio: str
    password_hash: str
    created_at: datetime
    updated_at: datetime


class PostDocument(TypedDict):
    _id: ObjectId
    author_id: ObjectId
    text: str
    reply_to: ObjectId | None
    author_seq: int  # this post's number among its author's posts: 1, 2, 3, ...
    created_at: datetime
    deleted_at: datetime | None


class FollowKey(TypedDict):
    follower: ObjectId
    followee: ObjectId


class FollowDocument(TypedDict):
    _id: FollowKey
    follower_id: ObjectId
    followee_id: ObjectId
    # How many posts the followee had numbered when the follow was made: the backfill starts here.
    followee_post_seq: int
    created_at: datetime


class PostSequence(TypedDict):
    _id: ObjectId  # the author
    last: int  # the number of the author's latest post


def follow_key(follower_id: ObjectId, followee_id: ObjectId) -> FollowKey:
    return {"follower": follower_id, "followee": followee_id}
