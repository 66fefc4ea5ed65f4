"""Concurrent writers through the API, with skewed clocks, while the projector runs.

The embedded store yields to the event loop between operations (EMBEDDED_INTERLEAVE, on by
default), as a server lets other clients in, so these tests interleave for real.
"""

import asyncio
import random
from datetime import timedelta

from bson import ObjectId

from query_service.projector.checkpoints import PROJECTOR_CHECKPOINTS
from service_kit.clock import skewed_clock
from tests.reference_model import expected_read_models
from tests.support import Stack, User
from tests.test_projector import projector_running

WRITERS = 6
STEPS = 15


async def busy_writer(
    stack: Stack, me: User, handles: list[str], seed: int, everyone: list[str]
) -> None:
    """A client doing a bit of everything, on a pod whose clock is off by up to 3 s; `everyone`
    holds every post written so far, by anyone, to repost."""
    chosen = random.Random(seed)
    mine: list[str] = []
    actions = ["post", "post", "reply", "delete", "follow", "unfollow", "repost", "unrepost"]
    with skewed_clock(timedelta(milliseconds=chosen.randint(-3000, 3000))):
        for _ in range(STEPS):
            action = chosen.choice(actions)
            other = chosen.choice([h for h in handles if h != me.handle])
            if action == "post" or (action in ("reply", "delete") and not mine):
                mine.append((await me.post("busy"))["id"])
                everyone.append(mine[-1])
            elif action == "reply":
                mine.append((await me.post("re", reply_to=chosen.choice(mine)))["id"])
                everyone.append(mine[-1])
            elif action == "delete":
                assert (await me.delete(mine.pop(chosen.randrange(len(mine))))).status_code == 204
            elif action == "follow":
                assert (await me.follow(other)).status_code == 204
            elif action == "unfollow":
                assert (await me.unfollow(other)).status_code == 204
            elif everyone:  # a repost, or its undoing, of anyone's post (404 once deleted)
                method = "PUT" if action == "repost" else "DELETE"
                path = f"/command/v1/posts/{chosen.choice(everyone)}/repost"
                response = await stack.command.request(method, path, headers=me.auth)
                assert response.status_code in (204, 404), response.text
            await asyncio.sleep(0)


async def test_concurrent_writers_with_the_projector_running_end_in_the_specified_read_models(
    stack: Stack,
):
    handles = [f"writer{n}" for n in range(WRITERS)]
    users = [await stack.sign_up(handle) for handle in handles]
    projector = stack.new_projector()

    everyone: list[str] = []
    async with projector_running(projector):
        await asyncio.gather(
            *(busy_writer(stack, user, handles, seed, everyone) for seed, user in enumerate(users))
        )
    await stack.settle()

    expected = await expected_read_models(stack.database, stack.settings.projector_backfill_limit)
    assert await stack.read_models() == expected
    assert projector.status.changes_applied > WRITERS * STEPS / 2  # it really ran alongside
    await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})
    await stack.settle()
    assert await stack.read_models() == expected, "a rebuild agrees"


async def test_concurrent_posts_by_one_author_get_distinct_consecutive_numbers(
    stack: Stack, alice: User
):
    posts = await asyncio.gather(*(alice.post(f"at once {n}") for n in range(20)))

    stored = (
        await stack.database["posts"]
        .find({"_id": {"$in": [ObjectId(post["id"]) for post in posts]}})
        .to_list(None)
    )
    assert sorted(post["author_seq"] for post in stored) == list(range(1, 21))


async def test_concurrent_follows_and_unfollows_of_one_pair_leave_the_last_word(
    stack: Stack, alice: User, bob: User
):
    await alice.post("visible while followed")
    await asyncio.gather(
        *(bob.follow("alice") for _ in range(5)), *(bob.unfollow("alice") for _ in range(5))
    )
    await bob.follow("alice")
    await stack.settle()

    assert len(await bob.timeline_ids()) == 1
    assert (await stack.user_page("alice"))["followers_count"] == 1
    expected = await expected_read_models(stack.database, stack.settings.projector_backfill_limit)
    assert await stack.read_models() == expected
