"""The block_edges read model follows the write model's blocks (the API arrives with blocks)."""

from bson import ObjectId

from command_service.write_model import blocks
from query_service.read_models.blocks import blocked_by
from tests.support import Stack, User


async def test_a_block_is_projected_and_an_unblock_removes_it(stack: Stack, alice: User, bob: User):
    alice_id, bob_id = ObjectId(alice.id), ObjectId(bob.id)
    await blocks.upsert_block(stack.database, alice_id, bob_id)
    await blocks.upsert_block(stack.database, alice_id, bob_id)  # idempotent
    await stack.settle()
    assert await blocked_by(stack.read_database, alice.id) == {bob.id}
    assert await blocked_by(stack.read_database, bob.id) == set()
    assert await blocks.blocks_between(stack.database, bob_id, alice_id)
    assert await blocks.is_blocked_by(stack.database, bob_id, alice_id)
    assert not await blocks.is_blocked_by(stack.database, alice_id, bob_id)

    await blocks.delete_block(stack.database, alice_id, bob_id)
    await stack.settle()
    assert await blocked_by(stack.read_database, alice.id) == set()
    assert not await blocks.blocks_between(stack.database, alice_id, bob_id)
