"""Response bodies of the query API, built from read-model documents."""

from datetime import datetime

from pydantic import BaseModel

from query_service.read_models.collections import PostView, UserView


class Author(BaseModel):
    id: str
    handle: str
    display_name: str


class Post(BaseModel):
    id: str
    author: Author
    text: str
    created_at: datetime
    reply_to: str | None
    like_count: int
    repost_count: int
    reply_count: int

    @classmethod
    def from_view(cls, view: PostView) -> "Post":
        return cls(
            id=view["_id"],
            author=Author(**view["author"]),
            text=view["text"],
            created_at=view["created_at"],
            reply_to=view["reply_to"],
            like_count=view["like_count"],
            repost_count=view["repost_count"],
            reply_count=view["reply_count"],
        )


class PostPage(BaseModel):
    items: list[Post]
    next_cursor: str | None


class User(BaseModel):
    id: str
    handle: str
    display_name: str
    bio: str
    followers_count: int
    following_count: int
    posts_count: int
    created_at: datetime

    @classmethod
    def from_view(cls, view: UserView) -> "User":
        return cls(
            id=view["_id"],
            handle=view["handle"],
            display_name=view["display_name"],
            bio=view["bio"],
            followers_count=view["followers_count"],
            following_count=view["following_count"],
            posts_count=view["posts_count"],
            created_at=view["created_at"],
        )
