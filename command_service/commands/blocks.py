"""Blocking and unblocking, both idempotent. A block ends the follows between the two accounts;
afterwards neither may follow the other or reply to the other's posts (`follows`, `posts`)."""

from bson import ObjectId

from command_service.commands.errors import CannotBlockSelf, UserNotFound
from command_service.write_model import blocks, follows, users
from service_kit.mongo import Database
from service_kit.tokens import Principal


async def _blocked_id(database: Database, blocker: Principal, handle: str) -> ObjectId:
    blocked = await users.find_user_by_handle(database, handle)
    if blocked is None:
        raise UserNotFound(handle)
    if str(blocked["_id"]) == blocker.user_id:
        raise CannotBlockSelf(handle)
    return blocked["_id"]


async def block(database: Database, blocker: Principal, handle: str) -> None:
    blocked_id = await _blocked_id(database, blocker, handle)
    blocker_id = ObjectId(blocker.user_id)
    # The block first, then the follows: a follow racing with this either sees the block when it
    # looks again after its write, or was written before this removal (see `follows.follow`).
    await blocks.upsert_block(database, blocker_id, blocked_id)
    await follows.delete_follows_between(database, blocker_id, blocked_id)


async def unblock(database: Database, blocker: Principal, handle: str) -> None:
    blocked_id = await _blocked_id(database, blocker, handle)
    await blocks.delete_block(database, ObjectId(blocker.user_id), blocked_id)
