"""User stories through HTTP: likes, reposts, profile edits and the read models behind them."""

from typing import Any

import httpx
from bson import ObjectId

from command_service.write_model import blocks
from query_service.projector.checkpoints import PROJECTOR_CHECKPOINTS
from tests.support import PROBLEM_JSON, Stack, User, make_settings, running_stack

TOKEN = "X-Consistency-Token"


async def react(user: User, method: str, post_id: str, what: str = "like") -> httpx.Response:
    return await user.stack.command.request(
        method, f"/command/v1/posts/{post_id}/{what}", headers=user.auth
    )


async def post_as(stack: Stack, post_id: str, reader: User | None = None) -> dict[str, Any]:
    headers = reader.auth if reader else {}
    response = await stack.query.get(f"/query/v1/posts/{post_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def likers(stack: Stack, post_id: str, **params: Any) -> httpx.Response:
    return await stack.query.get(f"/query/v1/posts/{post_id}/likes", params=params)


def assert_problem(response: httpx.Response, status: int, slug: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    if slug is not None:
        assert response.json()["type"] == f"urn:microblog:problem:{slug}"


async def test_liking_a_post_counts_once_shows_who_liked_it_and_can_be_taken_back(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("like me")
    first = await react(bob, "PUT", post["id"])
    again = await react(bob, "PUT", post["id"])
    await stack.settle()

    assert (first.status_code, again.status_code) == (204, 204)
    assert TOKEN in first.headers
    assert TOKEN not in again.headers
    seen_by_bob = await post_as(stack, post["id"], bob)
    assert seen_by_bob["like_count"] == 1
    assert seen_by_bob["liked_by_me"] is True
    assert seen_by_bob["reposted_by_me"] is False
    assert (await post_as(stack, post["id"], alice))["liked_by_me"] is False
    assert (await post_as(stack, post["id"]))["liked_by_me"] is False  # anonymous
    listed = (await likers(stack, post["id"])).json()
    assert listed == {
        "items": [{"id": bob.id, "handle": "bob", "display_name": "Bob"}],
        "next_cursor": None,
    }

    assert (await react(bob, "DELETE", post["id"])).status_code == 204
    assert (await react(bob, "DELETE", post["id"])).status_code == 204
    await stack.settle()
    seen_by_bob = await post_as(stack, post["id"], bob)
    assert (seen_by_bob["like_count"], seen_by_bob["liked_by_me"]) == (0, False)
    assert (await likers(stack, post["id"])).json()["items"] == []


async def test_liked_and_reposted_by_me_show_on_every_list_of_posts(
    stack: Stack, alice: User, bob: User
):
    liked, reposted, neither = [await alice.post(text) for text in ("one", "two", "three")]
    await bob.follow("alice")
    await react(bob, "PUT", liked["id"])
    await react(bob, "PUT", reposted["id"], "repost")
    await stack.settle()

    def flags(page: dict[str, Any]) -> dict[str, tuple[bool, bool]]:
        return {p["id"]: (p["liked_by_me"], p["reposted_by_me"]) for p in page["items"]}

    wanted = {
        liked["id"]: (True, False),
        reposted["id"]: (False, True),
        neither["id"]: (False, False),
    }
    own_posts = await stack.query.get("/query/v1/users/alice/posts", headers=bob.auth)
    anonymous = await stack.query.get("/query/v1/users/alice/posts")
    assert flags(await bob.timeline()) == wanted
    assert flags(own_posts.json()) == wanted
    assert set(flags(anonymous.json()).values()) == {(False, False)}
    assert flags(await alice.timeline()) == dict.fromkeys(wanted, (False, False))


async def test_a_bad_token_on_an_open_read_is_a_401_not_an_anonymous_answer(
    stack: Stack, alice: User
):
    post = await alice.post("hello")
    await stack.settle()
    bad = {"Authorization": "Bearer not-a-token"}
    assert_problem(await stack.query.get(f"/query/v1/posts/{post['id']}", headers=bad), 401)
    assert_problem(await stack.query.get("/query/v1/users/alice/posts", headers=bad), 401)


async def test_liking_and_reposting_need_a_token_and_a_live_post(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("soon gone")
    assert (await alice.delete(post["id"])).status_code == 204
    for what in ("like", "repost"):
        for method in ("PUT", "DELETE"):
            path = f"/command/v1/posts/{post['id']}/{what}"
            assert_problem(await stack.command.request(method, path), 401, "unauthorized")
            assert_problem(await react(bob, method, post["id"], what), 404, "post-not-found")
            assert_problem(await react(bob, method, str(ObjectId()), what), 404, "post-not-found")
            assert_problem(await react(bob, method, "not-an-id", what), 404, "post-not-found")
            assert_problem(await react(bob, method, "x" * 101, what), 422, "validation")


async def test_whom_the_author_blocks_cannot_like_or_repost_but_may_take_back(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("not for bob")
    assert (await react(bob, "PUT", post["id"])).status_code == 204
    await blocks.upsert_block(stack.database, ObjectId(alice.id), ObjectId(bob.id))

    for what in ("like", "repost"):
        refused = await react(bob, "PUT", post["id"], what)
        assert_problem(refused, 403, "blocked-by-author")
        assert TOKEN not in refused.headers
    assert (await react(bob, "DELETE", post["id"])).status_code == 204
    assert (await react(bob, "DELETE", post["id"], "repost")).status_code == 204
    assert (await react(alice, "PUT", post["id"])).status_code == 204  # her own post
    await stack.settle()
    assert (await post_as(stack, post["id"]))["like_count"] == 1


async def test_reposting_your_own_post_is_allowed_and_counted(stack: Stack, alice: User, bob: User):
    post = await alice.post("worth saying twice")
    assert (await react(alice, "PUT", post["id"], "repost")).status_code == 204
    assert (await react(bob, "PUT", post["id"], "repost")).status_code == 204
    assert (await react(bob, "PUT", post["id"], "repost")).status_code == 204
    await stack.settle()
    seen = await post_as(stack, post["id"], alice)
    assert (seen["repost_count"], seen["reposted_by_me"], seen["like_count"]) == (2, True, 0)

    assert (await react(bob, "DELETE", post["id"], "repost")).status_code == 204
    await stack.settle()
    assert (await post_as(stack, post["id"], bob))["repost_count"] == 1


async def test_the_likes_list_pages_newest_first(stack: Stack, alice: User):
    post = await alice.post("popular")
    fans = [await stack.sign_up(f"fan{n}") for n in range(3)]
    for fan in fans:
        await react(fan, "PUT", post["id"])
    await stack.settle()

    first = (await likers(stack, post["id"], limit=2)).json()
    second = (await likers(stack, post["id"], limit=2, cursor=first["next_cursor"])).json()
    assert [u["handle"] for u in first["items"] + second["items"]] == ["fan2", "fan1", "fan0"]
    assert second["next_cursor"] is None
    assert_problem(await likers(stack, post["id"], cursor="garbage"), 400, "invalid-cursor")
    assert_problem(await likers(stack, post["id"], limit=0), 422, "validation")
    assert_problem(await likers(stack, str(ObjectId())), 404, "post-not-found")
    assert_problem(await likers(stack, "nope"), 404, "post-not-found")


async def test_deleting_a_post_removes_its_likes_and_reposts_everywhere(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("regrettable")
    await react(bob, "PUT", post["id"])
    await react(bob, "PUT", post["id"], "repost")
    await stack.settle()
    await alice.delete(post["id"])
    await stack.settle()

    assert_problem(await likers(stack, post["id"]), 404, "post-not-found")
    assert await stack.read_database["post_reactions"].count_documents({}) == 0


async def test_a_rebuild_lists_no_like_of_a_deleted_post_that_has_replies(
    stack: Stack, alice: User, bob: User
):
    # A rebuild may meet the reply before its parent: the parent's counts then wait in a stub,
    # which must not pass for the (deleted) post's view when the like is replayed.
    post = await alice.post("answered, liked, then deleted")
    await bob.post("an answer", reply_to=post["id"])
    await react(bob, "PUT", post["id"])
    await react(bob, "PUT", post["id"], "repost")
    await alice.delete(post["id"])
    await stack.settle()
    await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})
    await stack.new_projector().catch_up()

    assert await stack.read_database["post_reactions"].count_documents({}) == 0
    assert await stack.read_database["notifications"].count_documents({"kind": "like"}) == 0


async def test_likes_and_reposts_count_against_the_write_rate_limit():
    async with running_stack(make_settings(rate_limit_writes_per_user="3/minute")) as stack:
        alice = await stack.sign_up("alice")
        bob = await stack.sign_up("bob")
        post = await alice.post("one")  # alice's first write
        statuses = [
            (await react(bob, method, post["id"], what)).status_code
            for method, what in [("PUT", "like"), ("PUT", "repost"), ("DELETE", "like")]
        ]
        refused = await react(bob, "PUT", post["id"])
    assert statuses == [204, 204, 204]
    assert_problem(refused, 429)
