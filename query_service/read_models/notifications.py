"""notifications and notification_read_marks: what happened to you, and how far you have read.

Written only by `NotificationsProjection`. A notification is a function of the write model's
current state, one per (kind, what caused it), keyed by that natural key:
- `like:<user>:<post>` and `repost:<user>:<post>`: someone liked or reposted your live post;
- `reply:<post>`: a live reply to one of your posts (whether or not that post still exists);
- `mention:<post>:<you>`: a live post that mentions you (a reply does not also mention-notify the
  author it answers: the reply notification says it);
- `follow:<follower>:<you>`: someone follows you.
Nobody is notified of what they did themselves. Its `created_at` is that of the like, repost,
post or follow, so it never moves. While you block the actor, a notification is kept with
`blocked: true` and never shown or counted; blocking flags the actor's notifications to you,
unblocking clears the flag, so every order of changes, a replay and a rebuild agree.

The read side pages the unblocked ones newest first (position = (created_at, key), which the
notification's public id encodes: `service_kit/notification_ids.py`), hydrates actors from
`user_views` (so names are current) and posts from `post_views`, and counts the unread ones up to
a cap (bounded cost however many there are).
"""

from datetime import datetime
from typing import Any, ClassVar, Literal, TypedDict, cast

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models import pagination
from query_service.read_models.blocks import block_edge_id, block_exists, block_of
from query_service.read_models.follows import edge_exists, edge_of
from query_service.read_models.names import (
    BLOCK_EDGES,
    NOTIFICATION_READ_MARKS,
    NOTIFICATIONS,
)
from query_service.read_models.pagination import Page, Position
from query_service.read_models.posts import live_post
from query_service.read_models.reactions import (
    KIND_OF,
    pair_of,
    post_is_projected,
    reaction_exists,
)
from service_kit.mongo import Database
from service_kit.notification_ids import NotificationPosition
from service_kit.write_model import BLOCKS, FOLLOWS, LIKES, NOTIFICATION_MARKS, POSTS, REPOSTS

Kind = Literal["like", "repost", "reply", "mention", "follow"]
NEWEST_FIRST = [("created_at", DESCENDING), ("_id", DESCENDING)]
# The unread count stops here: counting further would cost as much as there are notifications.
UNREAD_COUNT_CAP = 100


class Notification(TypedDict):
    _id: str
    recipient_id: str
    actor_id: str
    kind: Kind
    post_id: str | None
    created_at: datetime
    blocked: bool


class ReadMark(TypedDict):
    _id: str  # the user
    user_id: str
    read_up_to_time: datetime
    read_up_to_id: str


class NotificationsProjection(Projection):
    name = "notifications"
    consumes = (POSTS, FOLLOWS, LIKES, REPOSTS, BLOCKS, NOTIFICATION_MARKS)
    owns: ClassVar[OwnedCollections] = {
        NOTIFICATIONS: [
            IndexModel(
                [("recipient_id", ASCENDING), ("blocked", ASCENDING), *NEWEST_FIRST],
                name="recipient_newest",
            ),
            IndexModel([("recipient_id", ASCENDING), ("actor_id", ASCENDING)], name="by_actor"),
            IndexModel([("post_id", ASCENDING)], name="by_post"),
        ],
        # One mark per user (the `_id`); the index also makes sure a rebuild's shadow exists.
        NOTIFICATION_READ_MARKS: [
            IndexModel([("user_id", ASCENDING)], unique=True, name="user_unique")
        ],
    }

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        collection = change["ns"]["coll"]
        if collection == POSTS:
            await self._project_post(context, change)
        elif collection == FOLLOWS:
            await self._project_follow(context, change)
        elif collection in KIND_OF:
            await self._project_reaction(context, change)
        elif collection == BLOCKS:
            await self._project_block(context, change)
        elif collection == NOTIFICATION_MARKS:
            await self._project_mark(context, change)

    async def _project_post(self, context: ProjectionContext, change: Change) -> None:
        post_id = str(change["documentKey"]["_id"])
        post = live_post(change)
        if post is None:
            # Everything about it: its likes, reposts, and the reply or mentions it made.
            await context.collection(NOTIFICATIONS).delete_many({"post_id": post_id})
            return
        author_id = str(post["author_id"])
        wanted: list[tuple[str, Kind, str]] = []  # (key, kind, recipient)
        replied_to = post.get("reply_to_author_id")
        if replied_to is not None and str(replied_to) != author_id:
            wanted.append((f"reply:{post_id}", "reply", str(replied_to)))
        for mentioned in post.get("mention_ids") or []:
            if str(mentioned) not in (author_id, str(replied_to)):
                wanted.append((f"mention:{post_id}:{mentioned}", "mention", str(mentioned)))
        blocked = await _blocking(context, [(recipient, author_id) for _, _, recipient in wanted])
        upserts = [
            _upsert(
                key,
                recipient=recipient,
                actor_id=author_id,
                kind=kind,
                post_id=post_id,
                created_at=post["created_at"],
                blocked=(recipient, author_id) in blocked,
            )
            for key, kind, recipient in wanted
        ]
        if upserts:
            await context.collection(NOTIFICATIONS).bulk_write(upserts, ordered=False)

    async def _project_follow(self, context: ProjectionContext, change: Change) -> None:
        follower_id, followee_id = edge_of(change)
        key = f"follow:{follower_id}:{followee_id}"
        if not edge_exists(change):
            await context.collection(NOTIFICATIONS).delete_one({"_id": key})
            return
        await _write_one(
            context,
            key,
            recipient=followee_id,
            actor_id=follower_id,
            kind="follow",
            post_id=None,
            created_at=change["fullDocument"]["created_at"],
        )

    async def _project_reaction(self, context: ProjectionContext, change: Change) -> None:
        kind = KIND_OF[change["ns"]["coll"]]
        user_id, post_id = pair_of(change)
        key = f"{kind}:{user_id}:{post_id}"
        reaction = change.get("fullDocument") if reaction_exists(change) else None
        if reaction is not None and str(reaction["post_author_id"]) == user_id:
            return  # your own post: never a notification, so none to remove either
        if reaction is None or not await post_is_projected(context, post_id):
            await context.collection(NOTIFICATIONS).delete_one({"_id": key})
            return
        await _write_one(
            context,
            key,
            recipient=str(reaction["post_author_id"]),
            actor_id=user_id,
            kind=kind,
            post_id=post_id,
            created_at=reaction["created_at"],
        )

    async def _project_block(self, context: ProjectionContext, change: Change) -> None:
        blocker_id, blocked_id = block_of(change)
        await context.collection(NOTIFICATIONS).update_many(
            {"recipient_id": blocker_id, "actor_id": blocked_id},
            {"$set": {"blocked": block_exists(change)}},
        )

    async def _project_mark(self, context: ProjectionContext, change: Change) -> None:
        user_id = str(change["documentKey"]["_id"])
        mark = change.get("fullDocument")
        marks = context.collection(NOTIFICATION_READ_MARKS)
        if change["operationType"] == "delete" or mark is None:
            await marks.delete_one({"_id": user_id})
            return
        await marks.update_one(
            {"_id": user_id},
            {
                "$set": {
                    "user_id": user_id,
                    "read_up_to_time": mark["read_up_to_time"],
                    "read_up_to_id": mark["read_up_to_id"],
                }
            },
            upsert=True,
        )


