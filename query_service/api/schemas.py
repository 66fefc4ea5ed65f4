"""Response bodies of the query API, validated straight from read-model documents."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# Read-model documents keep their id in `_id`; the API calls it `id`.
DocumentId = Field(validation_alias="_id")


class Author(BaseModel):
    id: str
    handle: str
    display_name: str


class Post(BaseModel):
    id: str = DocumentId
    author: Author
    text: str
    created_at: datetime
    reply_to: str | None
    like_count: int
    repost_count: int
    reply_count: int
    liked_by_me: bool = Field(
        default=False, description="Whether the signed-in reader likes it (false when anonymous)"
    )
    reposted_by_me: bool = Field(
        default=False,
        description="Whether the signed-in reader reposted it (false when anonymous)",
    )


class PostPage(BaseModel):
    items: list[Post]
    next_cursor: str | None


class TimelinePost(Post):
    reposted_by: "Author | None" = Field(
        description="The account whose repost brought the post here (the newest, when several "
        "did), or null when the post is here for itself"
    )
    reposted_at: datetime | None = Field(
        description="When that repost was made: the item's place in the timeline (null without "
        "a repost, the place is `created_at`)"
    )


class TimelinePage(BaseModel):
    items: list[TimelinePost]
    next_cursor: str | None


class User(BaseModel):
    id: str = DocumentId
    handle: str
    display_name: str
    bio: str
    followers_count: int
    following_count: int
    posts_count: int
    created_at: datetime


class UserSummary(BaseModel):
    id: str
    handle: str
    display_name: str


class UserSummaryPage(BaseModel):
    items: list[UserSummary]
    next_cursor: str | None


class Notification(BaseModel):
    id: str = Field(description="Opaque; send it to POST /command/v1/notifications/read")
    kind: Literal["like", "repost", "reply", "mention", "follow"]
    actor: UserSummary = Field(description="Who did it, with their current name")
    post: Post | None = Field(
        description="The post liked or reposted, the reply, or the post that mentions you; "
        "null for a follow"
    )
    created_at: datetime
    read: bool = Field(description="At or before your read mark")


class NotificationPage(BaseModel):
    items: list[Notification]
    next_cursor: str | None
    unread_count: int = Field(
        description="Unread notifications, counted up to 100: the count stops there"
    )
    unread_count_capped: bool = Field(description="True when there are more than 100 unread")


class UserPage(BaseModel):
    items: list[User]
    next_cursor: str | None


class HashtagCount(BaseModel):
    tag: str = Field(description="The hashtag, case-folded, without #")
    count: int = Field(description="Live posts that used it in the window")


class TrendingHashtags(BaseModel):
    items: list[HashtagCount]
    since: datetime = Field(description="Start of the window: the current hour and the 23 before")
