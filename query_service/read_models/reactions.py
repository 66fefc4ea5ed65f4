"""post_reactions: who liked and who reposted which live post, one document per (kind, user, post).

Written only by `ReactionsProjection`; each reaction counts into its post view's `like_count` or
`repost_count` through `counters.change_membership` (exact, O(1) per change). Likes and reposts
share the collection so that a page of posts learns what its reader liked and reposted with one
`$in` lookup (`viewer.py`), and the likes list of a post is one indexed page. A reaction is shown
only while its post is live: a like or a repost change is projected once the post's view exists
(the post's insert comes first in the stream and in a rebuild), and a post's tombstone removes
all of its reactions.
"""

from datetime import datetime
from typing import Any, ClassVar, Literal, NotRequired, TypedDict, cast

from pymongo import ASCENDING, DESCENDING, IndexModel

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models import counters, pagination
from query_service.read_models.names import POST_REACTIONS, POST_VIEWS
from query_service.read_models.pagination import Page, Position
from query_service.read_models.posts import POST_COUNTS, live_post
from service_kit.mongo import Database
from service_kit.write_model import LIKES, POSTS, REPOSTS

Kind = Literal["like", "repost"]
KIND_OF: dict[str, Kind] = {LIKES: "like", REPOSTS: "repost"}
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]


class Reaction(TypedDict):
    _id: str
    kind: Kind
    user_id: str
    post_id: str
    post_author_id: str
    created_at: datetime
    reposter_seq: NotRequired[int]  # a repost's number in the reposter's sequence (timelines)


def reaction_id(kind: str, user_id: str, post_id: str) -> str:
    return f"{kind}:{user_id}:{post_id}"


def pair_of(change: Change) -> tuple[str, str]:
    """(user, post) of a likes or reposts change: the `_id` is the pair, so a delete names both."""
    key = change["documentKey"]["_id"]
    return str(key["user"]), str(key["post"])


def reaction_exists(change: Change) -> bool:
    return change["operationType"] != "delete" and change.get("fullDocument") is not None


async def post_is_projected(context: ProjectionContext, post_id: str) -> bool:
    """Whether the post has a view, i.e. is live as far as the projection has got. A rebuild's
    counter stub (a view's counts met before the view, `counters.py`) is no view."""
    found = await context.collection(POST_VIEWS).find_one({"_id": post_id}, {"author_id": 1})
    return counters.is_member(found, POST_COUNTS)


class ReactionsProjection(Projection):
    name = "reactions"
    consumes = (POSTS, LIKES, REPOSTS)
    owns: ClassVar[OwnedCollections] = {
        POST_REACTIONS: [
            IndexModel(
                [("post_id", ASCENDING), ("kind", ASCENDING), *NEWEST_FIRST], name="post_newest"
            ),
            IndexModel([("user_id", ASCENDING), ("post_id", ASCENDING)], name="user_posts"),
            # An account's reposts, newest first: a follow's backfill and the merge of a large
            # account's reposts into its followers' pages (`timeline_reposts.py`).
            IndexModel(
                [
                    ("user_id", ASCENDING),
                    ("kind", ASCENDING),
                    ("created_at", DESCENDING),
                    ("post_id", DESCENDING),
                ],
                name="user_reposts_newest",
            ),
            # Reposts of an author's posts by the accounts one follows (an unblock's backfill).
            IndexModel(
                [("post_author_id", ASCENDING), ("kind", ASCENDING), ("user_id", ASCENDING)],
                name="author_reactions",
            ),
        ]
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        if change["ns"]["coll"] == POSTS:
            # The post's view, and with it every count of its reactions, is gone already.
            if live_post(change) is None:
                await context.collection(POST_REACTIONS).delete_many(
                    {"post_id": str(change["documentKey"]["_id"])}
                )
            return
        kind = KIND_OF[change["ns"]["coll"]]
        user_id, post_id = pair_of(change)
        live = reaction_exists(change) and await post_is_projected(context, post_id)
        write = _reaction_update(kind, user_id, post_id, change["fullDocument"]) if live else None
        await counters.change_membership(
            context,
            change,
            POST_REACTIONS,
            reaction_id(kind, user_id, post_id),
            write,
            lambda before: [POST_COUNTS.counter(post_id, f"{kind}_count")],
        )


def _reaction_update(kind: Kind, user_id: str, post_id: str, reaction: Any) -> dict[str, Any]:
    fields = {
        "kind": kind,
        "user_id": user_id,
        "post_id": post_id,
        "post_author_id": str(reaction["post_author_id"]),
        "created_at": reaction["created_at"],
    }
    if kind == "repost":
        fields["reposter_seq"] = int(reaction.get("reposter_seq", 0))
    return {"$set": fields}


# ---- the read side -----------------------------------------------------------------------------


async def likes_of(
    database: Database, post_id: str, limit: int, position: Position | None
) -> Page[Reaction]:
    """One page of a post's likes, newest first."""
    query = {"post_id": post_id, "kind": "like", **pagination.after(position, "_id")}
    found = (
        await database[POST_REACTIONS].find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list(None)
    )
    return pagination.page_of(
        cast(list[Reaction], found), limit, lambda edge: Position(edge["created_at"], edge["_id"])
    )


async def reactions_of(
    database: Database, user_id: str, post_ids: list[str]
) -> set[tuple[str, str]]:
    """(kind, post) of everything `user_id` did to these posts, in one query."""
    if not post_ids:
        return set()
    found: list[dict[str, Any]] = (
        await database[POST_REACTIONS]
        .find({"user_id": user_id, "post_id": {"$in": post_ids}}, {"kind": 1, "post_id": 1})
        .to_list(None)
    )
    return {(edge["kind"], edge["post_id"]) for edge in found}
