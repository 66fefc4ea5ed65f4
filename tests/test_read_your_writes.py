"""Read-your-writes: a write's token makes the next query wait until the projector applied it."""

import contextlib

from bson.timestamp import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from service_kit.consistency import ConsistencyKeys, InvalidConsistencyToken
from tests.support import PROBLEM_JSON, Stack, User, make_settings, running_stack
from tests.test_projector import projector_running

TOKEN = "X-Consistency-Token"
KEYS = ConsistencyKeys(b"k" * 32)


async def test_a_post_is_in_the_next_timeline_read_that_carries_its_token(
    stack: Stack, alice: User, bob: User
):
    assert (await bob.follow("alice")).status_code == 204
    async with projector_running(stack.new_projector()):
        created = await stack.command.post(
            "/command/v1/posts", json={"text": "see me at once"}, headers=alice.auth
        )
        token = created.headers[TOKEN]

        # No settling here: the query itself waits for the projector to get there.
        read = await stack.query.get("/query/v1/timeline", headers={**bob.auth, TOKEN: token})

    assert read.status_code == 200
    assert read.headers["X-Consistency"] == "fresh"
    assert [item["id"] for item in read.json()["items"]] == [created.json()["id"]]


async def test_the_token_works_as_a_query_parameter_too(stack: Stack, alice: User):
    async with projector_running(stack.new_projector()):
        created = await stack.command.post(
            "/command/v1/posts", json={"text": "by parameter"}, headers=alice.auth
        )
        read = await stack.query.get(
            "/query/v1/users/alice/posts", params={"consistent_after": created.headers[TOKEN]}
        )

    assert read.headers["X-Consistency"] == "fresh"
    assert read.json()["items"][0]["id"] == created.json()["id"]


async def test_without_a_projector_the_wait_is_bounded_and_says_stale():
    async with running_stack(make_settings(consistency_wait_ms=50)) as stack:
        alice = await stack.sign_up("alice")
        await stack.settle()
        created = await stack.command.post(
            "/command/v1/posts", json={"text": "not projected"}, headers=alice.auth
        )

        read = await stack.query.get(
            "/query/v1/users/alice", headers={TOKEN: created.headers[TOKEN]}
        )

    assert read.status_code == 200
    assert read.headers["X-Consistency"] == "stale"
    assert read.json()["posts_count"] == 0


async def test_every_write_that_changes_something_has_a_token_and_a_repeat_has_none(
    stack: Stack, alice: User, bob: User
):
    first, again = await bob.follow("alice"), await bob.follow("alice")
    post = await stack.command.post("/command/v1/posts", json={"text": "x"}, headers=alice.auth)
    delete = await alice.delete(post.json()["id"])
    signed_up = await stack.command.post(
        "/command/v1/users",
        json={"handle": "carol", "password": "correct horse battery", "display_name": "C"},
    )
    refused = await stack.command.post("/command/v1/posts", json={"text": ""}, headers=alice.auth)

    for response in (first, post, delete, signed_up):
        assert TOKEN in response.headers, response.request.url
    assert TOKEN not in again.headers  # nothing changed: nothing to wait for
    assert TOKEN not in refused.headers


async def test_a_bad_token_never_hides_the_requests_own_problem(stack: Stack):
    response = await stack.query.get("/query/v1/timeline", params={"consistent_after": "nonsense"})
    assert response.status_code == 401


async def test_a_token_that_this_api_did_not_issue_is_a_400(stack: Stack, alice: User):
    await stack.settle()  # alice's page exists: only the token is wrong
    # 11 characters of base64url decode to a time, but "not-a-token" is centuries from now.
    for bad in ("nonsense", "AAAAAAAAAAAA", "!!!!!!!!!!!", "ÄÄÄÄÄÄÄÄÄÄÄ", "not-a-token"):
        read = await stack.query.get("/query/v1/users/alice", params={"consistent_after": bad})
        assert read.status_code == 400, bad
        assert read.headers["content-type"] == PROBLEM_JSON


@given(st.integers(0, 1_700_000_000), st.integers(0, 2**32 - 1))
def test_tokens_round_trip(seconds, increment):
    assert KEYS.verify(KEYS.issue(Timestamp(seconds, increment))) == Timestamp(seconds, increment)


@given(st.text(max_size=40))
def test_decoding_any_text_either_gives_a_time_or_says_invalid(text):
    with contextlib.suppress(InvalidConsistencyToken):
        KEYS.verify(text)
