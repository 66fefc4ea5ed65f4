"""The query API's paging and its errors."""

import pytest

from tests.support import PROBLEM_JSON, Stack, User


async def page_through(fetch, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = await fetch(params)
        pages.append([item["id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


async def test_the_timeline_pages_newest_first_without_gaps_or_repeats(
    stack: Stack, alice: User, bob: User
):
    await bob.follow("alice")
    written = [await (alice if n % 2 else bob).post(f"post {n}") for n in range(7)]
    await stack.settle()

    pages = await page_through(lambda params: bob.timeline(**params), limit=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    assert [post_id for page in pages for post_id in page] == [
        post["id"] for post in reversed(written)
    ]


async def test_user_posts_page_with_cursors(stack: Stack, alice: User):
    written = [await alice.post(f"post {n}") for n in range(5)]
    await stack.settle()

    async def fetch(params):
        return (await stack.query.get("/query/v1/users/alice/posts", params=params)).json()

    pages = await page_through(fetch, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [post_id for page in pages for post_id in page] == [
        post["id"] for post in reversed(written)
    ]


async def test_a_full_last_page_has_no_cursor(stack: Stack, alice: User):
    for n in range(2):
        await alice.post(f"post {n}")
    await stack.settle()

    page = await alice.timeline(limit=2)

    assert len(page["items"]) == 2
    assert page["next_cursor"] is None


async def test_the_default_page_is_twenty(stack: Stack, alice: User):
    for n in range(21):
        await alice.post(f"post {n}")
    await stack.settle()

    page = await alice.timeline()

    assert len(page["items"]) == 20
    assert page["next_cursor"] is not None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
async def test_a_limit_outside_1_to_100_is_422(stack: Stack, alice: User, limit):
    for response in (
        await stack.query.get("/query/v1/timeline", params={"limit": limit}, headers=alice.auth),
        await stack.query.get("/query/v1/users/alice/posts", params={"limit": limit}),
    ):
        assert response.status_code == 422
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["errors"][0]["field"] == "query.limit"


@pytest.mark.parametrize(
    "cursor", ["garbage", "eyJ0IjoxfQ", "eyJ0IjoiMjAyNi0wMS0wMVQwMDowMDowMCIsImlkIjoiYSJ9", "!!"]
)
async def test_a_cursor_this_api_did_not_issue_is_400(stack: Stack, alice: User, cursor):
    response = await stack.query.get(
        "/query/v1/timeline", params={"cursor": cursor}, headers=alice.auth
    )

    assert response.status_code == 400
    assert response.json()["type"] == "urn:microblog:problem:invalid-cursor"


async def test_unknown_users_and_posts_are_404(stack: Stack):
    for path in (
        "/query/v1/users/nobody",
        "/query/v1/users/nobody/posts",
        "/query/v1/posts/6b0000000000000000000000",
        "/query/v1/posts/x",
    ):
        response = await stack.query.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM_JSON
