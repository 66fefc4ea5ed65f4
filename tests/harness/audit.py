"""Comparing read models document by document, in the terms the harness reports.

- lost: a document the reference has and the read models do not;
- extra: a document the read models have and the reference does not;
- duplicated: two documents for one natural key (a timeline's (owner, post), a follow's
  (follower, followee), a handle), which `_id`s alone would not show;
- counter mismatches: a counter (followers, following, posts, replies, ...) that differs;
- field mismatches: any other field that differs.

Timeline entries depend on history once timelines are trimmed; given the specification's
`TimelineSpec` and who ever followed whom, they are audited against what is guaranteed instead
(`tests/reference_model.py`): an entry the uncapped timeline does not hold is extra, a guaranteed
one that is missing is lost, and the timelines' heads are compared exactly.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from query_service.read_models.counters import WITHOUT_MARKS
from query_service.read_models.registry import READ_MODEL_COLLECTIONS
from service_kit.mongo import Database
from tests.reference_model import TimelineSpec

Documents = dict[str, list[dict[str, Any]]]

COUNTERS = frozenset(
    {
        "followers_count",
        "following_count",
        "posts_count",
        "reply_count",
        "like_count",
        "repost_count",
        "count",  # hashtag_hours
    }
)
NATURAL_KEYS = {
    "timeline_entries": ("owner_id", "post_id", "reposted_by"),
    "follow_edges": ("follower_id", "followee_id"),
    "user_views": ("handle_lower",),
    "post_views": ("_id",),
    "post_reactions": ("kind", "user_id", "post_id"),
    "notifications": ("_id",),
    "notification_read_marks": ("user_id",),
    "hashtag_hours": ("tag", "hour"),
    "user_search_keys": ("user_id", "kind"),
    "block_edges": ("blocker_id", "blocked_id"),
}
MAX_EXAMPLES = 20


@dataclass
class Audit:
    documents: int = 0
    lost: int = 0
    extra: int = 0
    duplicated: int = 0
    counter_mismatches: int = 0
    field_mismatches: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.extra
            or self.duplicated
            or self.counter_mismatches
            or self.field_mismatches
        )

    def note(self, example: str) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


async def snapshot(database: Database) -> Documents:
    """Every read-model document, in `_id` order, without the counters' marks (bookkeeping)."""
    return {
        name: await database[name].find({}, WITHOUT_MARKS).sort("_id", 1).to_list(None)
        for name in READ_MODEL_COLLECTIONS
    }


def audit_read_models(
    actual: Documents,
    reference: Documents,
    timelines: TimelineSpec | None = None,
    ever_followed: set[tuple[str, str]] | None = None,
) -> Audit:
    """Compare document by document; with `timelines`, entries by what is guaranteed."""
    audit = Audit()
    for name in sorted(set(actual) | set(reference)):
        documents, wanted = actual.get(name, []), reference.get(name, [])
        if name == "timeline_entries" and timelines is not None:
            _audit_entries(audit, documents, timelines, ever_followed or set())
            documents = [d for d in documents if "post_id" not in d]
            wanted = [d for d in wanted if "post_id" not in d]
        _audit_collection(audit, name, documents, wanted)
    return audit


def _audit_entries(
    audit: Audit,
    actual: list[dict[str, Any]],
    timelines: TimelineSpec,
    ever_followed: set[tuple[str, str]],
) -> None:
    entries = [d for d in actual if "post_id" in d]
    audit.documents += len(entries)
    for owner, uncapped in timelines.uncapped.items():
        wanted = {entry["_id"]: entry for entry in uncapped}
        mine = [entry for entry in entries if entry["owner_id"] == owner]
        for entry in mine:
            if entry["_id"] not in wanted:
                audit.extra += 1
                audit.note(f"extra timeline_entries {entry['_id']}")
            elif entry != wanted[entry["_id"]]:
                _audit_fields(audit, "timeline_entries", entry, wanted[entry["_id"]])
        missing = timelines.guaranteed(owner, ever_followed) - {e["_id"] for e in mine}
        for entry_id in sorted(missing):
            audit.lost += 1
            audit.note(f"lost timeline_entries {entry_id}")
    repeated = Counter(
        (entry["owner_id"], entry["post_id"], entry.get("reposted_by")) for entry in entries
    )
    for key, times in repeated.items():
        if times > 1:
            audit.duplicated += times - 1
            audit.note(f"duplicated timeline_entries {key} x{times}")


def _audit_collection(
    audit: Audit, name: str, actual: list[dict[str, Any]], reference: list[dict[str, Any]]
) -> None:
    audit.documents += len(actual)
    present = {document["_id"]: document for document in actual}
    wanted = {document["_id"]: document for document in reference}
    for missing in wanted.keys() - present.keys():
        audit.lost += 1
        audit.note(f"lost {name} {missing}")
    for unexpected in present.keys() - wanted.keys():
        audit.extra += 1
        audit.note(f"extra {name} {unexpected}")
    keys = NATURAL_KEYS.get(name, ("_id",))
    repeated = Counter(tuple(document.get(key) for key in keys) for document in actual)
    for key, times in repeated.items():
        if times > 1:
            audit.duplicated += times - 1
            audit.note(f"duplicated {name} {key} x{times}")
    for document_id in present.keys() & wanted.keys():
        _audit_fields(audit, name, present[document_id], wanted[document_id])


def _audit_fields(audit: Audit, name: str, actual: dict[str, Any], wanted: dict[str, Any]) -> None:
    for key in sorted(actual.keys() | wanted.keys()):
        if actual.get(key, "<absent>") == wanted.get(key, "<absent>"):
            continue
        if key in COUNTERS:
            audit.counter_mismatches += 1
        else:
            audit.field_mismatches += 1
        audit.note(f"{name} {actual['_id']} {key}: {actual.get(key)!r} != {wanted.get(key)!r}")
