"""The consistency model as an executable specification: the read models a write model implies.

The projector must arrive at exactly these documents however it got there (incremental, replayed
from any checkpoint, rebuilt, crashed and resumed). This module computes them from the write
model's current state alone, in plain Python, independently of the projector's code; the README's
"What a timeline contains" is its prose form.
"""

from collections import Counter
from datetime import timedelta
from typing import Any

from service_kit.mongo import Database
from service_kit.text import fold, hashtags_of, search_terms_of
from service_kit.write_model import (
    BLOCKS,
    FOLLOWS,
    LIKES,
    NOTIFICATION_MARKS,
    POSTS,
    REPOSTS,
    USERS,
)

Documents = dict[str, list[dict[str, Any]]]


async def expected_read_models(database: Database, backfill_limit: int) -> Documents:
    users = await database[USERS].find().to_list(None)
    posts = [p for p in await database[POSTS].find().to_list(None) if p["deleted_at"] is None]
    follows = await database[FOLLOWS].find().to_list(None)
    names = {u["_id"]: u for u in users}
    live = {post["_id"]: post for post in posts}
    blocks = await database[BLOCKS].find().to_list(None)
    # Likes and reposts count and show only while their post is live.
    reactions = [
        (kind, reaction)
        for kind, collection in (("like", LIKES), ("repost", REPOSTS))
        for reaction in await database[collection].find().to_list(None)
        if reaction["post_id"] in live
    ]

    post_views = [
        {
            "_id": str(post["_id"]),
            "author_id": str(post["author_id"]),
            "author": {
                "id": str(post["author_id"]),
                "handle": names[post["author_id"]]["handle"],
                "display_name": names[post["author_id"]]["display_name"],
            },
            "author_seq": post["author_seq"],
            "text": post["text"],
            "created_at": post["created_at"],
            "reply_to": str(post["reply_to"]) if post["reply_to"] else None,
            "like_count": sum(
                1 for k, r in reactions if k == "like" and r["post_id"] == post["_id"]
            ),
            "repost_count": sum(
                1 for k, r in reactions if k == "repost" and r["post_id"] == post["_id"]
            ),
            "reply_count": sum(1 for reply in posts if reply["reply_to"] == post["_id"]),
            # Search finds a post by its words, #hashtags and @mentions; explore shows posts
            # and replies to oneself, not replies to others.
            "terms": search_terms_of(post["text"]),
            "in_explore": post["reply_to"] is None
            or post.get("reply_to_author_id") == post["author_id"],
        }
        for post in posts
    ]
    # Live posts per hashtag of their text and hour of writing (UTC, whole hours).
    uses = Counter(
        (
            tag,
            post["created_at"]
            - timedelta(
                minutes=post["created_at"].minute,
                seconds=post["created_at"].second,
                microseconds=post["created_at"].microsecond,
            ),
        )
        for post in posts
        for tag in hashtags_of(post["text"])
    )
    hashtag_hours = [
        {"_id": f"{tag}:{hour:%Y-%m-%dT%H}", "tag": tag, "hour": hour, "count": count}
        for (tag, hour), count in uses.items()
    ]
    # Each user is found by the start of their handle and of their display name, case-folded.
    user_search_keys = [
        {
            "_id": f"{user['_id']}:{kind}",
            "user_id": str(user["_id"]),
            "kind": kind,
            "key": fold(user["handle"] if kind == "handle" else user["display_name"]),
            "handle_key": fold(user["handle"]),
        }
        for user in users
        for kind in ("handle", "name")
    ]
    user_views = [
        {
            "_id": str(user["_id"]),
            "handle": user["handle"],
            "handle_lower": user["handle_lower"],
            "display_name": user["display_name"],
            "bio": user["bio"],
            "created_at": user["created_at"],
            "followers_count": sum(1 for f in follows if f["followee_id"] == user["_id"]),
            "following_count": sum(1 for f in follows if f["follower_id"] == user["_id"]),
            "posts_count": sum(1 for p in posts if p["author_id"] == user["_id"]),
        }
        for user in users
    ]
    follow_edges = [
        {
            "_id": f"{follow['follower_id']}:{follow['followee_id']}",
            "follower_id": str(follow["follower_id"]),
            "followee_id": str(follow["followee_id"]),
            "followee_post_seq": follow["followee_post_seq"],
            "created_at": follow["created_at"],
        }
        for follow in follows
    ]
    # Own posts, and each followed account's posts numbered above (start - backfill_limit).
    shown = {(post["author_id"], post["_id"]) for post in posts}
    for follow in follows:
        lowest = follow["followee_post_seq"] - backfill_limit + 1
        shown |= {
            (follow["follower_id"], post["_id"])
            for post in posts
            if post["author_id"] == follow["followee_id"] and post["author_seq"] >= lowest
        }
    by_id = {post["_id"]: post for post in posts}
    timeline_entries = [
        {
            "_id": f"{owner}:{post_id}",
            "owner_id": str(owner),
            "post_id": str(post_id),
            "author_id": str(by_id[post_id]["author_id"]),
            "created_at": by_id[post_id]["created_at"],
        }
        for owner, post_id in shown
    ]
    block_edges = [
        {
            "_id": f"{block['blocker_id']}:{block['blocked_id']}",
            "blocker_id": str(block["blocker_id"]),
            "blocked_id": str(block["blocked_id"]),
            "created_at": block["created_at"],
        }
        for block in blocks
    ]
    post_reactions = [
        {
            "_id": f"{kind}:{reaction['user_id']}:{reaction['post_id']}",
            "kind": kind,
            "user_id": str(reaction["user_id"]),
            "post_id": str(reaction["post_id"]),
            "post_author_id": str(reaction["post_author_id"]),
            "created_at": reaction["created_at"],
        }
        for kind, reaction in reactions
    ]
    marks = [
        {
            "_id": str(mark["_id"]),
            "user_id": str(mark["_id"]),
            "read_up_to_time": mark["read_up_to_time"],
            "read_up_to_id": mark["read_up_to_id"],
        }
        for mark in await database[NOTIFICATION_MARKS].find().to_list(None)
    ]
    documents = {
        "user_views": user_views,
        "block_edges": block_edges,
        "follow_edges": follow_edges,
        "post_views": post_views,
        "timeline_entries": timeline_entries,
        "post_reactions": post_reactions,
        "notifications": notifications(posts, follows, reactions, blocks),
        "notification_read_marks": marks,
        "hashtag_hours": hashtag_hours,
        "user_search_keys": user_search_keys,
    }
    return {name: sorted(docs, key=lambda doc: doc["_id"]) for name, docs in documents.items()}


