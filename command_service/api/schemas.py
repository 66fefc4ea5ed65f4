"""Request and response bodies of the command API."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from service_kit.notification_ids import (
    InvalidNotificationId,
    NotificationPosition,
    decode_notification_id,
)
from service_kit.text import HANDLE_PATTERN, clean_text, encodable

Handle = Annotated[str, StringConstraints(pattern=HANDLE_PATTERN)]
# Length limits apply after normalization; the raw limit only stops absurd inputs early.
DisplayName = Annotated[
    str,
    StringConstraints(max_length=200),
    AfterValidator(lambda value: clean_text(value, newlines=False)),
    StringConstraints(min_length=1, max_length=50),
]
Password = Annotated[
    str, StringConstraints(min_length=8, max_length=1024), AfterValidator(encodable)
]
PostText = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(lambda value: clean_text(value, newlines=True)),
    StringConstraints(min_length=1, max_length=280),
]
PostId = Annotated[str, StringConstraints(max_length=100)]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterUser(StrictBody):
    handle: Handle = Field(description="3-30 letters, digits or underscores; unique ignoring case")
    password: Password = Field(description="At least 8 characters")
    display_name: DisplayName = Field(
        description="1-50 characters after NFC normalization and trimming; at least one visible "
        "character, no control characters"
    )


class UserCreated(BaseModel):
    id: str
    handle: str
    display_name: str


class SignIn(StrictBody):
    handle: Annotated[str, StringConstraints(max_length=100)]
    password: Annotated[str, StringConstraints(max_length=1024), AfterValidator(encodable)]


class Refresh(StrictBody):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str = Field(
        description="Single use: exchange it at POST /command/v1/sessions/refresh for a new pair"
    )
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires")


class CreatePost(StrictBody):
    text: PostText = Field(
        description="1-280 characters after NFC normalization and trimming; newlines allowed, "
        "other control characters not; at least one visible character"
    )
    reply_to: PostId | None = Field(default=None, description="Id of the post this one answers")


class PostCreated(BaseModel):
    id: str
    author_id: str
    text: str
    reply_to: str | None
    created_at: datetime


def _bio(value: str) -> str:
    # An empty bio clears it; anything else follows the text rules, newlines allowed (as in posts).
    return "" if not value.strip() else clean_text(value, newlines=True)


Bio = Annotated[
    str,
    StringConstraints(max_length=1000),
    AfterValidator(_bio),
    StringConstraints(max_length=160),
]


class UpdateProfile(StrictBody):
    display_name: DisplayName | None = Field(
        default=None, description="1-50 characters, the same rules as at sign-up"
    )
    bio: Bio | None = Field(
        default=None,
        description="0-160 characters after NFC normalization and trimming; newlines allowed, "
        "other control characters not; an empty string clears the bio",
    )

    @model_validator(mode="after")
    def _changes_something(self) -> "UpdateProfile":
        if self.display_name is None and self.bio is None:
            raise ValueError("send display_name, bio or both")
        return self


class Profile(BaseModel):
    id: str
    handle: str
    display_name: str
    bio: str


def _notification_id(value: str) -> str:
    try:
        decode_notification_id(value)
    except InvalidNotificationId as error:
        raise ValueError("not a notification id this API issued") from error
    return value


class MarkNotificationsRead(StrictBody):
    up_to: Annotated[
        str,
        StringConstraints(min_length=1, max_length=400),
        AfterValidator(encodable),
        AfterValidator(_notification_id),
    ] = Field(description="The id of the newest notification read: it and every older one are read")

    def position(self) -> NotificationPosition:
        return decode_notification_id(self.up_to)
