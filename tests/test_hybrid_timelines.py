"""User stories of hybrid fan-out and capped timelines, through HTTP.

A stack with a fan-out threshold of 2 followers: Alice becomes a "celebrity" as soon as two people
follow her. Her posts are then merged into her followers' timelines when they read them, instead
of being copied into each timeline.
"""

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from query_service.read_models.names import TIMELINE_ENTRIES
from query_service.read_models.pagination import Position, encode_cursor
from query_service.read_models.timeline_entries import head_id, timeline_entry_id
from tests.support import Stack, User, make_settings, running_stack

THRESHOLD = 2


@pytest.fixture
async def small_stack() -> AsyncIterator[Stack]:
    config = make_settings(fanout_max_followers=THRESHOLD, timeline_max_entries=5)
    async with running_stack(config) as running:
        yield running


async def all_pages(user: User, limit: int) -> list[str]:
    """Every page of the user's timeline, following next_cursor (bounded)."""
    shown: list[str] = []
    cursor: str | None = None
    for _ in range(100):
        page = await user.timeline(limit=limit, **({"cursor": cursor} if cursor else {}))
        shown += [post["id"] for post in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return shown
    raise AssertionError("the timeline never ended")


async def entry_exists(stack: Stack, owner: User, post: dict[str, Any]) -> bool:
    found = await stack.read_database[TIMELINE_ENTRIES].find_one(
        {"_id": timeline_entry_id(owner.id, post["id"])}
    )
    return found is not None


async def test_a_celebritys_post_shows_in_a_followers_timeline_without_being_copied_there(
    small_stack: Stack,
):
    stack = small_stack
    alice, bob, carol = [await stack.sign_up(h) for h in ("alice", "bob", "carol")]
    await bob.follow("alice")
    await carol.follow("alice")
    await stack.settle()

    post = await alice.post("hello, fans")
    await stack.settle()

    assert await bob.timeline_ids() == [post["id"]]
    assert await carol.timeline_ids() == [post["id"]]
    assert await alice.timeline_ids() == [post["id"]]  # her own timeline still gets it
    assert not await entry_exists(stack, bob, post)
    assert await entry_exists(stack, alice, post)


async def test_crossing_up_and_down_keeps_every_timeline_the_same(small_stack: Stack):
    stack = small_stack
    alice, bob, carol = [await stack.sign_up(h) for h in ("alice", "bob", "carol")]
    await bob.follow("alice")
    await stack.settle()
    first = await alice.post("one follower")
    await stack.settle()
    assert await entry_exists(stack, bob, first)  # fanned out: alice is not large yet

    await carol.follow("alice")  # two followers: alice crosses up
    await stack.settle()
    assert not await entry_exists(stack, bob, first)  # now merged when read
    second = await alice.post("two followers")
    await stack.settle()
    assert await bob.timeline_ids() == [second["id"], first["id"]]
    assert await carol.timeline_ids() == [second["id"], first["id"]]

    assert (await carol.unfollow("alice")).status_code == 204  # back under: crosses down
    await stack.settle()
    assert await entry_exists(stack, bob, first)
    assert await entry_exists(stack, bob, second)  # backfilled
    assert await bob.timeline_ids() == [second["id"], first["id"]]
    assert await carol.timeline_ids() == []


async def test_paging_with_cursors_across_merged_and_fanned_out_posts(small_stack: Stack):
    stack = small_stack
    alice, bob, carol, dave = [await stack.sign_up(h) for h in ("alice", "bob", "carol", "dave")]
    await bob.follow("alice")
    await carol.follow("alice")  # alice is large
    await bob.follow("dave")  # dave is not
    await stack.settle()
    posted = []
    for n in range(4):
        posted.append((await alice.post(f"celebrity {n}"))["id"])
        posted.append((await dave.post(f"friend {n}"))["id"])
    posted.append((await bob.post("mine"))["id"])
    await stack.settle()

    newest_first = list(reversed(posted))
    # The cap (5) keeps bob's newest five entries (his own post and dave's four); alice's four
    # posts are merged on top of them.
    for limit in (1, 2, 3, 100):
        assert await all_pages(bob, limit) == newest_first, limit


async def test_a_timeline_shows_at_most_its_cap_of_entries(small_stack: Stack):
    stack = small_stack
    bob, dave = await stack.sign_up("bob"), await stack.sign_up("dave")
    await bob.follow("dave")
    await stack.settle()
    posted = [(await dave.post(f"post {n}"))["id"] for n in range(8)]
    await stack.settle()

    assert await all_pages(bob, 2) == list(reversed(posted))[:5]


async def test_a_post_both_fanned_out_and_merged_is_shown_once(small_stack: Stack):
    stack = small_stack
    alice, bob, carol = [await stack.sign_up(h) for h in ("alice", "bob", "carol")]
    await bob.follow("alice")
    await carol.follow("alice")
    await stack.settle()
    posts = [await alice.post(f"post {n}") for n in range(3)]
    await stack.settle()
    # As for a moment while alice crosses up: bob's head lists her and his entries still hold her
    # posts.
    for post in posts:
        await stack.read_database[TIMELINE_ENTRIES].insert_one(
            {
                "_id": timeline_entry_id(bob.id, post["id"]),
                "owner_id": bob.id,
                "post_id": post["id"],
                "author_id": alice.id,
                "created_at": (
                    await stack.read_database["post_views"].find_one({"_id": post["id"]})
                )["created_at"],
            }
        )

    expected = [post["id"] for post in reversed(posts)]
    for limit in (1, 2, 100):
        assert await all_pages(bob, limit) == expected, limit


async def test_a_merged_follow_shows_only_its_window(small_stack: Stack):
    config = small_stack.settings.model_copy(update={"projector_backfill_limit": 1})
    async with running_stack(config) as running:
        alice, bob, carol = [await running.sign_up(h) for h in ("alice", "bob", "carol")]
        await carol.follow("alice")
        old = [(await alice.post(f"old {n}"))["id"] for n in range(3)]
        await bob.follow("alice")  # alice is large; bob's window: her last post and what follows
        await running.settle()
        new = (await alice.post("new"))["id"]
        await running.settle()

        head = await running.read_database[TIMELINE_ENTRIES].find_one({"_id": head_id(bob.id)})
        assert head is not None
        assert head["sources"] == {alice.id: 3}
        assert await all_pages(bob, 1) == [new, old[-1]]
        assert await all_pages(carol, 1) == [new, *reversed(old)]


async def test_a_cursor_with_a_bad_count_of_shown_entries_is_a_400(stack: Stack, bob: User):
    now = datetime.now(UTC)
    good = encode_cursor(Position(now, "x", shown=3, merging=True))
    response = await stack.query.get(
        "/query/v1/timeline", params={"cursor": good}, headers=bob.auth
    )
    assert response.status_code == 200

    for bad in ({"n": -1}, {"n": "3"}, {"n": 10**9}, {"n": True}, {"m": 2}, {"m": "yes"}):
        payload = {"t": now.isoformat(), "id": "x", **bad}
        cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        response = await stack.query.get(
            "/query/v1/timeline", params={"cursor": cursor}, headers=bob.auth
        )
        assert response.status_code == 400, bad
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_timeline_is_trimmed_to_its_cap_as_posts_arrive():
    # With a cap of 3, every delivery trims its owner (1 in max(1, 3 // 2)).
    async with running_stack(make_settings(timeline_max_entries=3)) as stack:
        bob, dave = await stack.sign_up("bob"), await stack.sign_up("dave")
        await bob.follow("dave")
        await stack.settle()
        posted = [(await dave.post(f"post {n}"))["id"] for n in range(8)]
        await stack.settle()

        stored = (
            await stack.read_database[TIMELINE_ENTRIES].find({"owner_id": bob.id}).to_list(None)
        )
        assert sorted(entry["post_id"] for entry in stored) == sorted(posted[-3:])
        assert await bob.timeline_ids() == list(reversed(posted))[:3]


# ---- the Mastodon reply rule ---------------------------------------------------------------------


async def test_a_reply_reaches_only_followers_who_also_follow_the_account_replied_to(
    small_stack: Stack,
):
    stack = small_stack
    alice, bob, carol, dave = [await stack.sign_up(h) for h in ("alice", "bob", "carol", "dave")]
    for reader in (bob, carol):
        await reader.follow("alice")  # alice is large: two followers
    await carol.follow("dave")
    question = await dave.post("anyone?")
    await stack.settle()
    answer = await alice.post("me!", reply_to=question["id"])
    top_level = await alice.post("hello, fans")
    await stack.settle()

    assert await bob.timeline_ids() == [top_level["id"]]  # bob does not follow dave
    assert await carol.timeline_ids() == [top_level["id"], answer["id"], question["id"]]
    assert await alice.timeline_ids() == [top_level["id"], answer["id"]]  # her own reply
    # dave does not follow alice: the reply is not in his home timeline
    assert await dave.timeline_ids() == [question["id"]]

    await bob.follow("dave")  # following the account replied to brings the reply in
    await stack.settle()
    assert await bob.timeline_ids() == [top_level["id"], answer["id"], question["id"]]

    assert (await bob.unfollow("dave")).status_code == 204  # and unfollowing takes it out
    await stack.settle()
    assert await bob.timeline_ids() == [top_level["id"]]


async def test_the_reply_rule_holds_for_fanned_out_and_backfilled_replies(stack: Stack):
    alice, bob, dave = [await stack.sign_up(h) for h in ("alice", "bob", "dave")]
    question = await dave.post("anyone?")
    await stack.settle()
    answer = await alice.post("me!", reply_to=question["id"])
    thread = await alice.post("and more", reply_to=answer["id"])  # a reply to herself
    await stack.settle()

    await bob.follow("alice")  # the backfill leaves out her reply to dave
    await stack.settle()
    assert await bob.timeline_ids() == [thread["id"]]

    await dave.follow("alice")  # dave is the account replied to: he sees the reply
    await stack.settle()
    assert await dave.timeline_ids() == [thread["id"], answer["id"], question["id"]]
