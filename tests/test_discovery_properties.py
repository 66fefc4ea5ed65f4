"""The discovery lists, paged and filtered, equal their definition over generated histories.

The read models themselves are proven equal to the specification in `test_consistency.py`; here
the queries over them are: every page of every list, walked with a small limit, must add up to
the list computed from the write model in plain Python, for every reader's blocks.
"""

from collections import Counter
from functools import partial
from typing import Any

from hypothesis import HealthCheck, given, settings

from query_service.read_models import explore, follows, hashtags, posts, search
from query_service.read_models.blocks import blocked_by
from service_kit.clock import utc_now
from service_kit.mongo import Database
from service_kit.text import fold, hashtags_of, search_terms_of
from service_kit.write_model import BLOCKS, FOLLOWS, POSTS, USERS
from tests.histories import CAST, Writers, histories
from tests.support import make_settings, running_stack

PROPERTIES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LIMIT = 2  # small pages, so that paging and in-query filtering are both exercised
QUERIES = ["python", "#python", "rust python", "#rust", "strasse", "re", "hi"]
PREFIXES = ["u", "user", "user 1", "user1", "USER 2 (", "x"]


def newest_first(document: dict[str, Any]) -> tuple:
    return (document["created_at"], str(document["_id"]))


async def walk(fetch) -> list[str]:
    """Every item's id, following the pages to the end (bounded)."""
    found: list[str] = []
    position = None
    for _ in range(200):
        page = await fetch(position)
        found += [str(item["_id"]) for item in page.items]
        position = page.next_position
        if position is None:
            return found
    raise AssertionError("too many pages")


async def check_discovery_lists(database: Database, read: Database) -> None:
    users = await database[USERS].find().to_list(None)
    live = [p for p in await database[POSTS].find().to_list(None) if p["deleted_at"] is None]
    edges = await database[FOLLOWS].find().to_list(None)
    blocks = await database[BLOCKS].find().to_list(None)
    readers: list[str | None] = [None, *(str(user["_id"]) for user in users)]

    for reader in readers:
        hidden = await blocked_by(read, reader) if reader else set()
        assert hidden == {str(b["blocked_id"]) for b in blocks if str(b["blocker_id"]) == reader}
        shown = [p for p in live if str(p["author_id"]) not in hidden]

        expected = sorted(
            (
                p
                for p in shown
                if p["reply_to"] is None or p["reply_to_author_id"] == p["author_id"]
            ),
            key=newest_first,
            reverse=True,
        )
        found = await walk(partial(explore.explore_page, read, LIMIT, hidden_authors=hidden))
        assert found == [str(p["_id"]) for p in expected], "explore"

        for q in QUERIES:
            terms = search.query_terms(q)
            matching = [p for p in shown if set(terms) <= set(search_terms_of(p["text"]))]
            expected = sorted(matching, key=newest_first, reverse=True)
            found = await walk(
                partial(search.search_posts, read, terms, LIMIT, hidden_authors=hidden)
            )
            assert found == [str(p["_id"]) for p in expected], f"search {q!r}"

        for parent in live:
            replies = [p for p in shown if p["reply_to"] == parent["_id"]]
            replies_of = partial(posts.replies_to, read, str(parent["_id"]), LIMIT)
            found = await walk(partial(replies_of, hidden_authors=hidden))
            assert found == [str(p["_id"]) for p in sorted(replies, key=newest_first)], "replies"

    for user in users:
        user_id = user["_id"]
        for side, other, page in (
            ("followee_id", "follower_id", follows.followers_page),
            ("follower_id", "followee_id", follows.following_page),
        ):
            listed = [e for e in edges if e[side] == user_id]
            listed.sort(key=lambda e: (e["created_at"], str(e[other])), reverse=True)
            found = await walk(partial(page, read, str(user_id), LIMIT))
            assert found == [str(e[other]) for e in listed], side

    for prefix in PREFIXES:
        key = fold(prefix)
        ranked = []
        for user in users:
            handle, name = fold(user["handle"]), fold(user["display_name"])
            if handle.startswith(key):
                ranked.append((handle, f"{user['_id']}:handle", str(user["_id"])))
            elif name.startswith(key):
                ranked.append((name, f"{user['_id']}:name", str(user["_id"])))
        found_users: list[str] = []
        key_position = None
        for _ in range(100):
            user_page = await search.search_users(read, prefix, LIMIT, key_position)
            found_users += [user["_id"] for user in user_page.items]
            key_position = user_page.next_position
            if key_position is None:
                break
        assert found_users == [user_id for *_, user_id in sorted(ranked)], f"users {prefix!r}"

    since = hashtags.window_start(utc_now())
    uses = Counter(
        tag
        for p in live
        if hashtags.hour_of(p["created_at"]) >= since
        for tag in hashtags_of(p["text"])
    )
    top = await hashtags.top_hashtags(read, since, 100)
    assert top == [
        {"tag": tag, "count": count}
        for tag, count in sorted(uses.items(), key=lambda item: (-item[1], item[0]))
    ]


@PROPERTIES
@given(history=histories)
async def test_every_page_of_every_discovery_list_adds_up_to_its_definition(history):
    async with running_stack(make_settings(projector_batch_size=7)) as stack:
        writers = await Writers.sign_up(stack.database, CAST)
        for step in history:
            await writers.run(step)
        await stack.settle()
        await check_discovery_lists(stack.database, stack.read_database)
