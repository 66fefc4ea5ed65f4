"""The index-hygiene check itself: it must reject what no index serves (or it proves nothing)."""

from pymongo import ASCENDING, DESCENDING

from service_kit.mongo.embedded.operations import Operation, QueryShape
from tests.index_hygiene import Index, check, conditions, serves

TIMELINE = Index(
    "timeline_entries",
    "owner_newest",
    (("owner_id", ASCENDING), ("created_at", DESCENDING), ("post_id", DESCENDING)),
    unique=False,
)
NEWEST = (("created_at", DESCENDING), ("post_id", DESCENDING))


def served(filter: dict, sort: tuple = ()) -> bool:
    return all(serves(TIMELINE, c) for c in conditions(QueryShape(filter, sort)))


def test_equality_then_sort_then_range_is_served():
    assert served({"owner_id": "a"}, NEWEST)
    assert served({"owner_id": "a"}, tuple((f, -d) for f, d in NEWEST))  # walked backwards
    assert served(
        {
            "owner_id": "a",
            "created_at": {"$lte": 1},
            "$or": [{"created_at": {"$lt": 1}}, {"created_at": 1, "post_id": {"$lt": "x"}}],
        },
        NEWEST,
    )


def test_what_the_index_cannot_serve_is_rejected():
    assert not served({"post_id": "p"})  # not a prefix
    assert not served({"owner_id": "a"}, (("post_id", DESCENDING),))  # sort skips a key
    assert not served({"owner_id": "a"}, (("created_at", DESCENDING), ("post_id", ASCENDING)))
    assert not served({})
    assert not served({"$or": [{"owner_id": "a"}, {"author_id": "b"}]})  # one branch unserved


def test_a_shape_from_application_code_with_no_index_is_reported():
    operation = Operation(
        "db", "post_views", "find", (QueryShape({"text": "hi"}),), origin="/x/query_service/y.py"
    )
    from_a_test = Operation(
        "db", "post_views", "find", (QueryShape({"text": "hi"}),), "/x/tests/t.py"
    )

    report = check([operation, from_a_test])

    assert len(report.unserved) == 1
    assert "post_views.find filter={'text': 'hi'}" in report.unserved[0]
