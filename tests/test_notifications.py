"""User stories: notifications of likes, reposts, replies, mentions and follows, and read marks."""

import base64
import json
from typing import Any

import httpx
from bson import ObjectId

from command_service.write_model import blocks
from service_kit.clock import utc_now
from service_kit.notification_ids import NotificationPosition, encode_notification_id
from tests.support import PROBLEM_JSON, Stack, User, make_settings, running_stack


async def notifications(user: User, **params: Any) -> dict[str, Any]:
    response = await user.stack.query.get(
        "/query/v1/notifications", params=params, headers=user.auth
    )
    assert response.status_code == 200, response.text
    return response.json()


async def mark_read(user: User, up_to: Any) -> httpx.Response:
    return await user.stack.command.post(
        "/command/v1/notifications/read", json={"up_to": up_to}, headers=user.auth
    )


async def react(user: User, method: str, post_id: str, what: str = "like") -> None:
    response = await user.stack.command.request(
        method, f"/command/v1/posts/{post_id}/{what}", headers=user.auth
    )
    assert response.status_code == 204, response.text


def kinds(page: dict[str, Any]) -> list[str]:
    return [item["kind"] for item in page["items"]]


async def test_everything_others_do_to_you_arrives_newest_first_with_actor_and_post(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("hello")
    await bob.follow("alice")
    await react(bob, "PUT", post["id"])
    await react(bob, "PUT", post["id"], "repost")
    reply = await bob.post("hi @alice", reply_to=post["id"])  # a reply, not also a mention
    mention = await bob.post("look, @alice and @bob")  # bob mentions himself too
    await stack.settle()

    page = await notifications(alice)
    assert kinds(page) == ["mention", "reply", "repost", "like", "follow"]
    assert {item["actor"]["handle"] for item in page["items"]} == {"bob"}
    assert [item["post"]["id"] if item["post"] else None for item in page["items"]] == [
        mention["id"],
        reply["id"],
        post["id"],
        post["id"],
        None,
    ]
    assert page["items"][0]["post"]["author"]["handle"] == "bob"
    assert page["unread_count"] == 5
    assert page["unread_count_capped"] is False
    assert not any(item["read"] for item in page["items"])
    assert (await notifications(bob))["items"] == []  # nothing for what he did himself


async def test_you_are_never_notified_of_what_you_do_yourself(stack: Stack, alice: User):
    post = await alice.post("me, @alice")
    await react(alice, "PUT", post["id"])
    await react(alice, "PUT", post["id"], "repost")
    await alice.post("again", reply_to=post["id"])
    await stack.settle()
    assert await notifications(alice) == {
        "items": [],
        "next_cursor": None,
        "unread_count": 0,
        "unread_count_capped": False,
    }


async def test_undoing_retracts_the_notification_and_deleting_a_post_retracts_all_about_it(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("hello")
    await bob.follow("alice")
    await react(bob, "PUT", post["id"])
    await react(bob, "PUT", post["id"], "repost")
    reply = await bob.post("hi", reply_to=post["id"])
    mention = await bob.post("@alice!")
    await stack.settle()
    assert len((await notifications(alice))["items"]) == 5

    await react(bob, "DELETE", post["id"])
    await bob.unfollow("alice")
    await bob.delete(mention["id"])
    await stack.settle()
    assert kinds(await notifications(alice)) == ["reply", "repost"]

    await bob.delete(reply["id"])
    await stack.settle()
    assert kinds(await notifications(alice)) == ["repost"]
    await react(bob, "PUT", post["id"])
    await stack.settle()
    await alice.delete(post["id"])  # its like and repost go with it
    await stack.settle()
    assert (await notifications(alice))["items"] == []


async def test_marking_read_moves_forward_only(stack: Stack, alice: User, bob: User):
    await bob.follow("alice")
    post = await alice.post("hello")
    await react(bob, "PUT", post["id"])
    await stack.settle()
    newest, oldest = (await notifications(alice))["items"]

    assert (await mark_read(alice, oldest["id"])).status_code == 204
    await stack.settle()
    page = await notifications(alice)
    assert page["unread_count"] == 1
    assert [item["read"] for item in page["items"]] == [False, True]

    marked = await mark_read(alice, newest["id"])
    assert marked.status_code == 204
    assert "X-Consistency-Token" in marked.headers
    backwards = await mark_read(alice, oldest["id"])
    assert backwards.status_code == 204
    assert "X-Consistency-Token" not in backwards.headers
    await stack.settle()
    page = await notifications(alice)
    assert page["unread_count"] == 0
    assert [item["read"] for item in page["items"]] == [True, True]

    await react(await stack.sign_up("carol"), "PUT", post["id"])
    await stack.settle()
    page = await notifications(alice)
    assert page["unread_count"] == 1
    assert page["items"][0]["read"] is False


async def test_notifications_page_like_the_timeline(stack: Stack, alice: User):
    fans = [await stack.sign_up(f"fan{n}") for n in range(5)]
    for fan in fans:
        await fan.follow("alice")
    await stack.settle()

    first = await notifications(alice, limit=2)
    second = await notifications(alice, limit=2, cursor=first["next_cursor"])
    third = await notifications(alice, limit=2, cursor=second["next_cursor"])
    handles = [i["actor"]["handle"] for p in (first, second, third) for i in p["items"]]
    assert handles == ["fan4", "fan3", "fan2", "fan1", "fan0"]
    assert third["next_cursor"] is None
    assert first["unread_count"] == 5


async def test_the_unread_count_stops_at_its_cap():
    async with running_stack(make_settings(rate_limits_enabled=False)) as stack:
        alice = await stack.sign_up("alice")
        fans = [await stack.sign_up(f"fan{n}") for n in range(4)]
        posts = [await alice.post(f"post {n}") for n in range(26)]
        for fan in fans:
            for post in posts:
                await react(fan, "PUT", post["id"])
        await stack.settle()
        page = await notifications(alice, limit=1)
    assert (page["unread_count"], page["unread_count_capped"]) == (100, True)


async def test_blocking_hides_the_blocked_accounts_notifications(
    stack: Stack, alice: User, bob: User
):
    post = await alice.post("hello")
    await react(bob, "PUT", post["id"])
    await bob.follow("alice")
    carol = await stack.sign_up("carol")
    await carol.follow("alice")
    await stack.settle()
    assert (await notifications(alice))["unread_count"] == 3

    await blocks.upsert_block(stack.database, ObjectId(alice.id), ObjectId(bob.id))
    await bob.post("@alice are you there?")  # a blocked account cannot mention-notify her
    await stack.settle()
    page = await notifications(alice)
    assert [item["actor"]["handle"] for item in page["items"]] == ["carol"]
    assert page["unread_count"] == 1

    # Unblocking shows what still exists again: notifications follow the current write model.
    await blocks.delete_block(stack.database, ObjectId(alice.id), ObjectId(bob.id))
    await stack.settle()
    assert kinds(await notifications(alice)) == ["mention", "follow", "follow", "like"]


async def test_notifications_need_a_token_and_a_valid_id(stack: Stack, alice: User):
    for response in (
        await stack.query.get("/query/v1/notifications"),
        await stack.command.post("/command/v1/notifications/read", json={"up_to": "x"}),
    ):
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM_JSON
    made_up = encode_notification_id(NotificationPosition(utc_now(), "like:a:b"))
    assert (await mark_read(alice, made_up)).status_code == 204  # opaque but well-formed
    surrogate = base64.urlsafe_b64encode(
        json.dumps({"t": "2026-01-01T00:00:00+00:00", "k": "\ud800"}).encode()
    ).decode()
    naive = base64.urlsafe_b64encode(b'{"t":"2026-01-01T00:00:00","k":"x"}').decode()
    for bad in ("", "not-an-id", "eyJ0IjoxfQ", None, 5, "a" * 401, surrogate, naive):
        refused = await mark_read(alice, bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == PROBLEM_JSON
    refused = await alice.stack.command.post(
        "/command/v1/notifications/read", json={}, headers=alice.auth
    )
    assert refused.status_code == 422
    bad_cursor = await stack.query.get(
        "/query/v1/notifications", params={"cursor": "zz"}, headers=alice.auth
    )
    assert bad_cursor.status_code == 400
    for limit in (0, 101):
        bad_limit = await stack.query.get(
            "/query/v1/notifications", params={"limit": limit}, headers=alice.auth
        )
        assert bad_limit.status_code == 422
        assert bad_limit.headers["content-type"] == PROBLEM_JSON
