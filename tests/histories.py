"""Generated histories of writes, made through the command side's own use cases.

A history is a list of steps over a small cast of users; each step may run on a writer whose clock
is skewed. Steps that the command side rejects (following yourself, deleting someone else's post,
a reply to a deleted post) are simply rejected, as they would be for a client.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from bson import ObjectId
from hypothesis import strategies as st

from command_service.commands import follows, posts
from command_service.commands.errors import CommandError
from command_service.write_model import users
from service_kit.clock import skewed_clock
from service_kit.mongo import Database
from service_kit.tokens import Principal

CAST = 4


@dataclass(frozen=True)
class Step:
    action: str  # post | reply | delete | follow | unfollow | rename
    actor: int
    other: int  # the user followed, or which of the actor's posts (by index) is meant
    skew_ms: int


steps = st.builds(
    Step,
    action=st.sampled_from(["post", "post", "reply", "delete", "follow", "unfollow", "rename"]),
    actor=st.integers(0, CAST - 1),
    other=st.integers(0, CAST - 1),
    skew_ms=st.sampled_from([0, 0, -1500, 1500]),
)
histories = st.lists(steps, min_size=10, max_size=50)
# More follows and unfollows, so that accounts cross a small fan-out threshold both ways while
# they have followers left to backfill.
social_steps = st.builds(
    Step,
    action=st.sampled_from(
        ["post", "post", "post", "reply", "delete", "follow", "follow", "unfollow", "rename"]
    ),
    actor=st.integers(0, CAST - 1),
    other=st.integers(0, CAST - 1),
    skew_ms=st.sampled_from([0, 0, -1500, 1500]),
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
            mine.append(
                str(
                    (await posts.create_post(self.database, actor, text="hi", reply_to=None))["_id"]
                )
            )
        elif step.action == "reply":
            theirs = self.post_ids[step.other]
            parent = theirs[-1] if theirs else None
            created = await posts.create_post(self.database, actor, text="re", reply_to=parent)
            mine.append(str(created["_id"]))
        elif step.action == "delete" and mine:
            await posts.delete_post(self.database, actor, mine[step.other % len(mine)])
        elif step.action == "follow":
            await follows.follow(self.database, actor, f"user{step.other}")
            self.ever_followed.add((actor.user_id, self.principals[step.other].user_id))
        elif step.action == "unfollow":
            await follows.unfollow(self.database, actor, f"user{step.other}")
        elif step.action == "rename":
            self.renames += 1
            await users.update_profile(
                self.database,
                ObjectId(actor.user_id),
                display_name=f"User {step.actor} ({self.renames})",
                bio=None,
            )
