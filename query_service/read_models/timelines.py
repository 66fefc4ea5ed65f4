"""Home timelines with hybrid fan-out: the write side for posts and follows.

The rule (the README's "What a timeline contains"), a function of the write model alone:
a user's home timeline shows every live post they wrote, and, for every account they follow now,
every live post of that account numbered above `start - backfill_limit`, where `start` is how many
numbers the account had drawn when this follow was made (`followee_post_seq`). Numbers come from
the author's own sequence, never from clocks, so any interleaving, replay or rebuild agrees.
Reposts draw from the same sequence and reach timelines by the same windows
(`timeline_reposts.py`); the documents and the writes they share are in `timeline_entries.py`,
and the read side, which shows each post once, is `home_timeline.py`.

Hybrid fan-out. An account with at least `fanout_max_followers` followers is *large*: its posts
and reposts are not copied into its followers' timelines (its own timeline still gets them).
Instead each timeline's head lists `sources`, the large accounts the owner follows, each with the
first number its follow shows, and a page merges their posts and reposts when it is read. The
head also says whether its owner is `large`, as last decided: from the exact `followers_count` of
`user_views` (`UsersProjection` runs first), in `finish_batch`, for every account whose followers
changed in the batch. Crossing up moves the account into its followers' sources and removes its
entries; crossing down backfills every follower's window and takes it out of the sources. Either
way the decision is written last, so a crash in between repeats the crossing, and deliveries made
earlier in the batch are made right by it. A head with no sources and not large is removed.

The cap. A timeline keeps about `timeline_max_entries` entries (C): an owner is trimmed to its
newest C on a deterministic fraction 1/max(1, C // 2) of the deliveries to it (by a hash of owner
and post), always after a follow's backfill, and a rebuild trims every owner once at the end. One
trim is one indexed skip over at most C + (entries since the last trim) keys, so trimming costs
O(1) keys per delivery on average and a timeline holds about 1.5 C entries between trims. A
backfill copies only the newest C of each kind of the window (a follow: of its replies to others,
of its other posts and of its reposts apart, as they leave apart; an account crossing down: of its
other posts and of its reposts): an older one has C newer entries and could not be among the
newest C. Pages show at most the newest C entries (plus the merged posts). Entries depend on
history (a deleted post does not bring back one that was trimmed); tests/reference_model.py states
exactly what is guaranteed.

The Mastodon reply rule. A reply to someone else (Y) reaches a follower's timeline only when the
follower follows Y or is Y. Such replies are always fanned out, even by a large account, to that
intersection (`_reply_audience` reads the smaller follower set and checks the other in chunks);
entries keep `replied_to`, so unfollowing Y removes them, and following Y backfills the replies
to Y by the accounts the follower follows, each within its window (`_replies_to`).

Entries are keyed by (owner, post[, reposter]) and heads by owner, so every step can safely run
again.
"""

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from pymongo import ASCENDING, DeleteMany

from query_service.projector.projection import (
    Change,
    OwnedCollections,
    Projection,
    ProjectionContext,
)
from query_service.read_models import timeline_reposts
from query_service.read_models.follows import edge_exists, edge_of
from query_service.read_models.names import (
    FOLLOW_EDGES,
    POST_VIEWS,
    TIMELINE_ENTRIES,
    USER_VIEWS,
)
from query_service.read_models.posts import NEWEST_FIRST, live_post, replied_to_other
from query_service.read_models.timeline_entries import (
    INDEXES,
    TRIMS,
    Bulk,
    add_source,
    drop_entries_of_gone_posts,
    drop_idle_head,
    drop_source,
    entry_upsert,
    first_number_shown,
    head_update,
    is_large,
    large_among,
    newest_per_window,
    schedule_trim,
    trim,
    trim_due,
    window_audience,
)
from service_kit.write_model import BLOCKS, FOLLOWS, POSTS, REPOSTS


