"""`make seed`: the demo graph's shape, and what the read models show once it is written.

The plan is checked on its own (deterministic, well-formed, power-law, large accounts when the size
allows); then a small plan is written into a test stack through the HTTP API (with `make run`'s
demo limits) and through the write model, and every count the read models show must equal the
plan's.
"""

import os
import re
import statistics
import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from benchmarks.seed.apply import Seeded, apply_plan
from benchmarks.seed.graph import Follow, Plan, Post, Reaction, Sizes, generate, plan_threshold
from benchmarks.seed.targets import ApiTarget, SeedingStopped, WriteModelTarget
from service_kit.text import clean_text, hashtags_of, is_valid_handle, mentions_of
from tests.support import Stack, make_settings, running_stack

ROOT = Path(__file__).resolve().parent.parent


def small_sizes(**overrides: object) -> Sizes:
    values: dict[str, object] = {
        "users": 20,
        "posts": 40,
        "follows_per_user": 4.0,
        "likes_per_post": 1.0,
        "reposts_per_post": 0.2,
        "large_accounts": 2,
        "fanout_max_followers": 10_000,
    }
    return Sizes(**(values | overrides))  # type: ignore[arg-type]


# -- the plan --------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    sizes = small_sizes(users=50, posts=200)
    assert generate(sizes, 7) == generate(sizes, 7)
    assert generate(sizes, 7).activity != generate(sizes, 8).activity


@hypothesis_settings(max_examples=30, deadline=None)
@given(
    users=st.integers(2, 60),
    posts=st.integers(0, 120),
    follows=st.floats(0.5, 30),
    seed=st.integers(0, 2**32),
    large=st.integers(0, 4),
    threshold=st.integers(1, 80),
)
def test_every_plan_is_one_the_api_accepts(users, posts, follows, seed, large, threshold):
    sizes = Sizes(
        users=users,
        posts=posts,
        follows_per_user=follows,
        large_accounts=large,
        fanout_max_followers=threshold,
    )
    plan = generate(sizes, seed)
    handles = [user.handle for user in plan.users]
    assert all(is_valid_handle(handle) for handle in handles)
    assert len({handle.lower() for handle in handles}) == users
    edges = [(f.follower, f.followee) for f in plan.all_follows]
    assert len(edges) == len(set(edges)), "a follow is planned twice"
    assert all(follower != followee for follower, followee in edges)
    written: set[int] = set()
    reactions: set[tuple[str, int, int]] = set()
    for operation in plan.activity:
        if isinstance(operation, Post):
            assert clean_text(operation.text, newlines=True) == operation.text
            assert 1 <= len(operation.text) <= 280
            assert operation.reply_to is None or operation.reply_to in written
            assert hashtags_of(operation.text) == list(operation.hashtags)
            mentioned = [plan.users[user].handle.lower() for user in operation.mentions]
            assert mentions_of(operation.text) == mentioned
            written.add(operation.index)
        elif isinstance(operation, Reaction):
            assert operation.post in written, "a reaction before its post"
            key = (operation.kind, operation.user, operation.post)
            assert key not in reactions
            reactions.add(key)
        else:
            assert isinstance(operation, Follow)
    assert sorted(written) == list(range(posts))
    followers = plan.expected_counts().followers
    reachable = threshold <= users - 1
    if large and reachable:
        assert sum(1 for count in followers.values() if count >= threshold) >= min(large, users)
    assert bool(plan.notes) == (large > 0 and not reachable)


