"""The write model: collections the command service writes and the projector reads changes of.

This is the contract between the two sides of CQRS, so it lives here rather than in either
service. Ids are ObjectIds; a follow's `_id` is the (follower, followee) pair itself, so that a
delete event, which carries only `documentKey`, still says which edge disappeared.
"""

from datetime import datetime
from typing import Final, TypedDict

from bson import ObjectId

USERS: Final = "users"
POSTS: Final = "posts"
FOLLOWS: Final = "follows"
COLLECTIONS: Final = (USERS, POSTS, FOLLOWS)


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
    created_at: datetime
    deleted_at: datetime | None


class FollowKey(TypedDict):
    follower: ObjectId
    followee: ObjectId


class FollowDocument(TypedDict):
    _id: FollowKey
    follower_id: ObjectId
    followee_id: ObjectId
    created_at: datetime


def follow_key(follower_id: ObjectId, followee_id: ObjectId) -> FollowKey:
    return {"follower": follower_id, "followee": followee_id}
