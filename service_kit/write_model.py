"""The write model: collections the command service writes and the projector reads changes of.

This is the contract between the two sides of CQRS, so it lives here rather than in either
service. Ids are ObjectIds; a follow's `_id` is the (follower, followee) pair itself, so that a
delete event, which carries only `documentKey`, still says which edge disappeared.

What a timeline contains must not depend on clocks (`created_at` is only for display), so every
post carries its number in its author's sequence of posts (`author_seq`, 1, 2, 3, ...), drawn from
`post_sequences` with an atomic `$inc`; every repost takes a number from the reposter's sequence
too (`reposter_seq`), and every follow records how many numbers the followee had drawn when it was
made (`followee_post_seq`). `post_sequences` is not projected.
"""

from datetime import datetime
from typing import Final, TypedDict

from bson import ObjectId

USERS: Final = "users"
POSTS: Final = "posts"
FOLLOWS: Final = "follows"
LIKES: Final = "likes"
REPOSTS: Final = "reposts"
BLOCKS: Final = "blocks"
NOTIFICATION_MARKS: Final = "notification_marks"
# The collections the projector follows, in the order a rebuild replays them (users before what
# they write; posts before the likes and reposts of them).
COLLECTIONS: Final = (USERS, POSTS, FOLLOWS, LIKES, REPOSTS, BLOCKS, NOTIFICATION_MARKS)
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
    # The parent's author, stored with a reply so that no projection has to look it up (the
    # Mastodon reply rule for home timelines, reply notifications). None for a top-level post.
    reply_to_author_id: ObjectId | None
    author_seq: int  # this post's number among its author's posts: 1, 2, 3, ...
    # Parsed from the text when the post is written (`service_kit/text.py`), lowercased, each
    # once, in order of appearance. `mention_ids` are the mentioned handles that existed then.
    hashtags: list[str]
    mentions: list[str]
    mention_ids: list[ObjectId]
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


class PairKey(TypedDict):
    """The `_id` of a like or a repost: who did it to which post (a delete event names both)."""

    user: ObjectId
    post: ObjectId


class LikeDocument(TypedDict):
    _id: PairKey
    user_id: ObjectId
    post_id: ObjectId
    post_author_id: ObjectId
    created_at: datetime


class RepostDocument(TypedDict):
    _id: PairKey
    user_id: ObjectId
    post_id: ObjectId
    post_author_id: ObjectId
    # The repost's number in the reposter's sequence, shared with their posts (`author_seq`): a
    # follow's window admits reposts by the same rule as posts.
    reposter_seq: int
    created_at: datetime


class BlockKey(TypedDict):
    blocker: ObjectId
    blocked: ObjectId


class BlockDocument(TypedDict):
    _id: BlockKey
    blocker_id: ObjectId
    blocked_id: ObjectId
    created_at: datetime


class NotificationMark(TypedDict):
    """How far a user has read their notifications: the position (time, id) of the newest one
    read, decoded from the notification id they sent (ids encode their position)."""

    _id: ObjectId  # the user
    read_up_to_time: datetime
    read_up_to_id: str
    updated_at: datetime


class PostSequence(TypedDict):
    _id: ObjectId  # the author
    last: int  # the number of the author's latest post


def follow_key(follower_id: ObjectId, followee_id: ObjectId) -> FollowKey:
    return {"follower": follower_id, "followee": followee_id}


def pair_key(user_id: ObjectId, post_id: ObjectId) -> PairKey:
    return {"user": user_id, "post": post_id}


def block_key(blocker_id: ObjectId, blocked_id: ObjectId) -> BlockKey:
    return {"blocker": blocker_id, "blocked": blocked_id}
