"""Point 7: rotating refresh tokens, family revocation on reuse, and sign-out."""

from tests.support import PASSWORD, Stack


async def sign_in(stack: Stack, handle: str) -> dict:
    response = await stack.command.post(
        "/command/v1/sessions", json={"handle": handle, "password": PASSWORD}
    )
    assert response.status_code == 200
    return response.json()


async def refresh(stack: Stack, token: str):
    return await stack.command.post("/command/v1/sessions/refresh", json={"refresh_token": token})


async def test_a_refresh_token_rotates_and_gives_a_working_access_token(stack: Stack, alice):
    session = await sign_in(stack, "alice")
    assert session["expires_in"] == stack.settings.jwt_ttl_seconds
    renewed = await refresh(stack, session["refresh_token"])
    assert renewed.status_code == 200
    pair = renewed.json()
    assert pair["refresh_token"] != session["refresh_token"]
    post = await stack.command.post(
        "/command/v1/posts",
        json={"text": "hi"},
        headers={"Authorization": f"Bearer {pair['access_token']}"},
    )
    assert post.status_code == 201


async def test_reusing_a_refresh_token_revokes_its_whole_family(stack: Stack, alice):
    session = await sign_in(stack, "alice")
    other_session = await sign_in(stack, "alice")
    stolen = session["refresh_token"]
    legit = (await refresh(stack, stolen)).json()["refresh_token"]

    replay = await refresh(stack, stolen)
    assert replay.status_code == 401
    assert replay.headers["content-type"] == "application/problem+json"
    assert (await refresh(stack, legit)).status_code == 401  # the family is gone
    assert (await refresh(stack, other_session["refresh_token"])).status_code == 200


async def test_sign_out_ends_the_session(stack: Stack, alice):
    session = await sign_in(stack, "alice")
    out = await stack.command.delete(
        "/command/v1/sessions", headers={"Authorization": f"Bearer {session['access_token']}"}
    )
    assert out.status_code == 204
    assert (await refresh(stack, session["refresh_token"])).status_code == 401


async def test_forged_or_garbage_refresh_tokens_are_401(stack: Stack, alice):
    session = await sign_in(stack, "alice")
    token_id = session["refresh_token"].split(".")[0]
    for token in [f"{token_id}.wrong-secret", "nonsense", ".", "x" * 200]:
        assert (await refresh(stack, token)).status_code == 401, token
    assert (await refresh(stack, session["refresh_token"])).status_code == 200


async def test_sign_out_needs_an_access_token(stack: Stack):
    assert (await stack.command.delete("/command/v1/sessions")).status_code == 401
