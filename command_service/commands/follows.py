"""Following and unfollowing. Both are idempotent: repeating one changes nothing."""

from bson import ObjectId

from command_service.commands.errors import Blocked, CannotFollowSelf
from command_service.commands.other_users import other_user_id
from command_service.write_model import blocks, follows, posts
from service_kit.mongo import Database
from service_kit.tokens import Principal


async def _followee_id(database: Database, follower: Principal, handle: str) -> ObjectId:
    return await other_user_id(database, follower, handle, yourself=CannotFollowSelf)


async def follow(database: Database, follower: Principal, handle: str) -> None:
    followee_id = await _followee_id(database, follower, handle)
    follower_id = ObjectId(follower.user_id)
    if await blocks.blocks_between(database, follower_id, followee_id):
        raise Blocked(f"follow {handle!r}")
    # A post whose number is drawn after this read still reaches the follower: the projector
    # delivers every post numbered above the start point (see the README's timeline rule).
    start = await posts.last_post_number(database, followee_id)
    await follows.upsert_follow(database, follower_id, followee_id, start)
    # A block made between the check and the upsert may have missed this edge (no transactions
    # span the two): looking again after the write closes the race. Either this sees the block,
    # or the block was written after it, and the block's own follow removal comes later still.
    if await blocks.blocks_between(database, follower_id, followee_id):
        await follows.delete_follows_between(database, follower_id, followee_id)
        raise Blocked(f"follow {handle!r}")


async def unfollow(database: Database, follower: Principal, handle: str) -> None:
    followee_id = await _followee_id(database, follower, handle)
    await follows.delete_follow(database, ObjectId(follower.user_id), followee_id)