def test_the_graph_is_power_law_with_replies_likes_reposts_and_hashtags_as_specified():
    sizes = Sizes(users=2000, posts=6000, large_accounts=3, fanout_max_followers=10_000)
    plan = generate(sizes, 1)
    shape = plan.shape()
    followers = sorted(plan.expected_counts().followers.values(), reverse=True)
    # Power-law: the most followed account has tens of times the median, and the top 1% of
    # accounts hold a large share of all follows (uniform choice would give about 1%).
    assert shape["max_followers"] >= 20 * shape["median_followers"]
    assert shape["top_1pct_follower_share"] >= 0.15
    # ... and most accounts hold few: the median is far below the mean.
    assert shape["median_followers"] <= 0.5 * statistics.mean(followers)
    assert (
        abs(shape["follows"] / sizes.users - sizes.follows_per_user) < 0.2 * sizes.follows_per_user
    )
    # Activity is uneven too.
    assert shape["max_posts_by_one_user"] >= 20 * max(1, shape["median_posts_per_user"])
    assert abs(shape["replies"] / sizes.posts - sizes.reply_share) < 0.03
    assert abs(shape["likes"] / sizes.posts - sizes.likes_per_post) < 0.25
    assert abs(shape["reposts"] / sizes.posts - sizes.reposts_per_post) < 0.03
    assert abs(shape["posts_with_hashtags"] / sizes.posts - sizes.hashtag_share) < 0.03
    tags = Counter(tag for post in plan.posts for tag in post.hashtags)
    counts = [count for _, count in tags.most_common()]
    assert counts[0] >= 5 * statistics.median(counts), "trending has a head and a tail"
    # 2,000 users cannot reach 10,000 followers: the plan says how to get large accounts instead.
    assert shape["large_accounts"] == 0
    threshold = plan_threshold(plan, 3)
    assert f"FANOUT_MAX_FOLLOWERS={threshold}" in plan.notes[0]
    assert sum(1 for count in followers if count >= threshold) >= 3


def test_large_accounts_are_topped_up_to_the_threshold_when_the_size_allows():
    plan = generate(small_sizes(users=300, posts=0, large_accounts=3, fanout_max_followers=200), 3)
    followers = plan.expected_counts().followers
    assert sorted(followers.values(), reverse=True)[2] >= 200
    assert plan.shape()["large_accounts"] >= 3
    assert plan.notes == []


# -- written into a stack --------------------------------------------------------------------------


def make_run_demo_limits() -> dict[str, str]:
    """The relaxed limits `make run` starts the embedded stack with (Makefile, DEMO_LIMITS)."""
    makefile = (ROOT / "Makefile").read_text()
    line = re.search(r"^DEMO_LIMITS := (.+)$", makefile, re.MULTILINE)
    assert line is not None, "the Makefile declares DEMO_LIMITS"
    pairs = dict(item.split("=", 1) for item in line.group(1).split())
    assert pairs, "DEMO_LIMITS names the relaxed limits"
    return {name.lower(): value for name, value in pairs.items()}


