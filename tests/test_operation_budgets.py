"""Operation budgets: how many MongoDB round trips each API call and each projected change may
take, counted by the data-access layer (the embedded store's operation log).

A budget that grows is a design change: raise it here, on purpose, with the reason.
"""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS, TIMELINE_ENTRIES
from query_service.read_models.timelines import HEAD_AT, head_id, trim_due
from service_kit.clock import utc_now
from service_kit.mongo.embedded.operations import OperationCount, counting_operations
from tests.support import Stack, User, make_settings, running_stack

pytestmark = pytest.mark.embedded_only  # the counts come from the embedded store's log

# Round trips per API call: what the handler's use case needs, nothing per item or per follower.
API_BUDGETS = {
    # Writes also check that the token's user exists (1) and count against rate limits.
    "sign up": 3,  # rate limit per IP + handle taken? + insert
    "sign in": 6,  # rate limits per IP and per handle (2 each) + the user + a refresh token
    "post": 6,  # the author exists + rate limit (3) + the next post number + insert
    "reply": 7,  # + the parent must be live
    "delete": 4,  # the author exists + rate limit + the live post + tombstone
    "follow": 5,  # the follower exists + rate limit + the followee + their post count + upsert
    "unfollow": 4,  # the follower exists + rate limit + the followee + delete
    "timeline page": 2,  # one page of entries + one batched hydration
    "user page": 1,
    "user posts page": 2,  # the user + one page
    "single post": 1,
}


async def count(work: Callable[[], Awaitable[Any]]) -> OperationCount:
    with counting_operations() as counted:
        await work()
    return counted


async def test_every_api_call_stays_within_its_budget(stack: Stack, alice: User, bob: User):
    async def sign_up() -> None:
        body = {"handle": "carol", "password": "correct horse battery", "display_name": "C"}
        assert (await stack.command.post("/command/v1/users", json=body)).status_code == 201

    async def sign_in() -> None:
        body = {"handle": "carol", "password": "correct horse battery"}
        assert (await stack.command.post("/command/v1/sessions", json=body)).status_code == 200

    posted: dict[str, Any] = {}

    async def post() -> None:
        posted.update(await alice.post("counted"))

    async def reply() -> None:
        await bob.post("counted too", reply_to=posted["id"])

    async def delete() -> None:
        assert (await alice.delete(posted["id"])).status_code == 204

    async def get(path: str) -> None:
        assert (await stack.query.get(path, headers=bob.auth)).status_code == 200

    measured = {
        "sign up": await count(sign_up),
        "sign in": await count(sign_in),
        "post": await count(post),
        "reply": await count(reply),
        "delete": await count(delete),
        "follow": await count(lambda: bob.follow("alice")),
        "unfollow": await count(lambda: bob.unfollow("alice")),
    }
    await bob.follow("alice")
    await alice.post("for the reads")
    await stack.settle()
    post_id = (await bob.timeline())["items"][0]["id"]
    measured |= {
        "timeline page": await count(lambda: get("/query/v1/timeline")),
        "user page": await count(lambda: get("/query/v1/users/alice")),
        "user posts page": await count(lambda: get("/query/v1/users/alice/posts")),
        "single post": await count(lambda: get(f"/query/v1/posts/{post_id}")),
    }

    over = {
        name: (counted.round_trips, API_BUDGETS[name], counted.by_collection)
        for name, counted in measured.items()
        if counted.round_trips > API_BUDGETS[name]
    }
    assert over == {}


@pytest.mark.parametrize("following", [10, 5000])
async def test_a_timeline_page_takes_two_round_trips_however_many_accounts_you_follow(
    stack: Stack, bob: User, following: int
):
    # The read side alone: entries from `following` authors, as fan-out would have written them.
    now = utc_now()
    posts = [str(ObjectId()) for _ in range(following)]
    await stack.read_database[POST_VIEWS].insert_many(
        {
            "_id": post_id,
            "author_id": f"author{n}",
            "author": {"id": f"author{n}", "handle": f"author{n}", "display_name": "A"},
            "author_seq": 1,
            "text": "t",
            "created_at": now,
            "reply_to": None,
            "like_count": 0,
            "repost_count": 0,
            "reply_count": 0,
        }
        for n, post_id in enumerate(posts)
    )
    await stack.read_database[TIMELINE_ENTRIES].insert_many(
        {
            "_id": f"{bob.id}:{post_id}",
            "owner_id": bob.id,
            "post_id": post_id,
            "author_id": f"author{n}",
            "created_at": now,
        }
        for n, post_id in enumerate(posts)
    )

    first = await count(lambda: bob.timeline(limit=20))
    with counting_operations() as later:
        page = await bob.timeline(limit=20)
        await bob.timeline(limit=20, cursor=page["next_cursor"])

    assert first.round_trips == 2
    assert later.round_trips == 4


