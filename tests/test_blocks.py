"""Blocks through HTTP: blocking ends follows, forbids following and replying across the block,
and takes the blocked account's posts out of the blocker's replies lists, search and explore."""

import pytest

from service_kit.write_model import BLOCKS, FOLLOWS
from tests.support import PROBLEM_JSON, Stack, User, make_settings, running_stack


async def block(user: User, handle: str) -> int:
    response = await user.stack.command.put(f"/command/v1/users/{handle}/block", headers=user.auth)
    return response.status_code


async def unblock(user: User, handle: str) -> int:
    response = await user.stack.command.delete(
        f"/command/v1/users/{handle}/block", headers=user.auth
    )
    return response.status_code


async def test_blocking_is_idempotent_and_ends_the_follows_both_ways(
    stack: Stack, alice: User, bob: User
):
    await alice.follow("bob")
    await bob.follow("alice")
    await stack.settle()
    assert (await stack.user_page("alice"))["followers_count"] == 1

    assert await block(alice, "bob") == 204
    assert await block(alice, "BOB") == 204
    assert await stack.database[BLOCKS].count_documents({}) == 1
    assert await stack.database[FOLLOWS].count_documents({}) == 0
    await stack.settle()
    for handle in ("alice", "bob"):
        page = await stack.user_page(handle)
        assert (page["followers_count"], page["following_count"]) == (0, 0)

    assert await unblock(alice, "bob") == 204
    assert await unblock(alice, "bob") == 204
    assert await stack.database[BLOCKS].count_documents({}) == 0
    assert (await bob.follow("alice")).status_code == 204  # unblocked: following works again


@pytest.mark.parametrize("blocker", ["alice", "bob"])
async def test_no_one_follows_across_a_block(stack: Stack, alice: User, bob: User, blocker: str):
    assert await block(stack.users[blocker], "bob" if blocker == "alice" else "alice") == 204
    response = await bob.follow("alice")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["type"] == "urn:microblog:problem:blocked"
    assert await stack.database[FOLLOWS].count_documents({}) == 0


async def test_a_blocked_account_cannot_reply_to_the_blocker(stack: Stack, alice: User, bob: User):
    post = await alice.post("not for bob")
    bobs = await bob.post("bob's own")
    assert await block(alice, "bob") == 204

    for replier, parent in ((bob, post["id"]), (alice, bobs["id"])):
        response = await stack.command.post(
            "/command/v1/posts", json={"text": "hey", "reply_to": parent}, headers=replier.auth
        )
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "urn:microblog:problem:blocked"
    assert (await alice.post("replying to myself", reply_to=post["id"]))["reply_to"] == post["id"]


async def test_blocking_refuses_unknown_users_yourself_and_anonymous_callers(
    stack: Stack, alice: User
):
    for method in ("PUT", "DELETE"):
        unknown = await stack.command.request(
            method, "/command/v1/users/nobody/block", headers=alice.auth
        )
        assert unknown.status_code == 404
        assert unknown.json()["type"] == "urn:microblog:problem:user-not-found"
        yourself = await stack.command.request(
            method, "/command/v1/users/alice/block", headers=alice.auth
        )
        assert yourself.status_code == 422
        assert yourself.json()["type"] == "urn:microblog:problem:cannot-block-self"
        anonymous = await stack.command.request(method, "/command/v1/users/alice/block")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert await stack.database[BLOCKS].count_documents({}) == 0


async def test_a_block_takes_their_posts_out_of_the_blockers_discovery_lists(
    stack: Stack, alice: User, bob: User
):
    carol = await stack.sign_up("carol")
    post = await alice.post("python question")
    from_bob = [await bob.post(f"python answer {n}", reply_to=post["id"]) for n in range(3)]
    from_carol = await carol.post("python answer from carol", reply_to=post["id"])
    bob_top = [await bob.post(f"python by bob {n}") for n in range(3)]
    carol_top = await carol.post("python by carol")
    assert await block(alice, "bob") == 204
    await stack.settle()

    async def ids(path: str, user: User | None, **params: str) -> list[str]:
        headers = user.auth if user else None
        # limit=1 pages through the blocked posts: filtering happens in the query, not after it.
        params = {"limit": "1", **params}
        found: list[str] = []
        for _ in range(20):
            page = (await stack.query.get(path, params=params, headers=headers)).json()
            found += [item["id"] for item in page["items"]]
            if page["next_cursor"] is None:
                return found
            params["cursor"] = page["next_cursor"]
        raise AssertionError("too many pages")

    replies = f"/query/v1/posts/{post['id']}/replies"
    assert await ids(replies, alice) == [from_carol["id"]]
    assert await ids(replies, None) == [p["id"] for p in from_bob] + [from_carol["id"]]
    assert await ids(replies, carol) == [p["id"] for p in from_bob] + [from_carol["id"]]

    assert await ids("/query/v1/explore", alice) == [carol_top["id"], post["id"]]
    assert len(await ids("/query/v1/explore", bob)) == 5

    assert await ids("/query/v1/search", alice, q="python") == [
        carol_top["id"],
        from_carol["id"],
        post["id"],
    ]
    assert len(await ids("/query/v1/search", None, q="python")) == 9
    assert [bob_top[0]["id"]] == await ids("/query/v1/search", None, q="bob 0")

    assert await unblock(alice, "bob") == 204
    await stack.settle()
    assert len(await ids("/query/v1/search", alice, q="python")) == 9


async def test_blocks_count_against_the_write_rate_limit():
    async with running_stack(make_settings(rate_limit_writes_per_user="2/minute")) as stack:
        alice = await stack.sign_up("alice")
        await stack.sign_up("bob")
        statuses = [
            await block(alice, "bob"),
            await unblock(alice, "bob"),
            await block(alice, "bob"),
        ]
        assert statuses == [204, 204, 429]
        assert await stack.database[BLOCKS].count_documents({}) == 0