class TimelinesProjection(Projection):
    name = "timelines"
    consumes = (POSTS, FOLLOWS, REPOSTS, BLOCKS)
    owns: ClassVar[OwnedCollections] = {TIMELINE_ENTRIES: INDEXES}

    async def apply(self, context: ProjectionContext, change: Change) -> None:
        collection = change["ns"]["coll"]
        if collection == REPOSTS:
            await timeline_reposts.apply_repost(context, change)
        elif collection == BLOCKS:
            await timeline_reposts.apply_block(context, change)
        elif collection == POSTS:
            post_id = str(change["documentKey"]["_id"])
            post = live_post(change)
            if post is None:
                await remove_post(context, post_id)
            elif change["operationType"] == "insert":
                await deliver_post(context, post_id, post)
        else:
            follower_id, followee_id = edge_of(change)
            # The followee's follower count changed: `finish_batch` decides whether it is large.
            context.stale_ids(self.name).add(followee_id)
            if edge_exists(change):
                start = int(change["fullDocument"].get("followee_post_seq", 0))
                await follow_in(context, follower_id, followee_id, start)
            else:
                await follow_out(context, follower_id, followee_id)

    async def finish_batch(self, context: ProjectionContext) -> None:
        accounts = context.stale_ids(self.name)
        await reconcile_fanout(context, sorted(accounts))
        accounts.clear()
        owners = context.stale_ids(TRIMS)
        for owner_id in sorted(owners):
            await trim(context, owner_id)
        owners.clear()

    async def finish_rebuild(self, context: ProjectionContext) -> None:
        # A rebuild trims nothing while it replays (a trim followed by a crossing up would lose
        # entries a single pass keeps); now every timeline is trimmed once, to its newest C.
        users = context.collection(USER_VIEWS).find({}, {"_id": 1}).sort("_id", ASCENDING)
        async for user in users:
            await trim(context, str(user["_id"]))


# ---- posts and follows: fan-out, backfill, removal ---------------------------------------------


async def deliver_post(context: ProjectionContext, post_id: str, post: dict[str, Any]) -> None:
    """Put a new post into its author's timeline and, unless the author is large, into every
    follower's whose window admits it (in bulk chunks)."""
    author_id = str(post["author_id"])
    number, replied = int(post.get("author_seq", 0)), replied_to_other(post)
    bulk = Bulk(context)
    if replied is not None:  # a reply to someone else is fanned out whether or not large
        owners = _reply_audience(context, author_id, number, replied)
    else:
        owners = window_audience(context, author_id, number, await is_large(context, author_id))
    async for owner_id in owners:
        entry = entry_upsert(owner_id, post_id, author_id, post["created_at"], replied)
        await bulk.add(entry, entry=True)
        if trim_due(owner_id, post_id, context.settings.timeline_max_entries):
            schedule_trim(context, owner_id)
    await bulk.flush()


async def follow_in(
    context: ProjectionContext, follower_id: str, followee_id: str, start: int
) -> None:
    """A follow: a large followee goes into the follower's sources; a small one's window (its
    posts and its reposts) is backfilled. Runs on every application of the follow (a crash may
    have come between the edge and this); posts and reposts after the follow that are not
    projected yet arrive through their own deliveries."""
    first = first_number_shown(start, context.settings.backfill_limit)
    large = await is_large(context, followee_id)
    if large:
        await context.collection(TIMELINE_ENTRIES).bulk_write(
            [add_source(follower_id, followee_id, first)]
        )
    bulk = Bulk(context)
    async for post in _newest_shown_of_window(context, follower_id, followee_id, first, large):
        entry = entry_upsert(
            follower_id, post["_id"], followee_id, post["created_at"], replied_to_other(post)
        )
        await bulk.add(entry, entry=True)
    # Following an account also admits the replies to it by the accounts the follower follows.
    # Their authors' deletes are not ordered with this follow (another lane): see below.
    others: set[str] = set()
    async for post in _replies_to(context, follower_id, followee_id):
        entry = entry_upsert(
            follower_id, post["_id"], post["author_id"], post["created_at"], followee_id
        )
        await bulk.add(entry, entry=True)
        others.add(post["_id"])
    if not large:
        others |= await timeline_reposts.backfill_follow(
            context, bulk, follower_id, followee_id, first
        )
    await bulk.flush()
    await drop_entries_of_gone_posts(context, others)
    schedule_trim(context, follower_id)


async def follow_out(context: ProjectionContext, owner_id: str, author_id: str) -> None:
    """An unfollow: the author's posts, the replies to them and the author's reposts leave one
    timeline, and the author its sources. Reposts of the author's posts by others stay."""
    await context.collection(TIMELINE_ENTRIES).bulk_write(
        [
            # their posts, and the posts they reposted
            DeleteMany(
                {
                    "owner_id": owner_id,
                    "$or": [
                        {"author_id": author_id, "reposted_by": None},
                        {"reposted_by": author_id},
                    ],
                }
            ),
            # the replies to them, but not the owner's own
            DeleteMany(
                {
                    "owner_id": owner_id,
                    "replied_to": author_id,
                    "author_id": {"$ne": owner_id},
                    "reposted_by": None,
                }
            ),
            *drop_source(owner_id, author_id),
        ],
        ordered=True,
    )


async def remove_post(context: ProjectionContext, post_id: str) -> None:
    """A deleted post leaves every timeline, whatever brought it there."""
    await context.collection(TIMELINE_ENTRIES).delete_many({"post_id": post_id})


# ---- hybrid fan-out: deciding and crossing the threshold ---------------------------------------