# Round trips per projected change, the batch's recounts included (a batch of one change):
# every touched user costs 3 counts and an update, every touched post 1 count and an update.
CHANGE_BUDGETS = {
    "user insert": 6,  # view upsert, author refresh on post views, recount of one user
    # + is the author large (its timeline head)?
    "post insert": 11,  # author summary, view upsert, followers, ONE bulk fan-out, 2 recounts
    # + the two follower counts (which side to read) and one check of the followers read
    # (the Mastodon rule), and the parent's reply count (a count and an update)
    "reply insert": 15,
    "post tombstone": 6,  # view delete, timeline entries delete, recount of the author
    # Follows also decide whether the followee is large: its count and its head (2 queries).
    # + is the followee large?, the backfill's bulk write, the follower's trim (one skip query)
    # + the follower's followees (replies to the followee by them come in: the Mastodon rule;
    # the query for those replies runs only when the follower follows someone else)
    "follow insert": 15,  # edge upsert, backfill window read, recount of both users
    # the entries delete and the head's sources update are one bulk write
    "follow delete": 12,  # edge delete, timeline entries delete, recount of both users
}
# What every catch-up costs besides its changes: load the checkpoint, look for operator requests
# (dead letters to replay, a rebuild), save the checkpoint after the batch and once idle.
CATCH_UP_OVERHEAD = 5


async def test_every_projected_change_stays_within_its_budget(stack: Stack, alice: User):
    followers = [await stack.sign_up(f"follower{n}") for n in range(3)]
    for follower in followers:
        await follower.follow("alice")
    await stack.settle()

    async def settled(write: Callable[[], Awaitable[Any]]) -> OperationCount:
        await write()
        return await count(stack.settle)

    posted: dict[str, Any] = {}

    async def post() -> None:
        posted.update(await alice.post("fanned out to three"))

    measured = {
        "user insert": await settled(lambda: stack.sign_up("newcomer")),
        "post insert": await settled(post),
        "reply insert": await settled(lambda: followers[0].post("re", reply_to=posted["id"])),
        "post tombstone": await settled(lambda: alice.delete(posted["id"])),
        "follow insert": await settled(lambda: stack.users["newcomer"].follow("alice")),
        "follow delete": await settled(lambda: stack.users["newcomer"].unfollow("alice")),
    }

    over = {
        name: (counted.round_trips - CATCH_UP_OVERHEAD, CHANGE_BUDGETS[name], counted.by_collection)
        for name, counted in measured.items()
        if counted.round_trips - CATCH_UP_OVERHEAD > CHANGE_BUDGETS[name]
    }
    assert over == {}


async def test_fan_out_takes_the_same_round_trips_for_3_or_30_followers():
    # 33 sign-ups and sign-ins from one address: more than the default rate limits allow.
    async with running_stack(make_settings(rate_limits_enabled=False)) as stack:
        await fan_out_to_3_or_30(stack, await stack.sign_up("alice"))


async def fan_out_to_3_or_30(stack: Stack, alice: User) -> None:
    cap = stack.settings.timeline_max_entries
    trims: dict[int, int] = {}

    async def post_with_followers(count_: int) -> OperationCount:
        fans = []
        for n in range(count_):
            follower = stack.users.get(f"fan{n}") or await stack.sign_up(f"fan{n}")
            await follower.follow("alice")
            fans.append(follower)
        await stack.settle()
        post_id = (await alice.post(f"to {count_}"))["id"]
        # A deterministic fraction of deliveries also trims its owner: one skip query each.
        trims[count_] = sum(trim_due(u.id, post_id, cap) for u in [alice, *fans])
        return await count(stack.settle)

    few, many = await post_with_followers(3), await post_with_followers(30)

    assert few.round_trips - trims[3] == many.round_trips - trims[30]
    # Is the author large (its head), ONE bulk write (the author and 30 followers), the trims.
    assert many.by_collection[TIMELINE_ENTRIES] == 2 + trims[30]
    fanned_out = next(o for o in many.operations if o.kind == "bulk_write")
    assert fanned_out.collection == TIMELINE_ENTRIES
    assert len(fanned_out.shapes) == 31


# ---- hybrid fan-out ----------------------------------------------------------------------------


