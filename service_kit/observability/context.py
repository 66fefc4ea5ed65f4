"""The request being answered, as every layer below the HTTP edge may ask for it.

`requests.py` opens a `RequestContext` for each request in a context variable; the auth dependency
tells it the signed-in user (`note_user`), the write model stamps documents with its id
(`tracing.write_stamp`), and every log record inside it carries that id (`logs.py`).
"""

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

REQUEST_ID_HEADER = "X-Request-ID"
# What a client or a proxy may send as its request id: 1 to 128 letters, digits and `-_.:`
# (UUIDs, nginx's and Envoy's ids). Anything else is replaced by a generated one, never refused.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass
class RequestContext:
    request_id: str
    user_id: str | None = None


_current: ContextVar[RequestContext | None] = ContextVar("request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    request = _current.get()
    return request.request_id if request is not None else None


def note_user(user_id: str) -> None:
    """The request is made by this signed-in user (for its log line)."""
    request = _current.get()
    if request is not None:
        request.user_id = user_id


def request_id_from(sent: str | None) -> str:
    """The id a request goes by: the one it sent if valid, else a new one."""
    if sent is not None and VALID_REQUEST_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def open_request(request_id: str) -> object:
    """Make `request_id` the current request (in this task and those it starts); returns the
    token `close_request` takes."""
    return _current.set(RequestContext(request_id))


def close_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
