"""Refresh tokens: one document per token, grouped in families (one family per sign-in).

Only a SHA-256 of each token's secret is stored. Using a token is a single conditional update
(`used_at: None` → now), so of two concurrent uses exactly one wins, on any number of replicas.
"""

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from service_kit.clock import utc_now
from service_kit.mongo import Database

REFRESH_TOKENS = "refresh_tokens"


async def insert_refresh_token(
    database: Database,
    *,
    token_id: str,
    family_id: str,
    user_id: ObjectId,
    secret_hash: str,
    expires_at: datetime,
) -> None:
    await database[REFRESH_TOKENS].insert_one(
        {
            "_id": token_id,
            "family_id": family_id,
            "user_id": user_id,
            "secret_hash": secret_hash,
            "created_at": utc_now(),
            "expires_at": expires_at,
            "used_at": None,
            "revoked": False,
        }
    )


async def find_refresh_token(database: Database, token_id: str) -> dict[str, Any] | None:
    return await database[REFRESH_TOKENS].find_one({"_id": token_id})


async def mark_used(database: Database, token_id: str) -> bool:
    """True for the one caller that used the token first; False if it was used or revoked."""
    used = await database[REFRESH_TOKENS].find_one_and_update(
        {"_id": token_id, "used_at": None, "revoked": False},
        {"$set": {"used_at": utc_now()}},
        return_document=ReturnDocument.AFTER,
    )
    return used is not None


async def revoke_family(database: Database, family_id: str) -> None:
    await database[REFRESH_TOKENS].update_many(
        {"family_id": family_id}, {"$set": {"revoked": True}}
    )
