"""Every client-controlled value of the engagement endpoints is used or refused with a 4xx.

Hypothesis fuzzes the notification id decoder (what `POST /notifications/read` stores must be a
position MongoDB can store) and the routes that take ids, cursors, read marks and bios.
"""

from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from bson import BSON
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service_kit.notification_ids import (
    InvalidNotificationId,
    NotificationPosition,
    decode_notification_id,
    encode_notification_id,
)
from tests.support import PROBLEM_JSON, Stack, User

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
MINUTES = 23 * 60 + 59
offsets = st.integers(-MINUTES, MINUTES).map(lambda m: timezone(timedelta(minutes=m)))


@FUZZ
@given(st.text() | st.binary().map(lambda raw: raw.decode("latin-1")))
def test_a_notification_id_decodes_to_a_storable_position_or_is_invalid(value: str):
    try:
        position = decode_notification_id(value)
    except InvalidNotificationId:
        return
    BSON.encode({"t": position.created_at, "k": position.key})


@FUZZ
@given(st.datetimes(timezones=offsets), st.text(min_size=1, max_size=120))
@example(datetime.max.replace(tzinfo=timezone(timedelta(minutes=-MINUTES))), "x")
def test_any_position_round_trips_through_a_notification_id_or_is_refused(
    moment: datetime, key: str
):
    try:
        decoded = decode_notification_id(encode_notification_id(NotificationPosition(moment, key)))
    except (InvalidNotificationId, OverflowError):
        return
    assert (decoded.created_at, decoded.key) == (moment, key)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=st.text(max_size=60))
async def test_fuzzed_engagement_requests_are_never_5xx(stack: Stack, alice: User, value: str):
    in_path = quote(value, safe="")
    requests = [
        lambda: stack.command.put(f"/command/v1/posts/{in_path}/like", headers=alice.auth),
        lambda: stack.command.delete(f"/command/v1/posts/{in_path}/repost", headers=alice.auth),
        lambda: stack.query.get(f"/query/v1/posts/{in_path}/likes"),
        lambda: stack.query.get(
            "/query/v1/notifications", params={"cursor": value}, headers=alice.auth
        ),
        lambda: stack.command.post(
            "/command/v1/notifications/read", json={"up_to": value}, headers=alice.auth
        ),
        lambda: stack.command.patch(
            "/command/v1/users/me", json={"bio": value}, headers=alice.auth
        ),
    ]
    for request in requests:
        response = await request()
        assert response.status_code < 500, (response.request.url, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == PROBLEM_JSON
