"""The one place the embedded store makes mongomock faster: equality on `_id` or one field.

mongomock answers every query and every write through `Collection._iter_documents(filter)`, which
copies the list of all the collection's documents and tests the filter against each one, even for
`{"_id": x}`. Two shortcuts give the same documents, always confirmed with mongomock's own
`filter_applies` on the whole filter:

- `_id` equal to a plain scalar: the store keeps documents in a dict keyed by `_id`, so only the
  document under that key can match; found in constant time.
- otherwise, a top-level field equal to a plain scalar: a document can only match if that field
  equals the value or is an array holding it, which a plain Python comparison rules out for most
  documents far faster than `filter_applies` would. Still a scan, but no state to keep in step
  with writes (mongomock updates documents in place), so nothing can go stale.

Any other filter takes mongomock's path unchanged. tests/test_embedded_store.py proves the results
equal to the scan's.

It is installed on the mongomock collection objects this store uses (see `EmbeddedCollection`),
never on mongomock's class, so nothing else that imports mongomock is affected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
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
        if key is not _NO_KEY:
            return _lookup(collection, key, filter)
        field = _equality_field(filter)
        if field is not None:
            return _prefiltered_scan(collection, field, filter[field], filter)
        return scan(filter)

    collection._iter_documents = iter_documents
    setattr(collection, _INSTALLED, True)


def _is_plain_scalar(value: Any) -> bool:
    """Values whose equality in Python is the same as MongoDB's (`bool` is an `int` in Python)."""
    return isinstance(value, str | int | ObjectId) and not isinstance(value, bool)


def _id_key(filter: Any) -> Any:
    """The store key a filter pins, or `_NO_KEY`."""
    if not isinstance(filter, Mapping):
        return _NO_KEY
    value = filter.get("_id", _NO_KEY)
    return value if _is_plain_scalar(value) else _NO_KEY


def _equality_field(filter: Any) -> str | None:
    """A top-level field (no dots, no operator) the filter requires to equal a plain scalar."""
    if not isinstance(filter, Mapping):
        return None
    for field, value in filter.items():
        top_level = isinstance(field, str) and "." not in field and not field.startswith("$")
        if top_level and _is_plain_scalar(value):
            return field
    return None


# Stored types Python compares with a plain scalar as MongoDB does; other types (a subclass,
# Decimal128, an array) take the careful path in `_may_equal`.
_EXACT_TYPES = frozenset({str, int, float, bool, ObjectId, dict, datetime, bytes, type(None)})
_MISSING = object()


def _may_equal(stored: Any, value: Any) -> bool:
    """False only when `{field: value}` cannot match a document holding `stored` (fast: this
    runs for every document of the collection)."""
    if stored == value:
        return True
    if stored is _MISSING or type(stored) in _EXACT_TYPES:
        return False
    if isinstance(stored, list):  # an array matches if one of its elements does
        return any(element == value or type(element) not in _EXACT_TYPES for element in stored)
    return True  # an unfamiliar type: let filter_applies decide


def _prefiltered_scan(
    collection: Any, field: str, value: Any, filter: Mapping[str, Any]
) -> Iterator[Document]:
    candidates = [
        document
        for document in collection._store.documents
        if _may_equal(document.get(field, _MISSING), value)
    ]
    if not candidates:
        filter_applies(filter, {})  # an invalid filter still fails, as with the scan
    return (document for document in candidates if filter_applies(filter, document))


def _lookup(collection: Any, key: Any, filter: Mapping[str, Any]) -> Iterator[Document]:
    store = collection._store  # `in` and `[]` also expire TTL documents, as the scan does
    if key in store:
        document: Document = store[key]
        return iter([document] if filter_applies(filter, document) else [])
    filter_applies(filter, {})  # an invalid filter still fails, as with the scan
    return iter([])