async def reconcile_fanout(context: ProjectionContext, accounts: list[str]) -> None:
    """Decide, from exact follower counts, which of `accounts` are large, and cross the threshold
    for those whose decision changed."""
    if not accounts:
        return
    threshold = context.settings.fanout_max_followers
    views = context.collection(USER_VIEWS).find({"_id": {"$in": accounts}}, {"followers_count": 1})
    large = {str(v["_id"]) async for v in views if v.get("followers_count", 0) >= threshold}
    was_large = await large_among(context, accounts)
    for account_id in accounts:
        if account_id in large and account_id not in was_large:
            await cross_up(context, account_id)
        elif account_id in was_large and account_id not in large:
            await cross_down(context, account_id)


async def cross_up(context: ProjectionContext, account_id: str) -> None:
    """The account becomes large: for each follower, add it to the sources (first, so a reader
    sees its posts twice for a moment rather than not at all; a page shows each post once) and
    remove its entries: its posts (not its replies to others, which are fanned out whether or not
    it is large) and its reposts. The state is written last: a crash before it repeats all of
    this."""
    bulk = Bulk(context, ordered=True)
    async for follower_id, first in _followers(context, account_id):
        await bulk.add(add_source(follower_id, account_id, first))
        await bulk.add(
            DeleteMany(
                {
                    "owner_id": follower_id,
                    "author_id": account_id,
                    "replied_to": None,
                    "reposted_by": None,
                }
            ),
            timeline_reposts.drop_reposts_by(follower_id, account_id),
        )
    await bulk.flush()
    await context.collection(TIMELINE_ENTRIES).bulk_write([head_update(account_id, large=True)])


async def cross_down(context: ProjectionContext, account_id: str) -> None:
    """The account is no longer large: backfill every follower's window (its newest C posts and
    its newest C reposts), then take the account out of their sources; the decision is written
    last.

    One scan of the account's posts, newest first, serves every follower: followers are grouped
    by where their window starts (`newest_per_window`); reposts are scanned the same way
    (`timeline_reposts.backfill_groups`)."""
    limit = context.settings.timeline_max_entries
    groups: dict[int, list[str]] = {}
    async for follower_id, first in _followers(context, account_id):
        groups.setdefault(first, []).append(follower_id)
    bulk = Bulk(context, ordered=True)
    if groups:
        posts = context.collection(POST_VIEWS).find(
            {
                "author_id": account_id,
                "author_seq": {"$gte": min(groups)},
                "reply_to_author_id": {"$in": [None, account_id]},  # replies to others stay
            },
            {"created_at": 1, "author_seq": 1},
        )
        newest = newest_per_window(posts.sort(NEWEST_FIRST), "author_seq", groups, limit)
        async for post, firsts in newest:
            for follower_id in (follower for first in firsts for follower in groups[first]):
                entry = entry_upsert(follower_id, post["_id"], account_id, post["created_at"], None)
                await bulk.add(entry, entry=True)
        await timeline_reposts.backfill_groups(context, bulk, account_id, groups)
        for followers in groups.values():
            for follower_id in followers:
                await bulk.add(*drop_source(follower_id, account_id))
                if trim_due(follower_id, account_id, limit):
                    schedule_trim(context, follower_id)
    await bulk.flush()
    await context.collection(TIMELINE_ENTRIES).bulk_write(
        [head_update(account_id, large=False), drop_idle_head(account_id)], ordered=True
    )


async def _followers(context: ProjectionContext, account_id: str) -> AsyncIterator[tuple[str, int]]:
    """Every follower of the account, with the first number its follow shows."""
    edges = context.collection(FOLLOW_EDGES).find(
        {"followee_id": account_id}, {"follower_id": 1, "followee_post_seq": 1}
    )
    async for edge in edges:
        start = int(edge.get("followee_post_seq", 0))
        yield edge["follower_id"], first_number_shown(start, context.settings.backfill_limit)


async def _newest_shown_of_window(
    context: ProjectionContext, follower_id: str, author_id: str, first: int, large: bool
) -> AsyncIterator[dict[str, Any]]:
    """The author's projected posts numbered `first` or above that the follower's timeline holds,
    the newest C of each kind: its replies to others, admitted only when the follower follows (or
    is) the account replied to, and its other posts, unless the author is large (merged instead).

    The kinds are capped apart because they leave apart: when the author crosses up, its other
    posts leave and its replies to others stay, so the newest C of the two together could leave
    out a reply that is among the newest C of what stays. The trim cuts the surplus later."""
    window = {"author_id": author_id, "author_seq": {"$gte": first}}
    fields = {"created_at": 1, "author_id": 1, "reply_to_author_id": 1}
    posts = context.collection(POST_VIEWS)
    limit = context.settings.timeline_max_entries
    if not large:
        own = posts.find({**window, "reply_to_author_id": {"$in": [None, author_id]}}, fields)
        async for post in own.sort(NEWEST_FIRST).limit(limit):
            yield post
    replies = posts.find({**window, "reply_to_author_id": {"$nin": [None, author_id]}}, fields)
    taken = 0
    chunk: list[dict[str, Any]] = []
    async for post in replies.sort(NEWEST_FIRST):
        chunk.append(post)
        if len(chunk) < context.settings.fanout_chunk:
            continue
        async for shown in _admitted(context, follower_id, chunk, limit - taken):
            taken += 1
            yield shown
        chunk = []
        if taken >= limit:
            return
    async for shown in _admitted(context, follower_id, chunk, limit - taken):
        yield shown


