"""Every projection, in the order the projector applies a change to them.

Mostly, within one change no projection reads what another writes for it, and the order is only
the order of their writes: profiles and edges first, then post views, then timelines. Where one
does read another's write of the same change, it comes after it: `reactions` and `notifications`
read a post's view to know it is live, after `posts` wrote it, and `timelines` reads the block
edges of a block's change after `blocks` wrote them (an unblock restores what reposts bring only
when neither blocks the other any more). A post's delete removes its view (`posts`) before its
timeline entries (`timelines`): a backfill in another lane relies on that order
(`timeline_entries.drop_entries_of_gone_posts`).
"""

from typing import Final

from query_service.projector.projection import Projection
from query_service.read_models.blocks import BlocksProjection
from query_service.read_models.follows import FollowsProjection
from query_service.read_models.hashtags import HashtagsProjection
from query_service.read_models.notifications import NotificationsProjection
from query_service.read_models.posts import PostsProjection
from query_service.read_models.reactions import ReactionsProjection
from query_service.read_models.search import UserSearchProjection
from query_service.read_models.timelines import TimelinesProjection
from query_service.read_models.users import UsersProjection
from service_kit.mongo import Database
from service_kit.write_model import COLLECTIONS

PROJECTIONS: Final[tuple[Projection, ...]] = (
    UsersProjection(),
    FollowsProjection(),
    HashtagsProjection(),
    PostsProjection(),
    BlocksProjection(),
    TimelinesProjection(),
    ReactionsProjection(),
    NotificationsProjection(),
    UserSearchProjection(),
)
# Everything the projector derives: what a rebuild builds anew and swaps in.
READ_MODEL_COLLECTIONS: Final = tuple(name for p in PROJECTIONS for name in p.owns)
# The write-model collections a rebuild replays, in the order the stream would have shown them
# (users before their posts and follows); any order gives the same result, this one does less work.
REBUILD_SOURCES: Final = tuple(
    collection
    for collection in COLLECTIONS
    if any(collection in projection.consumes for projection in PROJECTIONS)
)


def projections_of(collection: str) -> tuple[Projection, ...]:
    return tuple(p for p in PROJECTIONS if collection in p.consumes)


async def ensure_read_model_indexes(database: Database, prefix: str = "") -> None:
    for projection in PROJECTIONS:
        for collection, indexes in projection.owns.items():
            await database[prefix + collection].create_indexes(indexes)
