"""Point 5: rate limits on shared MongoDB counters; forwarded addresses only from trusted proxies."""

import asyncio

from service_kit.rate_limits import RATE_LIMIT_COUNTERS, MongoCounterStorage
from service_kit.write_model import POSTS
from tests.support import PASSWORD, running_stack
from tests.support import make_settings as settings_with


async def sign_in(stack, handle, headers=None):
    return await stack.command.post(
        "/command/v1/sessions",
        json={"handle": handle, "password": "wrong password"},
        headers=headers or {},
    )


async def test_sign_in_is_limited_per_client_ip_with_429_and_retry_after():
    async with running_stack(settings_with(rate_limit_sign_in_per_ip="3/minute")) as stack:
        statuses = [(await sign_in(stack, f"user{i}")).status_code for i in range(4)]
        refused = await sign_in(stack, "another")
    assert statuses == [401, 401, 401, 429]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["retry-after"]) <= 60


async def test_sign_in_is_limited_per_handle_whatever_the_case():
    async with running_stack(settings_with(rate_limit_sign_in_per_handle="2/minute")) as stack:
        statuses = [(await sign_in(stack, handle)).status_code for handle in ("bob", "BOB", "Bob")]
    assert statuses == [401, 401, 429]


async def test_sign_up_is_limited_per_client_ip():
    async with running_stack(settings_with(rate_limit_sign_up_per_ip="1/hour")) as stack:
        await stack.sign_up("alice")
        body = {"handle": "bob", "password": PASSWORD, "display_name": "Bob"}
        response = await stack.command.post("/command/v1/users", json=body)
    assert response.status_code == 429


async def test_writes_are_limited_per_user():
    async with running_stack(settings_with(rate_limit_writes_per_user="2/minute")) as stack:
        alice = await stack.sign_up("alice")
        bob = await stack.sign_up("bob")
        statuses = [
            (
                await stack.command.post(
                    "/command/v1/posts", json={"text": f"{i}"}, headers=alice.auth
                )
            ).status_code
            for i in range(3)
        ]
        bobs = await stack.command.post("/command/v1/posts", json={"text": "b"}, headers=bob.auth)
        assert statuses == [201, 201, 429]
        assert bobs.status_code == 201
        assert await stack.database[POSTS].count_documents({}) == 3


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy():
    limits = {"rate_limit_sign_in_per_ip": "1/minute"}
    async with running_stack(settings_with(**limits)) as stack:  # the test client is not trusted
        first = await sign_in(stack, "a", {"X-Forwarded-For": "198.51.100.1"})
        spoofed = await sign_in(stack, "b", {"X-Forwarded-For": "198.51.100.2"})
    assert (first.status_code, spoofed.status_code) == (401, 429)

    # httpx's ASGI transport connects from 127.0.0.1: make it the trusted Ingress.
    trusted = settings_with(trusted_proxies="127.0.0.1/32, 10.0.0.0/8", **limits)
    async with running_stack(trusted) as stack:
        one = await sign_in(stack, "a", {"X-Forwarded-For": "evil, 198.51.100.1, 10.1.2.3"})
        other = await sign_in(stack, "b", {"X-Forwarded-For": "198.51.100.2"})
        same = await sign_in(stack, "c", {"X-Forwarded-For": "forged, 198.51.100.1"})
    assert (one.status_code, other.status_code, same.status_code) == (401, 401, 429)


async def test_counters_are_shared_documents_so_replicas_agree():
    async with running_stack(settings_with()) as stack:
        replica_a = MongoCounterStorage(stack.database)
        replica_b = MongoCounterStorage(stack.database)
        counts = await asyncio.gather(
            *(replica.incr("k", 60) for replica in [replica_a, replica_b] * 5)
        )
        assert sorted(counts) == list(range(1, 11))
        assert await replica_b.get("k") == 10
        assert await stack.database[RATE_LIMIT_COUNTERS].count_documents({}) == 1