async def _admitted(
    context: ProjectionContext, follower_id: str, posts: list[dict[str, Any]], wanted: int
) -> AsyncIterator[dict[str, Any]]:
    """Of `posts` (newest first), at most `wanted` the follower's timeline holds: a reply to
    someone else only when the follower follows them or is them."""
    targets = {replied_to_other(post) for post in posts} - {None, follower_id}
    followed: set[str] = set()
    if targets and wanted > 0:
        edges = context.collection(FOLLOW_EDGES).find(
            {"follower_id": follower_id, "followee_id": {"$in": sorted(t for t in targets if t)}},
            {"followee_id": 1},
        )
        followed = {edge["followee_id"] async for edge in edges}
    for post in posts:
        if wanted <= 0:
            return
        replied = replied_to_other(post)
        if replied is None or replied == follower_id or replied in followed:
            wanted -= 1
            yield post


async def _replies_to(
    context: ProjectionContext, follower_id: str, replied_id: str
) -> AsyncIterator[dict[str, Any]]:
    """The newest C replies to `replied_id` by the accounts the follower follows, each within its
    follow's window: following `replied_id` admits them."""
    windows = {
        edge["followee_id"]: first_number_shown(
            int(edge.get("followee_post_seq", 0)), context.settings.backfill_limit
        )
        async for edge in context.collection(FOLLOW_EDGES).find(
            {"follower_id": follower_id}, {"followee_id": 1, "followee_post_seq": 1}
        )
        if edge["followee_id"] != replied_id
    }
    if not windows:
        return
    replies = context.collection(POST_VIEWS).find(
        {"reply_to_author_id": replied_id, "author_id": {"$in": sorted(windows)}},
        {"created_at": 1, "author_id": 1, "author_seq": 1},
    )
    taken = 0
    async for reply in replies.sort(NEWEST_FIRST):
        if reply["author_seq"] >= windows[reply["author_id"]]:
            yield reply
            taken += 1
            if taken >= context.settings.timeline_max_entries:
                return


async def _reply_audience(
    context: ProjectionContext, author_id: str, number: int, replied_id: str
) -> AsyncIterator[str]:
    """Whose timelines a reply to someone else reaches: its author's, and every follower's whose
    window admits it and who follows the account replied to or is it. The smaller of the two
    follower sets is read, in chunks, and checked against the other with one query a chunk."""
    yield author_id
    views = context.collection(USER_VIEWS).find(
        {"_id": {"$in": [author_id, replied_id]}}, {"followers_count": 1}
    )
    counts = {str(v["_id"]): int(v.get("followers_count", 0)) async for v in views}
    edges = context.collection(FOLLOW_EDGES)
    window = {"followee_post_seq": {"$lt": number + context.settings.backfill_limit}}
    if counts.get(author_id, 0) <= counts.get(replied_id, 0) + 1:
        candidates = edges.find({"followee_id": author_id, **window}, {"follower_id": 1})
        check: dict[str, Any] = {"followee_id": replied_id}
        always = {replied_id}  # the account replied to, when it follows the author
    else:
        candidates = edges.find({"followee_id": replied_id}, {"follower_id": 1})
        check, always = {"followee_id": author_id, **window}, set()
        yield_replied = await edges.find_one(
            {"followee_id": author_id, "follower_id": replied_id, **window}, {"_id": 1}
        )
        if yield_replied is not None:
            yield replied_id
    chunk: list[str] = []

    async def admitted(followers: list[str]) -> AsyncIterator[str]:
        found = edges.find({**check, "follower_id": {"$in": followers}}, {"follower_id": 1})
        both = {edge["follower_id"] async for edge in found}
        for follower_id in followers:
            if follower_id in both or follower_id in always:
                yield follower_id

    async for edge in candidates:
        chunk.append(edge["follower_id"])
        if len(chunk) >= context.settings.fanout_chunk:
            async for follower_id in admitted(chunk):
                yield follower_id
            chunk = []
    if chunk:
        async for follower_id in admitted(chunk):
            yield follower_id
