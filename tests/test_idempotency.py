"""Point 6: a retried create with the same Idempotency-Key returns the first result, once."""

import asyncio

from service_kit.write_model import POSTS, USERS
from tests.support import PASSWORD, Stack, User


async def create(stack: Stack, user: User, key: str, text: str = "once"):
    return await stack.command.post(
        "/command/v1/posts",
        json={"text": text},
        headers={**user.auth, "Idempotency-Key": key},
    )


async def test_a_retried_post_returns_the_first_result_and_creates_nothing(
    stack: Stack, alice: User
):
    first = await create(stack, alice, "key-1")
    retry = await create(stack, alice, "key-1")
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert await stack.database[POSTS].count_documents({}) == 1


async def test_concurrent_retries_create_one_post(stack: Stack, alice: User):
    answers = await asyncio.gather(*(create(stack, alice, "same") for _ in range(8)))
    assert await stack.database[POSTS].count_documents({}) == 1
    created = [a for a in answers if a.status_code == 201]
    assert created
    assert {a.json()["id"] for a in created} == {created[0].json()["id"]}
    assert all(a.status_code in (201, 409) for a in answers)


async def test_a_key_reused_for_another_body_is_422(stack: Stack, alice: User):
    await create(stack, alice, "k")
    other = await create(stack, alice, "k", text="something else")
    assert other.status_code == 422
    assert await stack.database[POSTS].count_documents({}) == 1


async def test_keys_belong_to_their_user(stack: Stack, alice: User, bob: User):
    await create(stack, alice, "k")
    bobs = await create(stack, bob, "k")
    assert bobs.status_code == 201
    assert await stack.database[POSTS].count_documents({}) == 2


async def test_a_failed_command_releases_its_key(stack: Stack, alice: User):
    orphan = await stack.command.post(
        "/command/v1/posts",
        json={"text": "re", "reply_to": "6b0000000000000000000000"},
        headers={**alice.auth, "Idempotency-Key": "r"},
    )
    assert orphan.status_code == 404
    assert (await create(stack, alice, "r", text="re")).status_code == 201


async def test_a_retried_sign_up_returns_the_first_account(stack: Stack):
    body = {"handle": "carol", "password": PASSWORD, "display_name": "Carol"}
    headers = {"Idempotency-Key": "signup-1"}
    first = await stack.command.post("/command/v1/users", json=body, headers=headers)
    retry = await stack.command.post("/command/v1/users", json=body, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert await stack.database[USERS].count_documents({}) == 1


async def test_a_malformed_key_is_422(stack: Stack, alice: User):
    response = await create(stack, alice, "has space")
    assert response.status_code == 422
