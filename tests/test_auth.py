"""Every write, and the home timeline, needs a valid token."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from service_kit.tokens import LEEWAY_SECONDS
from service_kit.write_model import FOLLOWS, POSTS
from tests.support import PROBLEM_JSON, Stack, User


def forged_token(stack: Stack, user: User, *, secret: str | None = None, **claims) -> str:
    now = datetime.now(UTC)
    payload = {
        "sub": user.id,
        "handle": user.handle,
        "iss": "microblog",
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    payload.update(claims)
    return jwt.encode(
        payload, secret or stack.settings.jwt_secret.get_secret_value(), algorithm="HS256"
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic YWRhOnB3"},
        {"Authorization": "Bearer"},
    ],
)
async def test_writes_without_a_valid_token_are_401(stack: Stack, alice: User, headers):
    attempts = [
        stack.command.post("/command/v1/posts", json={"text": "hi"}, headers=headers),
        stack.command.delete("/command/v1/posts/6b0000000000000000000000", headers=headers),
        stack.command.put("/command/v1/users/alice/follow", headers=headers),
        stack.command.delete("/command/v1/users/alice/follow", headers=headers),
        stack.query.get("/query/v1/timeline", headers=headers),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 401, response.request.url
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert await stack.database[POSTS].count_documents({}) == 0
    assert await stack.database[FOLLOWS].count_documents({}) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": datetime.now(UTC) - timedelta(seconds=LEEWAY_SECONDS + 5)},
        {"secret": "another-secret-that-is-long-enough-to-sign"},
        {"iss": "someone-else"},
    ],
    ids=["expired", "wrong-secret", "wrong-issuer"],
)
async def test_expired_or_forged_tokens_are_401(stack: Stack, alice: User, changes):
    token = forged_token(stack, alice, **changes)

    response = await stack.command.post(
        "/command/v1/posts", json={"text": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401
    assert await stack.database[POSTS].count_documents({}) == 0


async def test_a_token_signed_with_none_algorithm_is_rejected(stack: Stack, alice: User):
    token = jwt.encode(
        {"sub": alice.id, "handle": "alice", "iss": "microblog", "iat": 0, "exp": 2**31},
        None,
        algorithm="none",
    )

    response = await stack.command.post(
        "/command/v1/posts", json={"text": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401
