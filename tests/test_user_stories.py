"""Stories across both services: a write lands, the projector carries it, the query side shows it."""

from tests.support import Stack, User


async def test_a_followers_timeline_shows_a_post_once_projected(
    stack: Stack, alice: User, bob: User
):
    await bob.follow("alice")
    post = await alice.post("hello, followers")

    await stack.settle()

    timeline = await bob.timeline()
    assert [item["id"] for item in timeline["items"]] == [post["id"]]
    shown = timeline["items"][0]
    assert shown["author"] == {"id": alice.id, "handle": "alice", "display_name": "Alice"}
    assert shown["text"] == "hello, followers"
    assert (shown["like_count"], shown["repost_count"], shown["reply_count"]) == (0, 0, 0)
    assert timeline["next_cursor"] is None


async def test_the_home_timeline_has_your_own_posts_and_no_strangers(
    stack: Stack, alice: User, bob: User
):
    carol = await stack.sign_up("carol")
    await bob.follow("alice")
    from_alice = await alice.post("from alice")
    from_bob = await bob.post("from bob")
    await carol.post("from a stranger")

    await stack.settle()

    assert await bob.timeline_ids() == [from_bob["id"], from_alice["id"]]
    assert await alice.timeline_ids() == [from_alice["id"]]


async def test_following_someone_brings_their_earlier_posts_in(
    stack: Stack, alice: User, bob: User
):
    older = [await alice.post(f"earlier {n}") for n in range(3)]
    await stack.settle()

    await bob.follow("alice")
    await stack.settle()

    assert await bob.timeline_ids() == [post["id"] for post in reversed(older)]


async def test_unfollowing_takes_their_posts_out(stack: Stack, alice: User, bob: User):
    await bob.follow("alice")
    await alice.post("you will not see this for long")
    own = await bob.post("mine stays")
    await stack.settle()

    await bob.unfollow("alice")
    await stack.settle()

    assert await bob.timeline_ids() == [own["id"]]


async def test_a_deleted_post_disappears_everywhere(stack: Stack, alice: User, bob: User):
    await bob.follow("alice")
    kept = await alice.post("kept")
    gone = await alice.post("regretted")
    await stack.settle()
    assert gone["id"] in await bob.timeline_ids()

    assert (await alice.delete(gone["id"])).status_code == 204
    await stack.settle()

    assert await bob.timeline_ids() == [kept["id"]]
    assert await alice.timeline_ids() == [kept["id"]]
    assert (await stack.query.get(f"/query/v1/posts/{gone['id']}")).status_code == 404
    authored = (await stack.query.get("/query/v1/users/alice/posts")).json()
    assert [post["id"] for post in authored["items"]] == [kept["id"]]
    assert (await stack.user_page("alice"))["posts_count"] == 1


async def test_profile_counts_follow_the_social_graph(stack: Stack, alice: User, bob: User):
    carol = await stack.sign_up("carol")
    await bob.follow("alice")
    await carol.follow("alice")
    await alice.follow("carol")
    await alice.post("one")
    await alice.post("two")
    await stack.settle()

    page = await stack.user_page("ALICE")
    assert page["handle"] == "alice"
    assert (page["followers_count"], page["following_count"], page["posts_count"]) == (2, 1, 2)
    assert page["bio"] == ""
    assert page["id"] == alice.id

    await carol.unfollow("alice")
    await stack.settle()
    assert (await stack.user_page("alice"))["followers_count"] == 1
    assert (await stack.user_page("carol"))["following_count"] == 0


async def test_a_post_counts_its_live_replies(stack: Stack, alice: User, bob: User):
    question = await alice.post("question?")
    first = await bob.post("answer one", reply_to=question["id"])
    await bob.post("answer two", reply_to=question["id"])
    await stack.settle()

    shown = (await stack.query.get(f"/query/v1/posts/{question['id']}")).json()
    assert shown["reply_count"] == 2
    reply = (await stack.query.get(f"/query/v1/posts/{first['id']}")).json()
    assert reply["reply_to"] == question["id"]

    await bob.delete(first["id"])
    await stack.settle()
    assert (await stack.query.get(f"/query/v1/posts/{question['id']}")).json()["reply_count"] == 1


async def test_a_users_posts_page_lists_their_posts_newest_first(
    stack: Stack, alice: User, bob: User
):
    posts = [await alice.post(f"post {n}") for n in range(4)]
    await bob.post("not alice's")
    await stack.settle()

    page = (await stack.query.get("/query/v1/users/alice/posts")).json()

    assert [post["id"] for post in page["items"]] == [post["id"] for post in reversed(posts)]
    assert page["next_cursor"] is None


async def test_nothing_shows_before_the_projector_has_run(stack: Stack, alice: User, bob: User):
    await bob.follow("alice")
    post = await alice.post("not yet")

    assert (await stack.query.get(f"/query/v1/posts/{post['id']}")).status_code == 404
    await stack.settle()
    assert (await stack.query.get(f"/query/v1/posts/{post['id']}")).status_code == 200
