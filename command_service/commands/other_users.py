"""Finding the other account a command acts on (follow, block): 404 unknown, refused if yourself."""

from bson import ObjectId

from command_service.commands.errors import CommandError, UserNotFound
from command_service.write_model import users
from service_kit.mongo import Database
from service_kit.tokens import Principal


async def other_user_id(
    database: Database, actor: Principal, handle: str, *, yourself: type[CommandError]
) -> ObjectId:
    """The id of the user `handle` names; `UserNotFound`, or `yourself` when it is the actor."""
    other = await users.find_user_by_handle(database, handle)
    if other is None:
        raise UserNotFound(handle)
    if str(other["_id"]) == actor.user_id:
        raise yourself(handle)
    return other["_id"]
