"""Request and response bodies of the command API."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Handle = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{3,30}$")]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
PostText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=280)]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterUser(StrictBody):
    handle: Handle = Field(description="3-30 letters, digits or underscores; unique ignoring case")
    password: Password = Field(description="At least 8 characters")
    display_name: DisplayName


class UserCreated(BaseModel):
    id: str
    handle: str
    display_name: str


class SignIn(StrictBody):
    handle: str = Field(max_length=100)
    password: str = Field(max_length=1024)


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: int = Field(description="Seconds until the token expires")


class CreatePost(StrictBody):
    text: PostText = Field(description="1-280 characters after trimming")
    reply_to: str | None = Field(default=None, description="Id of the post this one answers")


class PostCreated(BaseModel):
    id: str
    author_id: str
    text: str
    reply_to: str | None
    created_at: datetime
