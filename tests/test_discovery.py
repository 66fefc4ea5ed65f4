"""Discovery through HTTP: follower lists, replies, explore, trending hashtags and search."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service_kit.clock import frozen_clock
from tests.support import PROBLEM_JSON, Stack, User


async def get(stack: Stack, path: str, user: User | None = None, **params: Any) -> Any:
    response = await stack.query.get(path, params=params, headers=user.auth if user else None)
    assert response.status_code == 200, response.text
    return response.json()


async def every_page(stack: Stack, path: str, user: User | None = None, **params: Any) -> list:
    """Follow next_cursor to the end (bounded), returning every item in order."""
    items: list = []
    cursor = None
    for _ in range(50):
        page = await get(stack, path, user, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("more than 50 pages")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


async def assert_problem(stack: Stack, path: str, status: int, user: User | None = None, **params):
    response = await stack.query.get(path, params=params, headers=user.auth if user else None)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    return response.json()


# ---- follower lists ----------------------------------------------------------------------------


async def test_followers_and_following_are_listed_newest_follow_first(
    stack: Stack, alice: User, bob: User
):
    carol, dave = await stack.sign_up("carol"), await stack.sign_up("dave")
    for follower in (bob, carol, dave):
        assert (await follower.follow("alice")).status_code == 204
    await alice.follow("dave")
    await stack.settle()

    followers = await every_page(stack, "/query/v1/users/alice/followers", limit=2)
    assert [user["handle"] for user in followers] == ["dave", "carol", "bob"]
    assert followers[0] == (await stack.user_page("dave")) | {"id": dave.id}
    assert (followers[0]["followers_count"], followers[0]["following_count"]) == (1, 1)
    following = await get(stack, "/query/v1/users/alice/following")
    assert [user["handle"] for user in following["items"]] == ["dave"]
    assert following["next_cursor"] is None

    await carol.unfollow("alice")
    await stack.settle()
    after = await get(stack, "/query/v1/users/ALICE/followers")
    assert [user["handle"] for user in after["items"]] == ["dave", "bob"]


@pytest.mark.parametrize("which", ["followers", "following"])
async def test_follower_lists_refuse_unknown_users_bad_cursors_and_limits(
    stack: Stack, alice: User, which: str
):
    await assert_problem(stack, f"/query/v1/users/nobody/{which}", 404)
    await assert_problem(stack, f"/query/v1/users/\u212aate/{which}", 404)
    await assert_problem(stack, f"/query/v1/users/alice/{which}", 400, cursor="not-a-cursor")
    body = await assert_problem(stack, f"/query/v1/users/alice/{which}", 422, limit=0)
    assert body["errors"][0]["field"] == "query.limit"
    await assert_problem(stack, f"/query/v1/users/alice/{which}", 422, limit=101)


# ---- replies -----------------------------------------------------------------------------------


async def test_replies_are_listed_oldest_first_and_deleted_ones_leave(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("what do you think?")
    first = await bob.post("first", reply_to=post["id"])
    second = await alice.post("second", reply_to=post["id"])
    third = await bob.post("third", reply_to=post["id"])
    await bob.post("a reply to a reply", reply_to=first["id"])
    await stack.settle()

    replies = await every_page(stack, f"/query/v1/posts/{post['id']}/replies", limit=2)
    assert ids(replies) == [first["id"], second["id"], third["id"]]
    assert replies[0]["reply_count"] == 1

    assert (await bob.delete(first["id"])).status_code == 204
    await stack.settle()
    replies = await every_page(stack, f"/query/v1/posts/{post['id']}/replies")
    assert ids(replies) == [second["id"], third["id"]]
    assert (await get(stack, f"/query/v1/posts/{post['id']}"))["reply_count"] == 2


async def test_replies_of_an_unknown_or_deleted_post_are_404(stack: Stack, alice: User):
    post = await alice.post("soon gone")
    await stack.settle()
    await assert_problem(stack, "/query/v1/posts/0123456789abcdef01234567/replies", 404)
    await assert_problem(stack, "/query/v1/posts/not-an-id/replies", 404)
    await assert_problem(stack, f"/query/v1/posts/{post['id']}/replies", 400, cursor="x")
    await assert_problem(stack, f"/query/v1/posts/{post['id']}/replies", 422, limit=101)
    await alice.delete(post["id"])
    await stack.settle()
    await assert_problem(stack, f"/query/v1/posts/{post['id']}/replies", 404)


# ---- explore -----------------------------------------------------------------------------------


async def test_explore_shows_everyones_posts_and_threads_but_not_replies_to_others(
    stack: Stack, alice: User, bob: User
):
    from_alice = await alice.post("hello world")
    from_bob = await bob.post("bob here")
    to_alice = await bob.post("hi alice", reply_to=from_alice["id"])
    thread = await alice.post("and another thing (2/2)", reply_to=from_alice["id"])
    await stack.settle()

    shown = await every_page(stack, "/query/v1/explore", limit=1)
    assert ids(shown) == [thread["id"], from_bob["id"], from_alice["id"]]
    assert to_alice["id"] not in ids(shown)

    await alice.delete(from_alice["id"])
    await stack.settle()
    assert ids(await every_page(stack, "/query/v1/explore")) == [thread["id"], from_bob["id"]]


async def test_explore_refuses_bad_cursors_limits_and_tokens(stack: Stack):
    await assert_problem(stack, "/query/v1/explore", 400, cursor="bad")
    await assert_problem(stack, "/query/v1/explore", 422, limit=0)
    response = await stack.query.get(
        "/query/v1/explore", headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401


# ---- trending hashtags -------------------------------------------------------------------------

NOON = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


async def post_at(user: User, moment: datetime, text: str) -> dict[str, Any]:
    with frozen_clock(moment):
        return await user.post(text)


async def trending(stack: Stack, at: datetime, **params: Any) -> dict[str, Any]:
    with frozen_clock(at):
        return await get(stack, "/query/v1/explore/hashtags", **params)


async def test_trending_hashtags_count_live_posts_of_the_last_24_hours(
    stack: Stack, alice: User, bob: User
):
    await post_at(alice, NOON - timedelta(hours=24), "#old news, #Python")  # 11:30 yesterday
    await post_at(alice, NOON - timedelta(hours=23, minutes=30), "#python at the window's start")
    await post_at(bob, NOON - timedelta(hours=2), "#Python #rust")
    gone = await post_at(bob, NOON, "#rust #go")
    await post_at(alice, NOON, "#PYTHON again, #python twice counts once")
    await stack.settle()

    found = await trending(stack, NOON)
    assert found["items"] == [
        {"tag": "python", "count": 3},
        {"tag": "rust", "count": 2},
        {"tag": "go", "count": 1},
    ]
    assert found["since"] == "2026-02-28T13:00:00Z"
    assert (await trending(stack, NOON, limit=1))["items"] == [{"tag": "python", "count": 3}]

    await bob.delete(gone["id"])
    await stack.settle()
    assert (await trending(stack, NOON))["items"] == [
        {"tag": "python", "count": 3},
        {"tag": "rust", "count": 1},
    ]
    # Next morning at 09:30 the window starts at 10:00 today: bob's 10:30 post still counts.
    assert (await trending(stack, NOON + timedelta(hours=21)))["items"] == [
        {"tag": "python", "count": 2},
        {"tag": "rust", "count": 1},
    ]
    assert (await trending(stack, NOON + timedelta(hours=22)))["items"] == [
        {"tag": "python", "count": 1}
    ]
    assert (await trending(stack, NOON + timedelta(days=2)))["items"] == []


async def test_trending_hashtags_refuse_a_bad_limit(stack: Stack):
    await assert_problem(stack, "/query/v1/explore/hashtags", 422, limit=0)
    await assert_problem(stack, "/query/v1/explore/hashtags", 422, limit=101)


# ---- search ------------------------------------------------------------------------------------


async def test_search_finds_posts_with_every_word_and_hashtag_newest_first(
    stack: Stack, alice: User, bob: User
):
    tagged = await alice.post("Learning #Python with Rust")
    plain = await bob.post("python and rust, no tags")
    other = await bob.post("only PYTHON here")
    await alice.post("something else entirely")
    await stack.settle()

    async def search(q: str, **params: Any) -> list[str]:
        return ids(await every_page(stack, "/query/v1/search", q=q, **params))

    assert await search("python") == [other["id"], plain["id"], tagged["id"]]
    assert await search("Rust PYTHON", limit=1) == [plain["id"], tagged["id"]]
    assert await search("#python") == [tagged["id"]]
    assert await search("#python rust", type="posts") == [tagged["id"]]
    assert await search("python cobol") == []

    await alice.delete(tagged["id"])
    await stack.settle()
    assert await search("python") == [other["id"], plain["id"]]


async def test_search_finds_users_by_the_start_of_their_handle_or_name(stack: Stack):
    await stack.sign_up("alice", "Alice Liddell")
    await stack.sign_up("alicia", "Zed")
    await stack.sign_up("bob", "ALIas Bob")
    await stack.sign_up("carol", "Carol")
    await stack.sign_up("zali", "Ålice")
    await stack.settle()

    async def search(q: str, **params: Any) -> list[str]:
        found = await every_page(stack, "/query/v1/search", q=q, type="users", **params)
        return [user["handle"] for user in found]

    # By the matched key: the name "alias bob", then the handles alice and alicia.
    assert await search("ALI", limit=1) == ["bob", "alice", "alicia"]
    assert await search("alice") == ["alice"]  # the handle and the name match: listed once
    assert await search("alice l") == ["alice"]
    assert await search("åli") == ["zali"]
    assert await search("lid") == []  # a prefix, not a substring
    found = await get(stack, "/query/v1/search", q="car", type="users")
    assert (found["items"][0]["display_name"], found["items"][0]["posts_count"]) == ("Carol", 0)


async def test_search_refuses_empty_queries_bad_types_cursors_and_limits(stack: Stack):
    for params in (
        {},
        {"q": ""},
        {"q": "x" * 101},
        {"q": "   "},
        {"q": "!?"},
        {"q": "a", "type": "tags"},
    ):
        await assert_problem(stack, "/query/v1/search", 422, **params)
    await assert_problem(stack, "/query/v1/search", 422, q=" ", type="users")
    await assert_problem(stack, "/query/v1/search", 422, q="a", limit=0)
    await assert_problem(stack, "/query/v1/search", 400, q="a", cursor="bad")
    await assert_problem(stack, "/query/v1/search", 400, q="a", type="users", cursor="bad")
    # A cursor of one list is no cursor of the other.
    page = await get(stack, "/query/v1/search", q="a")
    assert page["next_cursor"] is None


async def test_reads_with_an_optional_sign_in_refuse_a_bad_token(stack: Stack, alice: User):
    post = await alice.post("public")
    await stack.settle()
    bad = {"Authorization": "Bearer not-a-token"}
    for path, params in [
        ("/query/v1/explore", {}),
        (f"/query/v1/posts/{post['id']}/replies", {}),
        ("/query/v1/search", {"q": "public"}),
        ("/query/v1/users/alice/posts", {}),
    ]:
        refused = await stack.query.get(path, params=params, headers=bad)
        assert refused.status_code == 401, path
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        anonymous = await stack.query.get(path, params=params)
        assert anonymous.status_code == 200, path
