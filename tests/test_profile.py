"""User stories: editing your profile, and every read model that shows you following it."""

from typing import Any

import httpx

from tests.support import PROBLEM_JSON, Stack, User

TOKEN = "X-Consistency-Token"


async def edit(user: User, body: Any) -> httpx.Response:
    return await user.stack.command.patch("/command/v1/users/me", json=body, headers=user.auth)


async def test_a_new_name_and_bio_reach_the_profile_the_posts_and_the_notifications(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("hello")
    await bob.follow("alice")
    await stack.command.put(f"/command/v1/posts/{post['id']}/like", headers=bob.auth)
    await stack.settle()

    changed = await edit(bob, {"display_name": "Robert", "bio": "  Builder.\nOf things.  "})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        "id": bob.id,
        "handle": "bob",
        "display_name": "Robert",
        "bio": "Builder.\nOf things.",
    }
    assert TOKEN in changed.headers
    await stack.settle()

    page = await stack.user_page("bob")
    assert (page["display_name"], page["bio"]) == ("Robert", "Builder.\nOf things.")
    bobs_post = await bob.post("by robert")
    await stack.settle()
    shown = await stack.query.get(f"/query/v1/posts/{bobs_post['id']}")
    assert shown.json()["author"]["display_name"] == "Robert"
    likes = await stack.query.get(f"/query/v1/posts/{post['id']}/likes")
    assert likes.json()["items"][0]["display_name"] == "Robert"
    notes = await stack.query.get("/query/v1/notifications", headers=alice.auth)
    assert {item["actor"]["display_name"] for item in notes.json()["items"]} == {"Robert"}


async def test_one_field_at_a_time_and_an_empty_bio_clears_it(stack: Stack, alice: User):
    assert (await edit(alice, {"bio": "first"})).json()["bio"] == "first"
    renamed = await edit(alice, {"display_name": "Al"})
    assert (renamed.json()["display_name"], renamed.json()["bio"]) == ("Al", "first")
    assert (await edit(alice, {"bio": ""})).json()["bio"] == ""
    again = await edit(alice, {"bio": ""})
    assert again.status_code == 200
    assert TOKEN not in again.headers
    assert (await edit(alice, {"bio": "x" * 160})).status_code == 200


async def test_bad_profile_edits_are_refused_with_problem_details(stack: Stack, alice: User):
    for body in (
        {},
        {"handle": "newname"},
        {"bio": "x" * 161},
        {"bio": "bad\x00char"},
        {"display_name": ""},
        {"display_name": "   "},
        {"display_name": "two\nlines"},
        {"display_name": None, "bio": None},
        {"bio": 5},
        [],
    ):
        refused = await edit(alice, body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"] == PROBLEM_JSON
    unauthenticated = await stack.command.patch("/command/v1/users/me", json={"bio": "hi"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == PROBLEM_JSON
    await stack.settle()
    page = await stack.user_page("alice")
    assert (page["display_name"], page["bio"]) == ("Alice", "")
