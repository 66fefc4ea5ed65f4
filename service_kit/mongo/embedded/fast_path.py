"""The one place the embedded store makes mongomock faster: finding documents by `_id`.

mongomock answers every query and every write through `Collection._iter_documents(filter)`, which
copies the list of all the collection's documents and tests the filter against each one, even for
`{"_id": x}`. Its store already keeps documents in a dict keyed by `_id`, so when a filter's
top-level `_id` is a plain scalar, only the document stored under that key can match: look it up
and test the whole filter on it with mongomock's own `filter_applies`. Any other filter takes
mongomock's path unchanged. The result is the same document list (proven by
tests/test_embedded_store.py), found in constant time.

It is installed on the mongomock collection objects this store uses (see `EmbeddedCollection`),
never on mongomock's class, so nothing else that imports mongomock is affected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from bson import ObjectId
from mongomock.filtering import filter_applies

Document = dict[str, Any]
IterDocuments = Callable[[Any], Iterator[Document]]

_INSTALLED = "_embedded_id_fast_path"
_NO_KEY = object()


def install_id_fast_path(collection: Any) -> None:
    """Wrap this mongomock collection's `_iter_documents` with the `_id` lookup (once)."""
    if getattr(collection, _INSTALLED, False):
        return
    scan: IterDocuments = collection._iter_documents

    def iter_documents(filter: Any) -> Iterator[Document]:
        key = _id_key(filter)
        if key is _NO_KEY:
            return scan(filter)
        return _lookup(collection, key, filter)

    collection._iter_documents = iter_documents
    setattr(collection, _INSTALLED, True)


def _id_key(filter: Any) -> Any:
    """The store key a filter pins, or `_NO_KEY`. Only types whose equality in a Python dict is
    no wider than MongoDB's (`bool` is an `int` in Python, so it is left to the scan)."""
    if not isinstance(filter, Mapping):
        return _NO_KEY
    value = filter.get("_id", _NO_KEY)
    if isinstance(value, bool) or not isinstance(value, str | int | ObjectId):
        return _NO_KEY
    return value


def _lookup(collection: Any, key: Any, filter: Mapping[str, Any]) -> Iterator[Document]:
    store = collection._store  # `in` and `[]` also expire TTL documents, as the scan does
    if key in store:
        document: Document = store[key]
        return iter([document] if filter_applies(filter, document) else [])
    filter_applies(filter, {})  # an invalid filter still fails, as with the scan
    return iter([])
