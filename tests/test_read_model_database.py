"""Read models in their own database (READ_MODEL_MONGODB_URI / READ_MODEL_MONGODB_DATABASE).

The whole suite also passes in this layout: `TEST_READ_MODEL_DATABASE=microblog_read make test`.
"""

import pytest
from pydantic import SecretStr

from query_service.projector.checkpoints import PROJECTOR_CHECKPOINTS
from query_service.read_models.registry import READ_MODEL_COLLECTIONS
from service_kit.mongo.connection import connect
from service_kit.write_model import COLLECTIONS
from tests.reference_model import expected_read_models
from tests.support import make_settings, running_stack


async def test_with_their_own_database_the_read_models_never_touch_the_write_models():
    async with running_stack(make_settings(read_model_mongodb_database="read_side")) as stack:
        assert stack.read_database.name == "read_side" != stack.database.name
        alice, bob = await stack.sign_up("alice"), await stack.sign_up("bob")
        await bob.follow("alice")
        post = await alice.post("across databases")
        await stack.settle()

        assert await bob.timeline_ids() == [post["id"]]
        write_side = set(await stack.database.list_collection_names())
        read_side = set(await stack.read_database.list_collection_names())
        assert write_side.isdisjoint(READ_MODEL_COLLECTIONS)
        assert PROJECTOR_CHECKPOINTS not in write_side
        assert read_side.isdisjoint(COLLECTIONS)
        assert {*READ_MODEL_COLLECTIONS, PROJECTOR_CHECKPOINTS} <= read_side

        await stack.read_database[PROJECTOR_CHECKPOINTS].delete_many({})
        await stack.settle()  # a rebuild reads one database and writes the other
        expected = await expected_read_models(
            stack.database, stack.settings.projector_backfill_limit
        )
        assert await stack.read_models() == expected


async def test_another_deployment_for_the_read_models_gets_its_own_client():
    settings = make_settings(
        mongodb_uri="mongodb://write.example:27017/?replicaSet=w",
        read_model_mongodb_uri="mongodb://read.example:27017/?replicaSet=r",
    )
    connection = connect(settings)  # lazy: nothing is contacted
    try:
        assert connection.read_client is not None
        assert connection.read_client is not connection.client
        assert connection.read_database.name == connection.database.name == "microblog"
    finally:
        await connection.close()

    same = connect(make_settings(mongodb_uri="mongodb://one.example:27017/?replicaSet=w"))
    try:
        assert same.read_client is None
        assert same.read_database.client is same.client
    finally:
        await same.close()


def test_the_embedded_store_cannot_put_read_models_on_another_deployment():
    with pytest.raises(ValueError, match="READ_MODEL_MONGODB_URI needs MONGODB_URI"):
        make_settings(read_model_mongodb_uri=SecretStr("mongodb://elsewhere:27017"))