def notifications(
    posts: list[dict[str, Any]],
    follows: list[dict[str, Any]],
    reactions: list[tuple[str, dict[str, Any]]],
    blocks: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """What happened to whom, from live posts, follows and reactions to live posts: never to
    yourself; a reply does not also count as a mention of the author it answers; kept but
    flagged `blocked` while the recipient blocks the actor."""
    # (key, recipient, actor, kind, post, created_at)
    found: list[tuple[str, Any, Any, str, Any, Any]] = []
    for kind, reaction in reactions:
        if reaction["user_id"] != reaction["post_author_id"]:
            key = f"{kind}:{reaction['user_id']}:{reaction['post_id']}"
            found.append(
                (
                    key,
                    reaction["post_author_id"],
                    reaction["user_id"],
                    kind,
                    reaction["post_id"],
                    reaction["created_at"],
                )
            )
    for post in posts:
        author, answered = post["author_id"], post.get("reply_to_author_id")
        if answered is not None and answered != author:
            found.append(
                (f"reply:{post['_id']}", answered, author, "reply", post["_id"], post["created_at"])
            )
        for mentioned in post.get("mention_ids") or []:
            if mentioned not in (author, answered):
                key = f"mention:{post['_id']}:{mentioned}"
                found.append((key, mentioned, author, "mention", post["_id"], post["created_at"]))
    for follow in follows:
        follower, followee = follow["follower_id"], follow["followee_id"]
        key = f"follow:{follower}:{followee}"
        found.append((key, followee, follower, "follow", None, follow["created_at"]))
    blocking = {(block["blocker_id"], block["blocked_id"]) for block in blocks}
    return [
        {
            "_id": key,
            "recipient_id": str(recipient),
            "actor_id": str(actor),
            "kind": kind,
            "post_id": str(post_id) if post_id is not None else None,
            "created_at": created_at,
            "blocked": (recipient, actor) in blocking,
        }
        for key, recipient, actor, kind, post_id, created_at in found
    ]
