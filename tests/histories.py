"""Generated histories of writes, made through the command side's own use cases.

A history is a list of steps over a small cast of users; each step may run on a writer whose clock
is skewed. Steps that the command side rejects (following yourself, deleting someone else's post,
a reply to a deleted post, following, replying to, liking or reposting across a block) are simply
rejected, as they would be for a client.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bson import ObjectId
from hypothesis import strategies as st

from command_service.commands import blocks, follows, notifications, posts, reactions
from command_service.commands.errors import CommandError
from command_service.write_model import users
from service_kit.clock import skewed_clock, utc_now
from service_kit.mongo import Database
from service_kit.notification_ids import NotificationPosition
from service_kit.tokens import Principal
from service_kit.write_model import REPOSTS, pair_key

CAST = 4
# Posts draw their text from a small vocabulary, so that search terms and hashtags repeat, in
# several spellings, across posts, replies and deletes.
TEXTS = (
    "hi",
    "hello #Python",
    "#python and rust",
    "Rust #RUST #python @user1",
    "learning python",
    "#Straße ok",
    "STRASSE #strasse",
)


ACTIONS = (
    *("post", "post", "reply", "delete", "follow", "unfollow", "rename"),
    *("like", "like", "unlike", "repost", "unrepost", "mention", "bio"),
    *("block", "unblock", "mark-read"),
)


@dataclass(frozen=True)
class Step:
    # post | reply | delete | follow | unfollow | rename | like | unlike | repost | unrepost |
    # mention | bio | block | unblock | mark-read
    action: str
    actor: int
    # The user followed, liked, mentioned or blocked, or which of the actor's posts is deleted.
    other: int
    skew_ms: int
    # Which of the other's posts is liked or reposted (counting back from their latest), or how
    # far back a read mark is put (in seconds).
    pick: int = 0
    text: str = "hi"  # what a post or reply says


steps = st.builds(
    Step,
    action=st.sampled_from(ACTIONS),
    actor=st.integers(0, CAST - 1),
    other=st.integers(0, CAST - 1),
    skew_ms=st.sampled_from([0, 0, -1500, 1500]),
    pick=st.integers(0, 2),
    text=st.sampled_from(TEXTS),
)
histories = st.lists(steps, min_size=10, max_size=50)
# More follows and unfollows, so that accounts cross a small fan-out threshold both ways while
# they have followers left to backfill; reposts and blocks, which large accounts' pages merge
# and filter.
social_steps = st.builds(
    Step,
    action=st.sampled_from(
        [
            *("post", "post", "post", "reply", "delete", "follow", "follow", "unfollow"),
            *("rename", "repost", "repost", "unrepost", "block", "unblock"),
        ]
    ),
    actor=st.integers(0, CAST - 1),
    other=st.integers(0, CAST - 1),
    skew_ms=st.sampled_from([0, 0, -1500, 1500]),
    pick=st.integers(0, 2),
)
social_histories = st.lists(social_steps, min_size=20, max_size=60)


@dataclass
class Writers:
    """The cast, signed up directly in the write model (no password hashing needed here)."""

    database: Database
    principals: list[Principal] = field(default_factory=list)
    post_ids: list[list[str]] = field(default_factory=list)
    renames: int = 0
    # Every (follower id, followee id) ever followed: what a capped timeline may have held.
    ever_followed: set[tuple[str, str]] = field(default_factory=set)
    # Every repost taken back (the write model forgets them; a capped timeline may have held them).
    taken_back: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def sign_up(cls, database: Database, count: int = CAST) -> "Writers":
        writers = cls(database)
        for n in range(count):
            user = await users.insert_user(
                database, handle=f"user{n}", display_name=f"User {n}", password_hash="unused"
            )
            writers.principals.append(Principal(user_id=str(user["_id"]), handle=user["handle"]))
            writers.post_ids.append([])
        return writers

    async def run(self, step: Step) -> None:
        with skewed_clock(timedelta(milliseconds=step.skew_ms)), contextlib.suppress(CommandError):
            await self._run(step)

    async def _run(self, step: Step) -> None:
        actor = self.principals[step.actor]
        mine = self.post_ids[step.actor]
        if step.action == "post":
            created = await posts.create_post(self.database, actor, text=step.text, reply_to=None)
            mine.append(str(created["_id"]))
        elif step.action in ("reply", "mention"):
            theirs = self.post_ids[step.other]
            parent = (theirs[-1] if theirs else None) if step.action == "reply" else None
            # A reply mentions the author it answers (one notification, not two).
            text = f"re @user{step.other} {step.text}" if parent else f"hey @user{step.other} #tag"
            created = await posts.create_post(self.database, actor, text=text, reply_to=parent)
            mine.append(str(created["_id"]))
        elif step.action == "delete" and mine:
            await posts.delete_post(self.database, actor, mine[step.other % len(mine)])
        elif step.action == "follow":
            await follows.follow(self.database, actor, f"user{step.other}")
            self.ever_followed.add((actor.user_id, self.principals[step.other].user_id))
        elif step.action == "unfollow":
            await follows.unfollow(self.database, actor, f"user{step.other}")
        elif step.action == "block":
            await blocks.block(self.database, actor, f"user{step.other}")
        elif step.action == "unblock":
            await blocks.unblock(self.database, actor, f"user{step.other}")
        elif step.action == "rename":
            self.renames += 1
            await users.update_profile(
                self.database,
                ObjectId(actor.user_id),
                display_name=f"User {step.actor} ({self.renames})",
                bio=None,
            )
        elif step.action == "bio":
            self.renames += 1
            await users.update_profile(
                self.database,
                ObjectId(actor.user_id),
                display_name=None,
                bio=f"bio {self.renames}\nsecond line" if step.other % 2 else "",
            )
        elif step.action in ("like", "unlike", "repost", "unrepost"):
            theirs = self.post_ids[step.other]
            if theirs:
                target = theirs[-1 - step.pick % len(theirs)]
                key = {"_id": pair_key(ObjectId(actor.user_id), ObjectId(target))}
                before = await self.database[REPOSTS].find_one(key)
                await getattr(reactions, step.action)(self.database, actor, target)
                if before and not await self.database[REPOSTS].find_one(key):
                    self.taken_back.append(before)
        elif step.action == "mark-read":
            # Any position will do (ids are opaque); going back must leave the mark where it is.
            up_to = NotificationPosition(
                utc_now() - timedelta(seconds=step.pick), f"like:{step.other}"
            )
            await notifications.mark_read(self.database, actor, up_to)
