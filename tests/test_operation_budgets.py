"""Operation budgets: how many MongoDB round trips each API call and each projected change may
take, counted by the data-access layer (the embedded store's operation log).

A budget that grows is a design change: raise it here, on purpose, with the reason.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from bson import ObjectId

from query_service.read_models.names import FOLLOW_EDGES, POST_VIEWS, TIMELINE_ENTRIES, USER_VIEWS
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
    "reply": 8,  # + the parent must be live + neither of the two blocks the other
    "delete": 4,  # the author exists + rate limit + the live post + tombstone
    # the follower exists + rate limit + the followee + a block either way? + their post count +
    # upsert + a block again (one written meanwhile would have missed this edge)
    "follow": 7,
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
    # view upsert, author refresh on post views, recount of one user, ONE bulk of search keys
    "user insert": 7,
    "post insert": 10,  # author summary, view upsert, followers, ONE bulk fan-out, 2 recounts
    "post tombstone": 6,  # view delete, timeline entries delete, recount of the author
    "follow insert": 10,  # edge upsert, backfill window read, recount of both users
    "follow delete": 10,  # edge delete, timeline entries delete, recount of both users
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
    async def post_with_followers(count_: int) -> OperationCount:
        for n in range(count_):
            follower = stack.users.get(f"fan{n}") or await stack.sign_up(f"fan{n}")
            await follower.follow("alice")
        await stack.settle()
        await alice.post(f"to {count_}")
        return await count(stack.settle)

    few, many = await post_with_followers(3), await post_with_followers(30)

    assert few.round_trips == many.round_trips
    assert few.by_collection[TIMELINE_ENTRIES] == many.by_collection[TIMELINE_ENTRIES] == 1
    fanned_out = next(o for o in many.operations if o.collection == TIMELINE_ENTRIES)
    assert len(fanned_out.shapes) == 31  # one bulk write: the author and 30 followers


# Round trips of the discovery and block calls; every list is one indexed page plus at most one
# batched hydration, and a signed-in reader's blocks cost one query per page.
DISCOVERY_BUDGETS = {
    "block": 5,  # the blocker exists + rate limit + the blocked + upsert + ONE delete of follows
    "unblock": 4,  # the blocker exists + rate limit + the blocked + delete
    "followers page": 3,  # the user + one page of edges + one batched hydration of user views
    "following page": 3,
    "replies page": 3,  # the parent + the reader's blocks + one page
    "replies page, anonymous": 2,
    "explore page": 2,  # the reader's blocks + one page
    "trending hashtags": 1,  # one aggregation over the hour buckets
    "search posts": 2,  # the reader's blocks + one page
    "search users": 2,  # one page of keys + one batched hydration
}


async def test_every_discovery_call_stays_within_its_budget(stack: Stack, alice: User, bob: User):
    await bob.follow("alice")
    post = await alice.post("counted #tag")
    await bob.post("a counted reply", reply_to=post["id"])
    await stack.settle()

    async def get(path: str, user: User | None = bob, **params: Any) -> None:
        headers = user.auth if user else None
        response = await stack.query.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["items"]

    async def command(method: str, path: str) -> None:
        response = await stack.command.request(method, path, headers=alice.auth)
        assert response.status_code == 204, response.text

    measured = {
        "followers page": await count(lambda: get("/query/v1/users/alice/followers")),
        "following page": await count(lambda: get("/query/v1/users/bob/following")),
        "replies page": await count(lambda: get(f"/query/v1/posts/{post['id']}/replies")),
        "replies page, anonymous": await count(
            lambda: get(f"/query/v1/posts/{post['id']}/replies", None)
        ),
        "explore page": await count(lambda: get("/query/v1/explore")),
        "trending hashtags": await count(lambda: get("/query/v1/explore/hashtags")),
        "search posts": await count(lambda: get("/query/v1/search", q="counted")),
        "search users": await count(lambda: get("/query/v1/search", q="al", type="users")),
        "block": await count(lambda: command("PUT", "/command/v1/users/bob/block")),
        "unblock": await count(lambda: command("DELETE", "/command/v1/users/bob/block")),
    }

    over = {
        name: (counted.round_trips, DISCOVERY_BUDGETS[name], counted.by_collection)
        for name, counted in measured.items()
        if counted.round_trips > DISCOVERY_BUDGETS[name]
    }
    assert over == {}


@pytest.mark.parametrize("followers", [10, 2000])
async def test_a_followers_page_takes_three_round_trips_however_many_followers(
    stack: Stack, alice: User, followers: int
):
    await stack.settle()
    # The read side alone: edges and user views as the projector would have written them.
    now = utc_now()
    await stack.read_database[USER_VIEWS].insert_many(
        {
            "_id": f"fan{n}",
            "handle": f"fan{n}",
            "handle_lower": f"fan{n}",
            "display_name": "Fan",
            "bio": "",
            "created_at": now,
            "followers_count": 0,
            "following_count": 1,
            "posts_count": 0,
        }
        for n in range(followers)
    )
    await stack.read_database[FOLLOW_EDGES].insert_many(
        {
            "_id": f"fan{n}:{alice.id}",
            "follower_id": f"fan{n}",
            "followee_id": alice.id,
            "followee_post_seq": 0,
            "created_at": now,
        }
        for n in range(followers)
    )

    async def page(**params: Any) -> dict[str, Any]:
        response = await stack.query.get("/query/v1/users/alice/followers", params=params)
        assert response.status_code == 200
        return response.json()

    with counting_operations() as first:
        found = await page(limit=5)
    with counting_operations() as second:
        later = await page(limit=5, cursor=found["next_cursor"])

    assert first.round_trips == second.round_trips == 3
    assert len(found["items"]) == len(later["items"]) == 5
    assert not {user["id"] for user in found["items"]} & {user["id"] for user in later["items"]}


# Round trips per projected discovery change (a batch of one change, recounts included).
DISCOVERY_CHANGE_BUDGETS = {
    "block insert": 1,  # the edge upsert
    "block delete": 1,  # the edge delete
    # the plain post insert (10) + for each of its 2 hashtags one recount and one bucket write
    "post insert, 2 hashtags": 14,
    "post tombstone, 2 hashtags": 10,  # the plain tombstone (6) + the same 2 x 2
}


async def test_every_projected_discovery_change_stays_within_its_budget(
    stack: Stack, alice: User, bob: User
):
    await stack.settle()

    async def settled(write: Callable[[], Awaitable[Any]]) -> OperationCount:
        await write()
        return await count(stack.settle)

    async def command(method: str) -> None:
        response = await stack.command.request(
            method, "/command/v1/users/bob/block", headers=alice.auth
        )
        assert response.status_code == 204

    posted: dict[str, Any] = {}

    async def post() -> None:
        posted.update(await alice.post("#one and #two"))

    measured = {
        "block insert": await settled(lambda: command("PUT")),
        "block delete": await settled(lambda: command("DELETE")),
        "post insert, 2 hashtags": await settled(post),
        "post tombstone, 2 hashtags": await settled(lambda: alice.delete(posted["id"])),
    }

    over = {
        name: (
            counted.round_trips - CATCH_UP_OVERHEAD,
            DISCOVERY_CHANGE_BUDGETS[name],
            counted.by_collection,
        )
        for name, counted in measured.items()
        if counted.round_trips - CATCH_UP_OVERHEAD > DISCOVERY_CHANGE_BUDGETS[name]
    }
    assert over == {}
