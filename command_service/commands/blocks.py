"""Blocking and unblocking, both idempotent. A block ends the follows between the two accounts;
afterwards neither may follow the other or reply to the other's posts (`follows`, `posts`)."""

from bson import ObjectId

from command_service.commands.errors import CannotBlockSelf
from command_service.commands.other_users import other_user_id
from command_service.write_model import blocks, follows
from service_kit.mongo import Database
from service_kit.tokens import Principal


async def _blocked_id(database: Database, blocker: Principal, handle: str) -> ObjectId:
    return await other_user_id(database, blocker, handle, yourself=CannotBlockSelf)


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
