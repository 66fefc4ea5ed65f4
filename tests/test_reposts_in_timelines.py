"""User stories through HTTP: reposts bring posts into the reposters' followers' home timelines."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from query_service.read_models import timeline_reposts, timelines
from query_service.read_models.blocks import BlocksProjection
from query_service.read_models.names import POST_VIEWS, TIMELINE_ENTRIES
from query_service.read_models.posts import PostsProjection
from query_service.read_models.registry import PROJECTIONS
from query_service.read_models.timelines import TimelinesProjection
from tests.support import Stack, User, make_settings, running_stack


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    """A stack whose projector follows changes as they come (the first catch-up of a stack is a
    rebuild from the write model: the consistency properties cover that path)."""
    async with running_stack(make_settings()) as running:
        await running.settle()
        yield running


async def repost(user: User, post_id: str, method: str = "PUT") -> None:
    response = await user.stack.command.request(
        method, f"/command/v1/posts/{post_id}/repost", headers=user.auth
    )
    assert response.status_code == 204, response.text


async def reposted_to_carol(
    stack: Stack, alice: User, bob: User, text: str
) -> tuple[User, dict[str, Any]]:
    """Carol follows Bob only; Alice posts `text` and Bob reposts it, projected."""
    carol = await stack.sign_up("carol")
    await carol.follow("bob")
    original = await alice.post(text)
    await repost(bob, original["id"])
    await stack.settle()
    return carol, original


async def shown(user: User, **params: Any) -> list[tuple[str, str | None]]:
    """The reader's timeline as (post text, handle of who reposted it)."""
    page = await user.timeline(limit=100, **params)
    return [
        (item["text"], item["reposted_by"]["handle"] if item["reposted_by"] else None)
        for item in page["items"]
    ]


