"""Response bodies of the query API, validated straight from read-model documents."""

from datetime import datetime

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


class PostPage(BaseModel):
    items: list[Post]
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


class UserPage(BaseModel):
    items: list[User]
    next_cursor: str | None


class HashtagCount(BaseModel):
    tag: str = Field(description="The hashtag, case-folded, without #")
    count: int = Field(description="Live posts that used it in the window")


class TrendingHashtags(BaseModel):
    items: list[HashtagCount]
    since: datetime = Field(description="Start of the window: the current hour and the 23 before")
