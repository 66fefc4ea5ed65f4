"""A database whose writes are refused once this process's lease deadline has passed.

The election cancels the projector at its deadline, but a cancellation lands only at the next
await, and a busy event loop can run that await's continuation after the deadline. So every write
method checks the fence right before it is sent: after the deadline nothing is sent at all. Reads
(and the change stream) pass through unchecked.
"""

from collections.abc import Callable
from typing import Any, cast

from query_service.projector.leadership.election import Fence
from service_kit.mongo import Database

COLLECTION_WRITES = frozenset(
    {
        "insert_one",
        "insert_many",
        "update_one",
        "update_many",
        "replace_one",
        "delete_one",
        "delete_many",
        "find_one_and_update",
        "find_one_and_replace",
        "find_one_and_delete",
        "bulk_write",
        "create_index",
        "create_indexes",
        "drop_index",
        "drop_indexes",
        "drop",
        "rename",
    }
)
# `command` included: the projector only pings with it, and nothing it sends matters after loss.
DATABASE_WRITES = frozenset({"command", "drop_collection", "create_collection"})


def fenced(database: Database, fence: Fence) -> Database:
    return cast(Database, _Fenced(database, fence, DATABASE_WRITES, _collection_wrapper(fence)))


def _collection_wrapper(fence: Fence) -> Callable[[Any], Any]:
    return lambda collection: _Fenced(collection, fence, COLLECTION_WRITES, None)


class _Fenced:
    """Delegates everything to `inner`; `writes` check the fence first. Collections obtained
    through a fenced database (`db[name]`, `db.get_collection(name)`) are fenced too."""

    def __init__(
        self,
        inner: Any,
        fence: Fence,
        writes: frozenset[str],
        wrap_collection: Callable[[Any], Any] | None,
    ) -> None:
        self._inner, self._fence, self._writes = inner, fence, writes
        self._wrap_collection = wrap_collection

    def __getitem__(self, name: str) -> Any:
        return self.get_collection(name)

    def get_collection(self, name: str, **options: Any) -> Any:
        if self._wrap_collection is None:
            raise AttributeError("get_collection")
        return self._wrap_collection(self._inner.get_collection(name, **options))

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in self._writes:
            return attribute
        fence = self._fence

        async def checked(*args: Any, **kwargs: Any) -> Any:
            fence.check()
            return await attribute(*args, **kwargs)

        return checked
