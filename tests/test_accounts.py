"""Signing up and signing in."""

import jwt
import pytest

from service_kit.write_model import USERS
from tests.support import PASSWORD, PROBLEM_JSON, Stack


async def test_signing_up_returns_the_new_account(stack: Stack):
    response = await stack.command.post(
        "/command/v1/users",
        json={"handle": "Ada_1815", "password": PASSWORD, "display_name": " Ada "},
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "handle", "display_name"}
    assert body["handle"] == "Ada_1815"
    assert body["display_name"] == "Ada"
    assert len(body["id"]) == 24


async def test_the_password_is_stored_only_as_an_argon2_hash(stack: Stack):
    await stack.sign_up("ada")

    stored = await stack.database[USERS].find_one({"handle_lower": "ada"})

    assert stored is not None
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(stored)


async def test_a_handle_is_taken_whatever_its_case(stack: Stack):
    await stack.sign_up("ada")

    response = await stack.command.post(
        "/command/v1/users", json={"handle": "ADA", "password": PASSWORD, "display_name": "Other"}
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "urn:microblog:problem:handle-taken"
    assert await stack.database[USERS].count_documents({}) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"handle": "ab", "password": PASSWORD, "display_name": "A"}, "handle"),
        ({"handle": "a" * 31, "password": PASSWORD, "display_name": "A"}, "handle"),
        ({"handle": "no spaces", "password": PASSWORD, "display_name": "A"}, "handle"),
        ({"handle": "dash-ed", "password": PASSWORD, "display_name": "A"}, "handle"),
        ({"handle": "ada", "password": "short", "display_name": "A"}, "password"),
        ({"handle": "ada", "password": PASSWORD, "display_name": "   "}, "display_name"),
        ({"handle": "ada", "password": PASSWORD}, "display_name"),
        ({"handle": "ada", "password": PASSWORD, "display_name": "A", "admin": True}, "admin"),
        ({"handle": 42, "password": PASSWORD, "display_name": "A"}, "handle"),
    ],
)
async def test_invalid_sign_ups_name_the_failing_field(stack: Stack, body, field):
    response = await stack.command.post("/command/v1/users", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["status"] == 422
    assert field in [error["field"] for error in problem["errors"]]
    assert await stack.database[USERS].count_documents({}) == 0


async def test_malformed_json_is_a_bad_request(stack: Stack):
    response = await stack.command.post(
        "/command/v1/users",
        content=b'{"handle": "ada",',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["type"] == "urn:microblog:problem:malformed-json"


async def test_signing_in_issues_a_bearer_token_for_the_user(stack: Stack):
    account = (
        await stack.command.post(
            "/command/v1/users", json={"handle": "ada", "password": PASSWORD, "display_name": "Ada"}
        )
    ).json()

    response = await stack.command.post(
        "/command/v1/sessions", json={"handle": "ADA", "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == stack.settings.jwt_ttl_seconds
    claims = jwt.decode(
        body["access_token"],
        stack.settings.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        issuer="microblog",
    )
    assert claims["sub"] == account["id"]
    assert claims["exp"] - claims["iat"] == stack.settings.jwt_ttl_seconds


async def test_a_wrong_password_and_an_unknown_handle_get_the_same_401(stack: Stack):
    await stack.sign_up("ada")

    wrong_password = await stack.command.post(
        "/command/v1/sessions", json={"handle": "ada", "password": "not it at all"}
    )
    unknown_handle = await stack.command.post(
        "/command/v1/sessions", json={"handle": "nobody", "password": PASSWORD}
    )

    assert wrong_password.status_code == unknown_handle.status_code == 401
    assert wrong_password.json() == unknown_handle.json()
    assert wrong_password.headers["content-type"] == PROBLEM_JSON


async def test_a_sign_up_race_is_settled_by_the_unique_index(stack: Stack, monkeypatch):
    from command_service.commands import accounts

    async def nobody_yet(database, handle):  # both requests pass the early check, as in a race
        return None

    await stack.sign_up("ada")
    monkeypatch.setattr(accounts.users, "find_user_by_handle", nobody_yet)

    response = await stack.command.post(
        "/command/v1/users", json={"handle": "Ada", "password": PASSWORD, "display_name": "Second"}
    )

    assert response.status_code == 409
    assert await stack.database[USERS].count_documents({}) == 1