async def _blocking(
    context: ProjectionContext, pairs: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (blocker, actor) pairs are blocks, as projected so far: one query for all."""
    if not pairs:
        return set()
    found = context.collection(BLOCK_EDGES).find(
        {"_id": {"$in": [block_edge_id(*pair) for pair in pairs]}},
        {"blocker_id": 1, "blocked_id": 1},
    )
    return {(edge["blocker_id"], edge["blocked_id"]) async for edge in found}


async def _write_one(
    context: ProjectionContext,
    key: str,
    *,
    recipient: str,
    actor_id: str,
    kind: Kind,
    post_id: str | None,
    created_at: datetime,
) -> None:
    blocked = await _blocking(context, [(recipient, actor_id)])
    fields = _fields(recipient, actor_id, kind, post_id, created_at, blocked=bool(blocked))
    await context.collection(NOTIFICATIONS).update_one({"_id": key}, {"$set": fields}, upsert=True)


def _upsert(
    key: str,
    *,
    recipient: str,
    actor_id: str,
    kind: Kind,
    post_id: str | None,
    created_at: datetime,
    blocked: bool,
) -> UpdateOne:
    fields = _fields(recipient, actor_id, kind, post_id, created_at, blocked=blocked)
    return UpdateOne({"_id": key}, {"$set": fields}, upsert=True)


def _fields(
    recipient: str,
    actor_id: str,
    kind: Kind,
    post_id: str | None,
    created_at: datetime,
    *,
    blocked: bool,
) -> dict[str, Any]:
    return {
        "recipient_id": recipient,
        "actor_id": actor_id,
        "kind": kind,
        "post_id": post_id,
        "created_at": created_at,
        "blocked": blocked,
    }


# ---- the read side -----------------------------------------------------------------------------


def position_of(notification: Notification) -> NotificationPosition:
    return NotificationPosition(notification["created_at"], notification["_id"])


async def read_mark(database: Database, user_id: str) -> NotificationPosition | None:
    found: dict[str, Any] | None = await database[NOTIFICATION_READ_MARKS].find_one(
        {"user_id": user_id}
    )
    if found is None:
        return None
    return NotificationPosition(found["read_up_to_time"], found["read_up_to_id"])


async def notifications_of(
    database: Database, recipient_id: str, limit: int, position: Position | None
) -> Page[Notification]:
    """One page of the shown (unblocked) notifications, newest first."""
    query = {
        "recipient_id": recipient_id,
        "blocked": False,
        **pagination.after(position, "_id"),
    }
    found = (
        await database[NOTIFICATIONS].find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list(None)
    )
    return pagination.page_of(
        cast(list[Notification], found),
        limit,
        lambda notification: Position(notification["created_at"], notification["_id"]),
    )


async def unread_count(
    database: Database, recipient_id: str, mark: NotificationPosition | None
) -> int:
    """Shown notifications after the mark, counted up to `UNREAD_COUNT_CAP` + 1 (one more than
    the cap says "more than the cap")."""
    query: dict[str, Any] = {"recipient_id": recipient_id, "blocked": False}
    if mark is not None:
        # The top-level bound keeps the index scan tight; the `$or` breaks ties on the key.
        query["created_at"] = {"$gte": mark.created_at}
        query["$or"] = [
            {"created_at": {"$gt": mark.created_at}},
            {"created_at": mark.created_at, "_id": {"$gt": mark.key}},
        ]
    return await database[NOTIFICATIONS].count_documents(query, limit=UNREAD_COUNT_CAP + 1)