class Routes(httpx.AsyncBaseTransport):
    """One client for the whole stack, as through the gateway: /command and /query by prefix."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        client = (
            self._stack.command if request.url.path.startswith("/command") else self._stack.query
        )
        answer = await client.send(request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def gateway_client(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=Routes(stack), base_url="http://testserver")


async def assert_read_models_show(stack: Stack, plan: Plan, seeded: Seeded) -> None:
    expected = plan.expected_counts()
    for user in plan.users:
        page = await stack.user_page(user.handle)
        assert (page["followers_count"], page["following_count"], page["posts_count"]) == (
            expected.followers[user.index],
            expected.following[user.index],
            expected.posts[user.index],
        ), user.handle
        assert page["bio"] == user.bio
    for post in plan.posts:
        response = await stack.query.get(f"/query/v1/posts/{seeded.post_ids[post.index]}")
        view = response.json()
        assert view["text"] == post.text
        assert view["author"]["handle"] == plan.users[post.author].handle
        assert (view["like_count"], view["repost_count"], view["reply_count"]) == (
            expected.likes[post.index],
            expected.reposts[post.index],
            expected.replies[post.index],
        )
    # Everyone who wrote or follows an author has a timeline to read.
    followees: dict[int, set[int]] = {}
    for follow in plan.all_follows:
        followees.setdefault(follow.follower, set()).add(follow.followee)
    readers = [
        user
        for user in plan.users
        if expected.posts[user.index]
        or any(expected.posts[f] for f in followees.get(user.index, ()))
    ]
    assert readers
    for reader in readers:
        token = seeded.accounts[reader.index].token
        if token is None:  # written into the write model: sign in as the user would
            session = await stack.command.post(
                "/command/v1/sessions",
                json={"handle": reader.handle, "password": "correct horse battery"},
            )
            token = session.json()["access_token"]
        timeline = await stack.query.get(
            "/query/v1/timeline", headers={"Authorization": f"Bearer {token}"}
        )
        assert timeline.json()["items"], f"{reader.handle}'s timeline is empty"
    explore = (await stack.query.get("/query/v1/explore")).json()["items"]
    assert explore
    tags = Counter(tag for post in plan.posts for tag in post.hashtags)
    trending = (await stack.query.get("/query/v1/explore/hashtags?limit=100")).json()["items"]
    assert {item["tag"]: item["count"] for item in trending} == dict(tags)


async def test_a_plan_seeded_through_the_api_shows_in_the_read_models_counted_exactly():
    plan = generate(small_sizes(), 5)
    threshold = plan_threshold(plan, 2)  # the two most followed accounts are merged on read
    settings = make_settings(fanout_max_followers=threshold, **make_run_demo_limits())
    async with running_stack(settings) as stack, gateway_client(stack) as client:
        target = ApiTarget(client, max_wait=0)
        seeded = await apply_plan(plan, target, concurrency=4)
        assert not await target.wait_projected(0.05), "nothing projected yet: the wait must fail"
        await stack.settle()
        assert await target.wait_projected(5)
        assert target.waits == 0
        await assert_read_models_show(stack, plan, seeded)


async def test_a_plan_seeded_into_the_write_model_shows_in_the_read_models_counted_exactly():
    plan = generate(small_sizes(users=15, posts=30), 6)
    async with running_stack(make_settings()) as stack:
        target = await WriteModelTarget.for_settings(stack.connection, stack.settings)
        seeded = await apply_plan(plan, target, concurrency=4)
        assert not await target.wait_projected(0.05)
        await stack.settle()
        assert await target.wait_projected(5)
        await assert_read_models_show(stack, plan, seeded)


async def test_seeding_a_stack_with_the_default_sign_up_limit_stops_and_says_which_limit():
    plan = generate(small_sizes(users=25, posts=0), 1)
    async with running_stack(make_settings()) as stack, gateway_client(stack) as client:
        with pytest.raises(ExceptionGroup) as raised:
            await apply_plan(plan, ApiTarget(client, max_wait=60), sign_up_concurrency=1)
    (stopped,) = raised.value.exceptions
    assert isinstance(stopped, SeedingStopped)
    assert "429" in str(stopped)
    assert "sign-ups" in str(stopped)


async def test_seeding_twice_into_one_stack_stops_at_the_first_taken_handle():
    plan = generate(small_sizes(users=3, posts=0), 1)
    async with running_stack(make_settings()) as stack:
        target = await WriteModelTarget.for_settings(stack.connection, stack.settings)
        await apply_plan(plan, target)
        with pytest.raises(ExceptionGroup) as raised:
            await apply_plan(plan, target)
    assert "is taken" in str(raised.value.exceptions[0])


def make_run_command(**env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RATE_LIMIT_")}
    environment.pop("MONGODB_URI", None)
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "run"],  # noqa: S607
        cwd=ROOT,
        env=environment | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return dry_run.stdout.splitlines()[-1]


def test_make_run_starts_the_embedded_stack_with_the_demo_limits_unless_they_are_set():
    limits = make_run_demo_limits()
    command = make_run_command()
    for name, value in limits.items():
        assert f"{name.upper()}={value}" in command
    preset = make_run_command(RATE_LIMIT_SIGN_UP_PER_IP="5/hour")
    assert "RATE_LIMIT_SIGN_UP_PER_IP=" not in preset, "a value in the environment wins"
    assert "RATE_LIMIT_WRITES_PER_USER=" in preset
