"""HTTP routes of the query service, all under /query/v1."""

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute

from query_service.api import explore, notifications, posts, replies, search, timeline, users
from service_kit.consistency import TOKEN_HEADER, TOKEN_PARAMETER
from service_kit.problems import problem_responses


def _optional_string(name: str, title: str, where: str, description: str) -> dict[str, Any]:
    schema = {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title}
    return {
        "name": name,
        "in": where,
        "required": False,
        "schema": {**schema, "description": description},
        "description": description,
    }


# Every query takes a write's token (`api/consistency.py`, a middleware, waits for it and answers
# 400 for a token this API did not issue). The OpenAPI documents declare both spellings on every
# route; a dependency would declare them too, but would cost every request its resolution.
READ_YOUR_WRITES_PARAMETERS = [
    _optional_string(
        TOKEN_PARAMETER, "Consistent After", "query", "The same token, as a query parameter"
    ),
    _optional_string(
        TOKEN_HEADER,
        TOKEN_HEADER,
        "header",
        "A write's X-Consistency-Token: answer once the write is projected",
    ),
]

router = APIRouter(prefix="/query/v1", responses=problem_responses(400))
for module in (timeline, users, posts, replies, explore, search, notifications):
    for route in module.router.routes:
        if isinstance(route, APIRoute):
            extra = route.openapi_extra or {}
            parameters = extra.get("parameters", []) + READ_YOUR_WRITES_PARAMETERS
            route.openapi_extra = {**extra, "parameters": parameters}
    router.include_router(module.router)
