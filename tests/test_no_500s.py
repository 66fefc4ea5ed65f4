"""Point 2: every client-controlled value is used or refused with a 4xx, never a 500.

Hypothesis fuzzes the decoders (cursors, ids, tokens), extreme values included, and the HTTP
routes that take them.
"""

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

import jwt
from bson import BSON
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from query_service.read_models.pagination import InvalidCursor, Position, decode_cursor
from query_service.read_models.pagination import encode_cursor as encode
from service_kit.ids import is_post_id, parse_object_id
from service_kit.tokens import InvalidToken, verify_access_token
from service_kit.write_model import POSTS
from tests.support import PROBLEM_JSON, Stack, User, make_settings

MINUTES = 23 * 60 + 59  # UTC offsets are whole minutes, less than a day


def offset(minutes: int) -> timezone:
    return timezone(timedelta(minutes=minutes))


SETTINGS = make_settings()
SECRET = SETTINGS.jwt_secret.get_secret_value()  # type: ignore[union-attr]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@FUZZ
@given(st.text() | st.binary().map(lambda raw: raw.decode("latin-1")))
def test_a_cursor_decodes_to_a_position_mongodb_can_store_or_is_invalid(cursor: str):
    try:
        position = decode_cursor(cursor)
    except InvalidCursor:
        return
    BSON.encode({"t": position.created_at, "id": position.id})  # no OverflowError, no surrogate


@FUZZ
@given(st.datetimes(timezones=st.integers(-MINUTES, MINUTES).map(offset)), st.text())
@example(datetime.max.replace(tzinfo=offset(-MINUTES)), "x")  # past year 9999 in UTC
@example(datetime.min.replace(tzinfo=offset(MINUTES)), "x")  # before year 1 in UTC
def test_any_position_round_trips_through_a_cursor_or_is_refused(moment: datetime, item_id: str):
    try:
        decoded = decode_cursor(encode(Position(moment, item_id)))
    except InvalidCursor:
        return
    assert decoded.created_at == moment
    BSON.encode({"t": decoded.created_at, "id": decoded.id})


@FUZZ
@given(st.text())
def test_an_id_parses_or_is_none(value: str):
    parsed = parse_object_id(value)
    assert parsed is None or len(str(parsed)) == 24
    assert not is_post_id(value) or parsed is not None


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["sub", "handle", "iss", "iat", "exp", "nbf", "sid", "aud"]), json_values
    )
)
def test_any_signed_claims_verify_or_raise_invalid_token(claims: dict):
    try:
        token = jwt.encode(claims, SECRET, algorithm="HS256")
    except (TypeError, ValueError, OverflowError):
        return  # pyjwt cannot even sign these
    try:
        principal = verify_access_token(SETTINGS, token)
    except InvalidToken:
        return
    assert is_post_id(principal.user_id)


@FUZZ
@given(st.text(max_size=300))
def test_any_bearer_text_verifies_or_raises_invalid_token(token: str):
    with contextlib.suppress(InvalidToken):
        verify_access_token(SETTINGS, token)


def _signed(**claims) -> str:
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def test_a_token_whose_subject_is_not_an_id_is_401(stack: Stack, alice: User):
    now = datetime.now(UTC)
    token = _signed(
        sub="not-an-id", handle="x", iss="microblog", iat=now, exp=now + timedelta(minutes=1)
    )
    response = await stack.command.post(
        "/command/v1/posts", json={"text": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM_JSON


async def test_a_token_for_a_user_that_does_not_exist_writes_nothing(stack: Stack, alice: User):
    now = datetime.now(UTC)
    token = _signed(
        sub="6b0000000000000000000000",
        handle="ghost",
        iss="microblog",
        iat=now,
        exp=now + timedelta(minutes=5),
    )
    headers = {"Authorization": f"Bearer {token}"}
    for response in [
        await stack.command.post("/command/v1/posts", json={"text": "hi"}, headers=headers),
        await stack.command.put("/command/v1/users/alice/follow", headers=headers),
    ]:
        assert response.status_code == 401, response.text
    assert await stack.database[POSTS].count_documents({}) == 0


async def test_a_token_that_lives_longer_than_issued_ones_is_401(stack: Stack, alice: User):
    now = datetime.now(UTC)
    token = _signed(
        sub=alice.id, handle="alice", iss="microblog", iat=now, exp=now + timedelta(days=3650)
    )
    response = await stack.command.post(
        "/command/v1/posts", json={"text": "hi"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


async def test_a_token_issued_in_the_future_is_401(stack: Stack, alice: User):
    later = datetime.now(UTC) + timedelta(hours=1)
    token = _signed(
        sub=alice.id, handle="alice", iss="microblog", iat=later, exp=later + timedelta(60)
    )
    response = await stack.query.get(
        "/query/v1/timeline", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=st.text(max_size=60))
async def test_fuzzed_cursors_ids_and_handles_over_http_are_never_5xx(stack: Stack, value: str):
    in_path = quote(value, safe="")
    requests = [
        lambda: stack.query.get("/query/v1/users/alice/posts", params={"cursor": value}),
        lambda: stack.query.get(f"/query/v1/posts/{in_path}"),
        lambda: stack.query.get(f"/query/v1/users/{in_path}"),
        lambda: stack.command.post(
            "/command/v1/sessions", json={"handle": value, "password": value or "x"}
        ),
        lambda: stack.command.post("/command/v1/users", json={"handle": value, "password": value}),
    ]
    for request in requests:
        response = await request()
        assert response.status_code < 500, (response.request.url, response.text)


async def test_strings_that_cannot_be_utf8_are_422_not_500(stack: Stack, alice: User):
    surrogate = '"\\ud800"'
    bodies = [
        ("/command/v1/posts", '{"text": ' + surrogate + "}"),
        (
            "/command/v1/users",
            '{"handle": "carol", "password": '
            + surrogate * 0
            + '"x\\ud800xxxxxx", "display_name": "C"}',
        ),
        ("/command/v1/sessions", '{"handle": "alice", "password": "\\udfff-password"}'),
    ]
    for path, body in bodies:
        response = await stack.command.post(
            path, content=body, headers={**alice.auth, "Content-Type": "application/json"}
        )
        assert response.status_code == 422, (path, response.text)