async def every_page(user: User, limit: int) -> list[str]:
    """Every page of the reader's timeline, `limit` at a time, as post texts."""
    texts: list[str] = []
    cursor = None
    for _ in range(50):
        page = await user.timeline(limit=limit, **({"cursor": cursor} if cursor else {}))
        texts += [item["text"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return texts
    raise AssertionError("the timeline does not end")


async def test_a_repost_brings_the_post_to_the_reposters_followers_at_the_time_of_the_repost(
    stack: Stack, alice: User, bob: User
):
    carol = await stack.sign_up("carol", "Carol")
    await carol.follow("bob")
    original = await alice.post("worth sharing")
    await bob.post("bob's own news")
    await repost(bob, original["id"])
    await stack.settle()

    # Carol does not follow Alice: Bob's repost brings Alice's post, above Bob's newer post.
    assert await shown(carol) == [("worth sharing", "bob"), ("bob's own news", None)]
    item = (await carol.timeline())["items"][0]
    assert item["id"] == original["id"]
    assert item["author"]["handle"] == "alice"
    assert item["reposted_by"] == {"id": bob.id, "handle": "bob", "display_name": "Bob"}
    assert item["reposted_at"] >= item["created_at"]
    assert (item["repost_count"], item["reposted_by_me"]) == (1, False)
    # Bob sees his own repost; Alice, who follows nobody, sees only her post, once.
    assert await shown(bob) == [("worth sharing", "bob"), ("bob's own news", None)]
    assert await shown(alice) == [("worth sharing", None)]


async def test_a_post_shows_once_at_its_newest_repost_and_undoing_reposts_takes_it_back_out(
    stack: Stack, alice: User, bob: User
):
    carol, dave = await stack.sign_up("carol"), await stack.sign_up("dave")
    for followee in ("alice", "bob", "carol"):
        await dave.follow(followee)
    original = await alice.post("popular")
    await bob.post("in between")
    await repost(bob, original["id"])
    await repost(carol, original["id"])
    await stack.settle()
    assert await shown(dave) == [("popular", "carol"), ("in between", None)]

    await repost(carol, original["id"], "DELETE")
    await stack.settle()
    assert await shown(dave) == [("popular", "bob"), ("in between", None)]

    # Dave follows Alice: with no repost left, her post is back at its own place.
    await repost(bob, original["id"], "DELETE")
    await stack.settle()
    assert await shown(dave) == [("in between", None), ("popular", None)]

    # Without following Alice, the last repost undone takes her post out.
    await repost(bob, original["id"])
    await dave.unfollow("alice")
    await stack.settle()
    assert await shown(dave) == [("popular", "bob"), ("in between", None)]
    await repost(bob, original["id"], "DELETE")
    await stack.settle()
    assert await shown(dave) == [("in between", None)]


async def test_each_post_is_on_one_page_only_when_reposts_move_it_up(
    stack: Stack, alice: User, bob: User
):
    await bob.follow("alice")
    carol = await stack.sign_up("carol")
    await bob.follow("carol")
    posts = [await alice.post(f"post {n}") for n in range(6)]
    await repost(carol, posts[0]["id"])  # the oldest comes to the top
    await repost(carol, posts[3]["id"])
    await stack.settle()

    expected = ["post 3", "post 0", "post 5", "post 4", "post 2", "post 1"]
    assert [text for text, _ in await shown(bob)] == expected
    for limit in (1, 2, 4):
        assert await every_page(bob, limit) == expected


async def test_following_brings_recent_reposts_and_unfollowing_takes_them_out(
    stack: Stack, alice: User, bob: User
):
    carol = await stack.sign_up("carol")
    original = await alice.post("from alice")
    await repost(bob, original["id"])
    await stack.settle()  # the repost is projected before Carol follows: her follow brings it
    await carol.follow("bob")
    await stack.settle()
    assert await shown(carol) == [("from alice", "bob")]

    await carol.unfollow("bob")
    await stack.settle()
    assert await shown(carol) == []


async def test_your_own_post_is_not_repeated_by_reposts_of_it(stack: Stack, alice: User, bob: User):
    await alice.follow("bob")
    original = await alice.post("mine")
    await repost(bob, original["id"])
    await repost(alice, original["id"])
    await stack.settle()
    assert await shown(alice) == [("mine", None)]


async def test_deleting_a_reposted_post_removes_it_from_every_timeline(
    stack: Stack, alice: User, bob: User
):
    carol, original = await reposted_to_carol(stack, alice, bob, "soon gone")
    assert await shown(carol) == [("soon gone", "bob")]

    assert (await alice.delete(original["id"])).status_code == 204
    await stack.settle()
    assert await shown(carol) == []
    assert await shown(bob) == []


async def test_a_block_keeps_the_authors_posts_out_even_when_a_followee_reposts_them(
    stack: Stack, alice: User, bob: User
):
    carol, original = await reposted_to_carol(stack, alice, bob, "from alice")

    block = await carol.stack.command.put("/command/v1/users/alice/block", headers=carol.auth)
    assert block.status_code == 204
    await stack.settle()
    assert await shown(carol) == []

    # A repost made while the block stands does not bring it either.
    dave = await stack.sign_up("dave")
    await carol.follow("dave")
    await repost(dave, original["id"])
    await stack.settle()
    assert await shown(carol) == []

    unblock = await carol.stack.command.delete("/command/v1/users/alice/block", headers=carol.auth)
    assert unblock.status_code == 204
    await stack.settle()
    assert await shown(carol) == [("from alice", "dave")]


async def test_the_reposter_is_shown_with_their_current_name(stack: Stack, alice: User, bob: User):
    carol = await stack.sign_up("carol")
    await carol.follow("bob")
    await repost(bob, (await alice.post("hello"))["id"])
    renamed = await bob.stack.command.patch(
        "/command/v1/users/me", json={"display_name": "Robert"}, headers=bob.auth
    )
    assert renamed.status_code == 200
    await stack.settle()
    item = (await carol.timeline())["items"][0]
    assert item["reposted_by"] == {"id": bob.id, "handle": "bob", "display_name": "Robert"}


@pytest.mark.parametrize("threshold", [1, 10_000])
async def test_a_large_accounts_reposts_reach_its_followers_as_a_small_ones_do(threshold: int):
    """With a threshold of one follower, Bob is large: his posts and reposts are merged when his
    followers read, not copied; they see the same timeline either way."""
    async with running_stack(make_settings(fanout_max_followers=threshold)) as stack:
        alice, bob = await stack.sign_up("alice"), await stack.sign_up("bob")
        carol = await stack.sign_up("carol")
        await carol.follow("bob")
        await carol.follow("alice")
        first = await alice.post("first")
        await bob.post("bob posts")
        await repost(bob, first["id"])
        await alice.post("second")
        await stack.settle()

        expected = [("second", None), ("first", "bob"), ("bob posts", None)]
        assert await shown(carol) == expected
        assert await every_page(carol, 1) == [text for text, _ in expected]


async def test_a_follows_backfill_leaves_no_entry_of_a_post_deleted_while_it_ran(
    stack: Stack, alice: User, bob: User, monkeypatch: pytest.MonkeyPatch
):
    """A follow's backfill and the delete of a post it copies are in different lanes: the delete
    may remove the post's view and entries after the backfill read the repost and before it
    wrote the entry. The backfill checks the views after writing."""
    carol = await stack.sign_up("carol")
    original = await alice.post("deleted meanwhile")
    await repost(bob, original["id"])
    await stack.settle()
    backfill = timeline_reposts.backfill_follow

    async def deleted_meanwhile(context: Any, *args: Any) -> set[str]:
        copied = await backfill(context, *args)  # read, and queued for the bulk write
        # What the delete's projections do, in another lane: the view goes, then the entries.
        await context.collection(POST_VIEWS).delete_one({"_id": original["id"]})
        await timelines.remove_post(context, original["id"])
        return copied

    monkeypatch.setattr(timeline_reposts, "backfill_follow", deleted_meanwhile)
    await carol.follow("bob")
    await stack.settle()

    assert await stack.read_database[TIMELINE_ENTRIES].count_documents({}) == 0
    assert await shown(carol) == []


def test_timelines_apply_a_change_after_the_post_views_and_block_edges_it_reads():
    """A delete removes the post's view before its entries (a backfill's liveness check relies on
    it), and an unblock's edge is gone before timelines ask whether a block is left."""
    order = [type(projection) for projection in PROJECTIONS]
    assert order.index(PostsProjection) < order.index(TimelinesProjection)
    assert order.index(BlocksProjection) < order.index(TimelinesProjection)
