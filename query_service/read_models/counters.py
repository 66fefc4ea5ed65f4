"""Exact counters in O(1) per change: counted memberships and guarded increments.

A counter (`followers_count`, `posts_count`, `reply_count`, ...) is a field of a read-model
document (a *counted document*: a user view, a post view) that counts the *memberships* naming
it: follow edges by followee, post views by author or by parent. The projection that owns a
membership collection changes a membership only through `change_membership`, which keeps every
counter the membership contributes to exact with O(1) work and no transaction:

1. read whether the membership exists now (*before*);
2. the change says whether it should exist (*after*, state-based: `updateLookup` gives the
   current document); delta = after - before;
3. if delta is not 0, add it to each counter with one guarded single-document update:
   filter `{_id: doc, counter_marks: {$ne: m}}`, update `{$inc: {field: delta},
   $push: {counter_marks: {$each: [m], $slice: -MARKS_KEPT}}}`, where the mark m is a 64-bit hash
   of the change's resume token (`_id._data`) and the counter's field;
4. only then write the membership (upsert or delete).

Why it stays exact: the checkpoint moves only after a whole batch is applied, so a crash replays
at most one batch. A crash between 3 and 4 replays the change: *before* has not changed, so the
same delta comes out, the mark makes 3 a no-op, and 4 lands. A crash after 4, a change delivered
twice or a replay from an earlier checkpoint find before = after: delta 0. A rebuild replays
synthetic inserts (`rebuild.py`), each with a mark of its own (`rebuild:<collection>:<id>`).
A batch holds at most `PROJECTOR_BATCH_SIZE` <= MARKS_KEPT changes, and a change pushes at most
one mark per counter, so a change's mark is still in the array whenever it can come again.

**`counter_marks` (MARKS)** is an array of at most MARKS_KEPT int64 on every counted document
that received a contribution. It is bookkeeping, never data: queries leave it out
(`WITHOUT_MARKS`), and the specification, the tests' snapshots and the crash audit ignore it by
the same constant.

**Counted documents that do not exist.** In the stream, lanes order every change after the
change that creates the documents it counts into (a user's insert before their follows and posts,
a post before its replies; `projector/lanes.py`), so a counted document that is missing is gone,
and a contribution to it counts nothing: an update that matches nothing. A rebuild replays the
write model in `_id` order, where a reply may come before its parent. There
(`ProjectionContext.stub_counters`), an increment to a missing document creates a *stub*: its
`_id`, every counter field and the marks. The parent's view then completes the stub: views write
their counters only with `$setOnInsert`, so an upsert onto a stub keeps its counts, and a stub is
not a membership (it lacks the document's `identity` field). Stubs still there once the rebuild
has caught up belong to documents that are gone (a reply to a deleted post) and are dropped
before the swap (`drop_stubs`). Decrements never create documents.

**Off the hot path** (an operator replays a parked change, long after its batch), marks may be
gone and the change may have failed between 3 and 4. There (`ProjectionContext.recounted` set),
memberships are written without increments, and every counter the change touched, those of the
counted documents it wrote included, is recounted with `count_documents` (`recount`).
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pymongo.errors import DuplicateKeyError

from query_service.projector.projection import Change, ProjectionContext
from service_kit.settings import MAX_PROJECTOR_BATCH_SIZE

MARKS: Final = "counter_marks"
# A projection that leaves the marks out: for every query, snapshot and comparison.
WITHOUT_MARKS: Final = {MARKS: 0}
# Marks kept per counted document: at least the most changes one batch (one replay) can hold.
MARKS_KEPT: Final = MAX_PROJECTOR_BATCH_SIZE

Document = Mapping[str, Any]


@dataclass(frozen=True)
class Tally:
    """How a counter is recounted exactly: the memberships whose `key` names its document."""

    members: str
    key: str
    # Further equalities a membership must match (likes and reposts share one collection).
    where: tuple[tuple[str, Any], ...] = ()
    # Or the whole filter of a document's memberships, from its id (an hour's posts of a tag).
    query: Callable[[str], dict[str, Any]] | None = None

    def members_of(self, document_id: str) -> dict[str, Any]:
        if self.query is not None:
            return self.query(document_id)
        return {self.key: document_id, **dict(self.where)}


@dataclass(frozen=True, eq=False)
class CountedDocument:
    """A kind of read-model document with counters (one per read model, declared by its owner).

    `fields` are all its counter fields, created together (a view `$setOnInsert`s them, a stub
    has them all), each with its `Tally`, or None while nothing can be counted into it yet.
    `identity` is a field every complete document has and a stub lacks."""

    collection: str
    identity: str
    fields: tuple[tuple[str, Tally | None], ...]
    # A document that holds counts only (a trending bucket): no change creates it, so a count
    # does, with these fields from its id, and it goes once every count is 0 again.
    made_by_counts: Callable[[str], dict[str, Any]] | None = None

    def counter(self, document_id: str, field: str) -> "Counter":
        return Counter(self, document_id, field)

    def zeros(self, *, but: str | None = None) -> dict[str, int]:
        return {name: 0 for name, _ in self.fields if name != but}

    def tally(self, field: str) -> Tally | None:
        return dict(self.fields)[field]


@dataclass(frozen=True)
class Counter:
    """One counter field of one counted document."""

    document: CountedDocument
    document_id: str
    field: str


def mark_of(change: Change, counter: Counter) -> int:
    """A short mark unique to (change event, counter field), as a signed 64-bit integer."""
    token = str(change["_id"]["_data"])
    digest = hashlib.blake2b(f"{token}|{counter.field}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def is_member(document: Document | None, counted: CountedDocument | None) -> bool:
    """Whether a membership document exists; a stub of a counted document is not one."""
    return document is not None and (counted is None or counted.identity in document)


async def change_membership(
    context: ProjectionContext,
    change: Change,
    members: str,
    member_id: str,
    write: Document | None,
    counters_of: Callable[[Document | None], Sequence[Counter]],
    *,
    counted: CountedDocument | None = None,
) -> Document | None:
    """Make membership `member_id` of `members` exist (upserted with the update `write`) or not
    (None), keeping every counter it contributes to exact; returns it as it was before.

    `counters_of(before)` names the counters it contributes to (from the membership before, or
    from the change when there was none). `counted`: the membership is itself a counted
    document (a post view is counted by its parent and counts its replies)."""
    collection = context.collection(members)
    before = await collection.find_one({"_id": member_id}, WITHOUT_MARKS)
    delta = int(write is not None) - int(is_member(before, counted))
    recounted = context.recounted
    if delta and recounted is None:
        for counter in counters_of(before):
            await _add(context, change, counter, delta)
    # Only now: a crash before this line replays the change with the same `before`.
    if write is not None:
        await collection.update_one({"_id": member_id}, write, upsert=True)
    elif before is not None:
        await collection.delete_one({"_id": member_id})
    if recounted is not None:
        recounted.update(counters_of(before))
        if counted is not None and write is not None:
            wrote_counted(context, counted, member_id)
    return before


def wrote_counted(context: ProjectionContext, counted: CountedDocument, document_id: str) -> None:
    """A counted document was written: off the hot path, its own counters are recounted too (it
    may have been missing while contributions to it counted nothing)."""
    if context.recounted is not None:
        context.recounted.update(counted.counter(document_id, name) for name, _ in counted.fields)


async def _add(context: ProjectionContext, change: Change, counter: Counter, delta: int) -> None:
    collection = context.collection(counter.document.collection)
    mark = mark_of(change, counter)
    guard = {"_id": counter.document_id, MARKS: {"$ne": mark}}
    update: dict[str, Any] = {
        "$inc": {counter.field: delta},
        "$push": {MARKS: {"$each": [mark], "$slice": -MARKS_KEPT}},
    }
    made_by_counts = counter.document.made_by_counts
    if delta > 0 and (context.stub_counters or made_by_counts is not None):
        seed = made_by_counts(counter.document_id) if made_by_counts is not None else {}
        try:
            stub = {"$setOnInsert": {**counter.document.zeros(but=counter.field), **seed}}
            await collection.update_one(guard, {**update, **stub}, upsert=True)
            return
        except DuplicateKeyError:
            pass  # it exists: with this mark already, or created meanwhile (then counted below)
    # Matching nothing means the mark is there (the change came again) or the document is gone.
    await collection.update_one(guard, update)
    if delta < 0 and made_by_counts is not None:
        # Also when the update matched nothing: a crash may have come between the two.
        await collection.delete_one({"_id": counter.document_id, **counter.document.zeros()})


async def recount(context: ProjectionContext, counters: Iterable[Counter]) -> None:
    """Set each counter to the number of its memberships (off the hot path: O(members))."""
    for counter in sorted(set(counters), key=lambda c: (c.document.collection, c.document_id)):
        tally = counter.document.tally(counter.field)
        if tally is None:
            continue
        members = context.collection(tally.members)
        count = await members.count_documents(tally.members_of(counter.document_id))
        documents = context.collection(counter.document.collection)
        made_by_counts = counter.document.made_by_counts
        if made_by_counts is None:
            await documents.update_one(
                {"_id": counter.document_id}, {"$set": {counter.field: count}}
            )
        elif count:
            seed = made_by_counts(counter.document_id)
            await documents.update_one(
                {"_id": counter.document_id}, {"$set": {counter.field: count, **seed}}, upsert=True
            )
        else:
            await documents.delete_one({"_id": counter.document_id, **counter.document.zeros()})


async def drop_stubs(context: ProjectionContext, counted: CountedDocument) -> int:
    """Delete stubs of documents that never came (a rebuild's last step before the swap)."""
    if counted.made_by_counts is not None:
        return 0  # a count writes all of its fields: such a document is never a stub
    result = await context.collection(counted.collection).delete_many({counted.identity: None})
    return result.deleted_count