async def test_a_timeline_page_with_merged_posts_of_large_accounts_takes_at_most_three(
    stack: Stack, bob: User
):
    # The read side alone: entries from 10 accounts and 3 large accounts in bob's head.
    now = utc_now()
    authors = [f"author{n}" for n in range(13)]
    posts = [(str(ObjectId()), author) for author in authors for _ in range(5)]
    await stack.read_database[POST_VIEWS].insert_many(
        {
            "_id": post_id,
            "author_id": author,
            "author": {"id": author, "handle": author, "display_name": "A"},
            "author_seq": 1 + n % 5,
            "text": "t",
            "created_at": now - timedelta(seconds=n),
            "reply_to": None,
            "like_count": 0,
            "repost_count": 0,
            "reply_count": 0,
        }
        for n, (post_id, author) in enumerate(posts)
    )
    await stack.read_database[TIMELINE_ENTRIES].insert_many(
        [
            *(
                {
                    "_id": f"{bob.id}:{post_id}",
                    "owner_id": bob.id,
                    "post_id": post_id,
                    "author_id": author,
                    "created_at": now - timedelta(seconds=n),
                }
                for n, (post_id, author) in enumerate(posts)
                if author not in authors[10:]
            ),
            {
                "_id": head_id(bob.id),
                "owner_id": bob.id,
                "created_at": HEAD_AT,
                "sources": {author: 1 for author in authors[10:]},
                "large": False,
            },
        ]
    )

    with counting_operations() as first:
        page = await bob.timeline(limit=10)
    with counting_operations() as later:
        second = await bob.timeline(limit=10, cursor=page["next_cursor"])

    assert first.round_trips == 2  # entries with the head, then hydration and merge in one
    assert later.round_trips == 3  # + the head again
    assert len(page["items"]) == len(second["items"]) == 10


async def test_a_large_account_posts_with_the_same_round_trips_for_3_or_30_followers():
    config = make_settings(rate_limits_enabled=False, fanout_max_followers=3)
    async with running_stack(config) as stack:
        alice = await stack.sign_up("alice")
        cap = stack.settings.timeline_max_entries
        measured: dict[int, tuple[OperationCount, int]] = {}
        for followers in (3, 30):
            for n in range(followers):
                fan = stack.users.get(f"fan{n}") or await stack.sign_up(f"fan{n}")
                await fan.follow("alice")
            await stack.settle()
            post_id = (await alice.post(f"to {followers}"))["id"]
            measured[followers] = (await count(stack.settle), trim_due(alice.id, post_id, cap))

        (few, few_trims), (many, many_trims) = measured[3], measured[30]
        assert few.round_trips - few_trims == many.round_trips - many_trims
        # Its followers are not even read (the recount of its followers counts them).
        assert not [o for o in many.operations if o.collection == FOLLOW_EDGES and o.kind == "find"]
        written = [o for o in many.operations if o.kind == "bulk_write"]
        assert [len(o.shapes) for o in written] == [1]  # the author's own timeline only


@pytest.mark.parametrize("followers", [8, 16])
async def test_crossing_the_threshold_writes_in_bulk_batches_of_the_fanout_chunk(followers: int):
    chunk = 4
    config = make_settings(
        rate_limits_enabled=False, fanout_max_followers=followers, projector_fanout_chunk=chunk
    )
    async with running_stack(config) as stack:
        alice = await stack.sign_up("alice")
        fans = [await stack.sign_up(f"fan{n}") for n in range(followers)]
        for _ in range(3):
            await alice.post("before")
        for fan in fans[:-1]:
            await fan.follow("alice")
        await stack.settle()

        await fans[-1].follow("alice")
        up = await count(stack.settle)  # the last follow makes alice large
        await fans[-1].unfollow("alice")
        down = await count(stack.settle)  # and its undoing small again

        cap = stack.settings.timeline_max_entries
        down_trims = sum(trim_due(f.id, alice.id, cap) for f in fans)
        # Up: each follower's head and entries (2 writes); down: 3 entries and the head (2).
        for crossing, trims, writes in ((up, 1, 2), (down, down_trims, 5)):
            bulks = [o for o in crossing.operations if o.kind == "bulk_write"]
            assert all(len(o.shapes) <= chunk for o in bulks)
            assert sum(len(o.shapes) for o in bulks) >= writes * (followers - 1)
            # Besides bulk writes, a crossing costs the same however many followers there are.
            others = crossing.round_trips - len(bulks) - trims
            assert others == CROSSING_OTHERS[crossing is up]


# Round trips of a crossing's settle besides its bulk writes and trims: the follow change itself,
# the recounts, the decision's two reads, one read of the followers (and, down, of the posts).
CROSSING_OTHERS = {True: 20, False: 18}
