"""Writing, replying, deleting and following: the command side's rules."""

import pytest

from service_kit.write_model import FOLLOWS, POSTS
from tests.support import PROBLEM_JSON, Stack, User


async def test_a_post_is_created_trimmed_and_located(stack: Stack, alice: User):
    response = await stack.command.post(
        "/command/v1/posts", json={"text": "  hello world \n"}, headers=alice.auth
    )

    assert response.status_code == 201
    post = response.json()
    assert post["text"] == "hello world"
    assert post["author_id"] == alice.id
    assert post["reply_to"] is None
    assert response.headers["location"] == f"/query/v1/posts/{post['id']}"


async def test_a_post_may_have_exactly_280_characters(stack: Stack, alice: User):
    post = await alice.post("é" * 280)

    assert len(post["text"]) == 280


@pytest.mark.parametrize("text", ["", "   \n\t ", "x" * 281])
async def test_empty_or_overlong_posts_are_rejected(stack: Stack, alice: User, text):
    response = await stack.command.post(
        "/command/v1/posts", json={"text": text}, headers=alice.auth
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert [error["field"] for error in response.json()["errors"]] == ["text"]
    assert await stack.database[POSTS].count_documents({}) == 0


async def test_a_reply_names_its_parent(stack: Stack, alice: User, bob: User):
    parent = await alice.post("question?")

    reply = await bob.post("answer!", reply_to=parent["id"])

    assert reply["reply_to"] == parent["id"]


@pytest.mark.parametrize("reply_to", ["6b0000000000000000000000", "not-an-id", ""])
async def test_a_reply_to_a_post_that_does_not_exist_is_404(stack: Stack, alice: User, reply_to):
    response = await stack.command.post(
        "/command/v1/posts", json={"text": "hi", "reply_to": reply_to}, headers=alice.auth
    )

    assert response.status_code == 404
    assert response.json()["type"] == "urn:microblog:problem:post-not-found"
    assert await stack.database[POSTS].count_documents({}) == 0


async def test_a_reply_to_a_deleted_post_is_404(stack: Stack, alice: User):
    parent = await alice.post("soon gone")
    assert (await alice.delete(parent["id"])).status_code == 204

    response = await stack.command.post(
        "/command/v1/posts", json={"text": "hi", "reply_to": parent["id"]}, headers=alice.auth
    )

    assert response.status_code == 404


async def test_only_the_author_may_delete_a_post(stack: Stack, alice: User, bob: User):
    post = await alice.post("mine")

    response = await bob.delete(post["id"])

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM_JSON
    stored = await stack.database[POSTS].find_one({})
    assert stored["deleted_at"] is None
    assert stored["text"] == "mine"


async def test_deleting_twice_or_deleting_nothing_is_404(stack: Stack, alice: User):
    post = await alice.post("once")

    assert (await alice.delete(post["id"])).status_code == 204
    assert (await alice.delete(post["id"])).status_code == 404
    assert (await alice.delete("6b0000000000000000000000")).status_code == 404
    assert (await alice.delete("nonsense")).status_code == 404


async def test_a_deleted_post_keeps_no_text_in_the_write_model(stack: Stack, alice: User):
    post = await alice.post("private thought")

    await alice.delete(post["id"])

    stored = await stack.database[POSTS].find_one({})
    assert stored["deleted_at"] is not None
    assert stored["text"] == ""


async def test_following_and_unfollowing_are_idempotent(stack: Stack, alice: User, bob: User):
    assert (await bob.follow("alice")).status_code == 204
    assert (await bob.follow("ALICE")).status_code == 204
    assert await stack.database[FOLLOWS].count_documents({}) == 1

    assert (await bob.unfollow("alice")).status_code == 204
    assert (await bob.unfollow("alice")).status_code == 204
    assert await stack.database[FOLLOWS].count_documents({}) == 0


async def test_following_an_unknown_user_is_404(stack: Stack, bob: User):
    for response in (await bob.follow("nobody"), await bob.unfollow("nobody")):
        assert response.status_code == 404
        assert response.json()["type"] == "urn:microblog:problem:user-not-found"


async def test_following_yourself_is_422(stack: Stack, alice: User):
    for response in (await alice.follow("alice"), await alice.unfollow("Alice")):
        assert response.status_code == 422
        assert response.json()["type"] == "urn:microblog:problem:cannot-follow-self"
    assert await stack.database[FOLLOWS].count_documents({}) == 0
