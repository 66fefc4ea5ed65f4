"""hashtag_hours follows the posts' text, also for posts written before posts stored hashtags."""

from bson import ObjectId

from query_service.read_models.names import HASHTAG_HOURS
from service_kit.clock import utc_now
from service_kit.write_model import POSTS
from tests.support import Stack, User


async def buckets(stack: Stack) -> list[tuple[str, int]]:
    found = await stack.read_database[HASHTAG_HOURS].find().sort("_id", 1).to_list(None)
    return [(bucket["tag"], bucket["count"]) for bucket in found]


async def test_a_legacy_post_without_stored_hashtags_counts_and_its_delete_uncounts(
    stack: Stack, alice: User
):
    legacy = ObjectId()
    await stack.database[POSTS].insert_one(
        {
            "_id": legacy,
            "author_id": ObjectId(alice.id),
            "text": "from before #Hashtags were stored",
            "reply_to": None,
            "author_seq": 1,
            "created_at": utc_now(),
            "deleted_at": None,
        }
    )
    await alice.post("a new one with #hashtags")
    await stack.settle()
    assert await buckets(stack) == [("hashtags", 2)]

    # The tombstone has no hashtags to say where it counted: the view still does.
    await stack.database[POSTS].update_one(
        {"_id": legacy}, {"$set": {"deleted_at": utc_now(), "text": ""}}
    )
    await stack.settle()
    assert await buckets(stack) == [("hashtags", 1)]
