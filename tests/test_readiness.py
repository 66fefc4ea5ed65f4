"""Readiness of the stateless API pods: started and prepared, not a per-probe MongoDB ping.

Not ready before preparation: tests/test_errors.py.
"""

import pytest

from tests.support import Stack


async def test_an_api_pod_stays_ready_while_the_shared_database_does_not_answer(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(*args: object, **kwargs: object) -> None:
        raise TimeoutError("no server")

    monkeypatch.setattr(type(stack.database), "command", unreachable)

    for client in (stack.command, stack.query):
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        assert (await client.get("/healthz")).status_code == 200
