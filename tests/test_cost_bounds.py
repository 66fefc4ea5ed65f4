"""Point 1: a request's cost is bounded: hashing slots, body size, size of validation answers."""

import asyncio
import json

import pytest

from command_service.passwords import HashingBusy, Passwords
from service_kit.write_model import USERS
from tests.support import PROBLEM_JSON, Stack, make_settings, running_stack


def test_the_hashing_cap_follows_the_memory_budget():
    settings = make_settings(password_hash_memory_kib=65536, password_hash_memory_budget_mib=384)
    assert settings.password_hash_concurrency == 6
    tiny = make_settings(password_hash_memory_kib=65536, password_hash_memory_budget_mib=1)
    assert tiny.password_hash_concurrency == 1


async def test_hashes_beyond_the_cap_wait_then_are_refused():
    passwords = Passwords(
        make_settings(
            password_hash_memory_kib=64,
            password_hash_memory_budget_mib=1,  # 1024 KiB / 64 KiB = 16 slots
            password_hash_queue_timeout_ms=50,
        )
    )
    assert passwords.concurrency == 16
    release = asyncio.Event()
    running = 0
    peak = 0

    def slow_hash(password: str) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result()
        running -= 1
        return "hash"

    loop = asyncio.get_running_loop()
    passwords._hasher = type("Slow", (), {"hash": staticmethod(slow_hash)})()  # type: ignore[assignment]
    first = [asyncio.create_task(passwords.hash("pw")) for _ in range(16)]
    await asyncio.sleep(0.05)
    refused = await asyncio.gather(passwords.hash("pw"), return_exceptions=True)
    release.set()
    assert await asyncio.gather(*first) == ["hash"] * 16
    assert isinstance(refused[0], HashingBusy)
    assert peak == 16
    passwords.close()


async def test_a_sign_in_that_finds_no_hashing_slot_is_503_with_retry_after(stack: Stack):
    async def busy(*args, **kwargs):
        raise HashingBusy

    passwords = stack.command._transport.app.state.passwords  # type: ignore[attr-defined]
    passwords._run = busy
    response = await stack.command.post(
        "/command/v1/sessions", json={"handle": "alice", "password": "whatever!"}
    )
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    assert int(response.headers["retry-after"]) > 0


async def test_a_body_over_the_limit_is_413_before_parsing(stack: Stack):
    big = json.dumps({"handle": "alice", "password": "x" * 70_000, "display_name": "A"})
    response = await stack.command.post(
        "/command/v1/users", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == 413
    assert await stack.database[USERS].count_documents({}) == 0


async def test_a_chunked_body_over_the_limit_is_413_too(stack: Stack):
    async def chunks():
        for _ in range(100):
            yield b"x" * 1024

    response = await stack.command.post(
        "/command/v1/posts", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_the_body_limit_is_configurable():
    async with running_stack(make_settings(max_body_bytes=2048)) as stack:
        body = {"handle": "alice", "password": "p" * 3000, "display_name": "Alice"}
        response = await stack.command.post("/command/v1/users", json=body)
    assert response.status_code == 413


async def test_many_unknown_keys_get_a_bounded_answer(stack: Stack):
    body = json.dumps({f"key{i}": i for i in range(3000)})
    assert len(body) < 64 * 1024
    response = await stack.command.post(
        "/command/v1/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    problem = response.json()
    assert len(problem["errors"]) == 20
    assert problem["errors_omitted"] > 2900
    assert len(response.content) < 5000


async def test_beyond_the_waiting_room_a_hash_is_refused_at_once():
    passwords = Passwords(
        make_settings(
            password_hash_memory_kib=64,
            password_hash_memory_budget_mib=1,
            password_hash_queue_timeout_ms=60_000,
            password_hash_max_waiting=2,
        )
    )
    for _ in range(passwords.concurrency):
        await passwords._slots.acquire()  # every slot busy
    waiting = [asyncio.create_task(passwords.hash("pw")) for _ in range(2)]
    await asyncio.sleep(0)
    assert passwords._waiting == 2
    with pytest.raises(HashingBusy):
        # Refused at once, not after the 60 s queue timeout (the guard only stops a hang).
        await asyncio.wait_for(passwords.hash("pw"), 10)
    for task in waiting:
        task.cancel()
    passwords.close()
