"""A deterministic demo graph: who signs up, who follows whom, who writes, replies, likes, reposts.

Everything is drawn from one `random.Random(seed)`, so a seed and the sizes decide the whole plan.
The shape follows what social graphs are measured to look like:

- **Followers are power-law.** Every account has a popularity rank; a follow picks its followee
  with probability proportional to rank^-`FOLLOW_ZIPF` (Zipf), so a few accounts hold most
  follows and most hold few. How many accounts a user follows is lognormal around
  `follows_per_user` (few follow many).
- **Large accounts.** When `fanout_max_followers` can be reached (it needs more users than that),
  the `large_accounts` most popular accounts are topped up to at least that many followers, so
  their posts take the merged-on-read path of hybrid fan-out. A smaller graph says so in
  `Plan.notes`; the benchmark instead sets FANOUT_MAX_FOLLOWERS to what its largest accounts reach.
- **Activity is power-law too**, on its own ranking: a few accounts write most posts.
- **Replies, likes and reposts** go to recent posts, more often to popular authors' posts.
- **Text** is words from a small vocabulary; a share of posts carries one to three hashtags drawn
  Zipf-like from `HASHTAGS` (so trending has a head and a tail) and some mention a followee.

Most follows come first (the graph a timeline reads from); `late_follow_share` of them are
interleaved with the activity, so backfills happen too. The plan holds no deletes, unfollows or
blocks: the counts it implies (`Plan.expected_counts`) are then exact for any history.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

FOLLOW_ZIPF = 1.05  # in-degree exponent of the popularity ranking
ACTIVITY_ZIPF = 0.9  # how unevenly posts are spread over authors
HASHTAG_ZIPF = 1.1
RECENT_POSTS = 300  # replies and reactions pick among this many latest posts


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "ada alan barbara claude dennis edsger frances grace guido hedy ida james john ken linus "
    "margaret niklaus olga peter radia richard rob sophie tim ursula vint whitfield xavier yukihiro "
    "zara amara bjarne carol donald elena fatima gustavo hana ivan jun kofi leila mateo nadia "
    "omar priya quentin rosa sven tamar uma victor wei yara"
)
LAST_NAMES = _words(
    "lovelace turing liskov shannon ritchie dijkstra allen hopper van_rossum lamarr rhodes gosling "
    "mccarthy thompson torvalds hamilton wirth taussky naur perlman stallman pike wilson berners "
    "leguin cerf diffie xu matsumoto okafor stroustrup knuth nakamura silva kowalski haddad "
    "mensah novak ortiz patel quinn rossi santos tanaka ueda vargas weber young zhang"
)
WORDS = _words(
    "the a of and to in is it that for on with as at this but from by or we be my just about "
    "today really new time good great first last still never always maybe morning night week "
    "coffee tea code bug release deploy server database query index cache latency graph stream "
    "cluster pod commit branch review test build ship refactor design paper talk idea question "
    "answer book music run walk city train bike rain sun weather garden cat dog dinner lunch "
    "weekend holiday project team meeting notes draft launch fix crash retry timeout queue event "
    "change replica shard backup metric alert dashboard log trace profile benchmark faster slower "
    "small large simple hard easy clean messy happy tired busy quiet loud finally again works "
    "broke learned shipped wrote read found tried love hate think know wonder hope need want"
)
HASHTAGS = _words(
    "python mongodb kubernetes fastapi coffee cqrs opensource devops rust golang music books "
    "running cycling photography cats dogs gardening cooking travel weather science space "
    "history art design databases testing security performance linux vim emacs typescript "
    "climate football chess movies hiking tea jazz"
)
BIOS = (
    "",
    "Writes code, mostly.",
    "Coffee first.",
    "Databases, distributed systems, bad puns.",
    "Opinions my own.",
    "Runner. Reader. Occasional baker.",
    "Shipping things since forever.",
    "Here for the cat pictures.",
)


@dataclass(frozen=True)
class SeedUser:
    index: int
    handle: str
    display_name: str
    bio: str


@dataclass(frozen=True)
class Follow:
    follower: int
    followee: int


@dataclass(frozen=True)
class Post:
    index: int
    author: int
    text: str
    reply_to: int | None  # index of the post replied to
    hashtags: tuple[str, ...]
    mentions: tuple[int, ...]  # users mentioned


@dataclass(frozen=True)
class Reaction:
    kind: Literal["like", "repost"]
    user: int
    post: int


Operation = Follow | Post | Reaction


@dataclass(frozen=True)
class Sizes:
    users: int
    posts: int
    follows_per_user: float = 20.0
    reply_share: float = 0.2
    likes_per_post: float = 2.0
    reposts_per_post: float = 0.1
    hashtag_share: float = 0.3
    mention_share: float = 0.1
    late_follow_share: float = 0.1
    large_accounts: int = 3
    fanout_max_followers: int = 10_000

    def __post_init__(self) -> None:
        if self.users < 2:
            raise ValueError("a graph needs at least 2 users")
        if self.posts < 0:
            raise ValueError("posts cannot be negative")


@dataclass
class Plan:
    sizes: Sizes
    seed: int
    users: list[SeedUser]
    follows: list[Follow]  # made before the activity
    activity: list[Operation]  # posts, replies, likes, reposts and late follows, in order
    notes: list[str] = field(default_factory=list)

    @property
    def posts(self) -> list[Post]:
        return [op for op in self.activity if isinstance(op, Post)]

    @property
    def all_follows(self) -> list[Follow]:
        return self.follows + [op for op in self.activity if isinstance(op, Follow)]

    def reactions(self, kind: str) -> list[Reaction]:
        return [op for op in self.activity if isinstance(op, Reaction) and op.kind == kind]

    @property
    def operations(self) -> int:
        return len(self.users) + len(self.follows) + len(self.activity)

    def expected_counts(self) -> ExpectedCounts:
        """What the read models must show once everything is projected (nothing is deleted)."""
        follows = self.all_follows
        posts = self.posts
        likes = Counter(r.post for r in self.reactions("like"))
        reposts = Counter(r.post for r in self.reactions("repost"))
        replies = Counter(p.reply_to for p in posts if p.reply_to is not None)
        return ExpectedCounts(
            followers=Counter(f.followee for f in follows),
            following=Counter(f.follower for f in follows),
            posts=Counter(p.author for p in posts),
            likes=likes,
            reposts=reposts,
            replies=replies,
        )

    def shape(self) -> dict[str, float | int]:
        """Shape statistics of the graph: what makes it power-law, and how big it is."""
        counts = self.expected_counts()
        followers = sorted((counts.followers[u.index] for u in self.users), reverse=True)
        posts_by = sorted((counts.posts[u.index] for u in self.users), reverse=True)
        total_follows = sum(followers)
        top = max(1, len(followers) // 100)
        posts = self.posts
        return {
            "users": len(self.users),
            "follows": total_follows,
            "posts": len(posts),
            "replies": sum(1 for p in posts if p.reply_to is not None),
            "likes": len(self.reactions("like")),
            "reposts": len(self.reactions("repost")),
            "posts_with_hashtags": sum(1 for p in posts if p.hashtags),
            "distinct_hashtags": len({tag for p in posts for tag in p.hashtags}),
            "max_followers": followers[0],
            "median_followers": statistics.median(followers),
            "top_1pct_follower_share": round(sum(followers[:top]) / max(1, total_follows), 3),
            "max_posts_by_one_user": posts_by[0],
            "median_posts_per_user": statistics.median(posts_by),
            "large_accounts": sum(
                1 for count in followers if count >= self.sizes.fanout_max_followers
            ),
        }

    def most_followed(self, count: int) -> list[int]:
        followers = self.expected_counts().followers
        return sorted(followers, key=lambda user: (-followers[user], user))[:count]


@dataclass
class ExpectedCounts:
    followers: Counter[int]
    following: Counter[int]
    posts: Counter[int]
    likes: Counter[int]
    reposts: Counter[int]
    replies: Counter[int]


class _Weighted:
    """Draws indices with fixed weights in O(log n) (cumulative weights and bisection)."""

    def __init__(self, rng: random.Random, weights: list[float]) -> None:
        self._rng = rng
        self._cumulative = list(itertools.accumulate(weights))

    def draw(self) -> int:
        point = self._rng.random() * self._cumulative[-1]
        return min(bisect.bisect_right(self._cumulative, point), len(self._cumulative) - 1)


def _zipf_weights(rng: random.Random, count: int, exponent: float) -> list[float]:
    """Weight rank^-exponent, ranks dealt out at random to the `count` indices."""
    ranks = list(range(1, count + 1))
    rng.shuffle(ranks)
    return [rank**-exponent for rank in ranks]


def _users(rng: random.Random, count: int) -> list[SeedUser]:
    users = []
    seen: set[str] = set()
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        handle = f"{first}_{last}"[:23]  # room for a 7-digit suffix: handles end at 30
        if handle in seen:
            handle = f"{handle}{index}"
        seen.add(handle)
        display = f"{first.title()} {last.replace('_', ' ').title()}"
        users.append(SeedUser(index, handle, display, rng.choice(BIOS)))
    return users


def seed_users(count: int, seed: int) -> list[SeedUser]:
    """The users `generate` plans for this count and seed (they are drawn first), without the
    rest: enough to sign in as a seeded graph's accounts."""
    return _users(random.Random(seed), count)  # noqa: S311 (see generate)


def _follows(rng: random.Random, sizes: Sizes, popularity: _Weighted) -> list[Follow]:
    users = sizes.users
    # Lognormal out-degree with the asked mean: mean = exp(mu + sigma^2 / 2).
    sigma = 1.0
    mu = math.log(max(sizes.follows_per_user, 0.5)) - sigma**2 / 2
    edges: set[tuple[int, int]] = set()
    ordered: list[Follow] = []
    for follower in range(users):
        wanted = min(users - 1, max(1, round(rng.lognormvariate(mu, sigma))))
        chosen: set[int] = set()
        attempts = 0
        while len(chosen) < wanted and attempts < wanted * 20:
            attempts += 1
            followee = popularity.draw()
            if followee != follower:
                chosen.add(followee)
        for followee in sorted(chosen):
            edges.add((follower, followee))
            ordered.append(Follow(follower, followee))
    rng.shuffle(ordered)
    return _top_up_large_accounts(rng, sizes, ordered, edges)


def _top_up_large_accounts(
    rng: random.Random, sizes: Sizes, ordered: list[Follow], edges: set[tuple[int, int]]
) -> list[Follow]:
    threshold = sizes.fanout_max_followers
    if sizes.large_accounts <= 0 or threshold > sizes.users - 1:
        return ordered
    followers = Counter(followee for _, followee in edges)
    largest = sorted(range(sizes.users), key=lambda u: (-followers[u], u))[: sizes.large_accounts]
    for account in largest:
        candidates = [u for u in range(sizes.users) if u != account and (u, account) not in edges]
        rng.shuffle(candidates)
        for follower in candidates[: max(0, threshold - followers[account])]:
            edges.add((follower, account))
            ordered.append(Follow(follower, account))
    return ordered


def _text(
    rng: random.Random, sizes: Sizes, tags: _Weighted, mentionable: list[SeedUser]
) -> tuple[str, tuple[str, ...], tuple[int, ...]]:
    words = [rng.choice(WORDS) for _ in range(rng.randint(4, 24))]
    hashtags: tuple[str, ...] = ()
    mentions: tuple[int, ...] = ()
    if rng.random() < sizes.hashtag_share:
        hashtags = tuple(dict.fromkeys(HASHTAGS[tags.draw()] for _ in range(rng.randint(1, 3))))
        words += [f"#{tag}" for tag in hashtags]
    if mentionable and rng.random() < sizes.mention_share:
        mentioned = rng.choice(mentionable)
        mentions = (mentioned.index,)
        words.insert(rng.randrange(len(words) + 1), f"@{mentioned.handle}")
    text = " ".join(words)
    return text[:1].upper() + text[1:], hashtags, mentions


def generate(sizes: Sizes, seed: int) -> Plan:
    """The whole plan for these sizes; the same seed always gives the same plan."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible demo graph, not a secret)
    users = _users(rng, sizes.users)
    popularity_weights = _zipf_weights(rng, sizes.users, FOLLOW_ZIPF)
    popularity = _Weighted(rng, popularity_weights)
    follows = _follows(rng, sizes, popularity)
    late_count = round(len(follows) * sizes.late_follow_share)
    late = follows[len(follows) - late_count :]
    early = follows[: len(follows) - late_count]
    followees: dict[int, list[int]] = {}
    for edge in early:
        followees.setdefault(edge.follower, []).append(edge.followee)

    activity_picker = _Weighted(rng, _zipf_weights(rng, sizes.users, ACTIVITY_ZIPF))
    tags = _Weighted(rng, [rank**-HASHTAG_ZIPF for rank in range(1, len(HASHTAGS) + 1)])
    reacted: set[tuple[str, int, int]] = set()
    activity: list[Operation] = []
    posts: list[Post] = []
    late_taken = 0

    def recent_post() -> Post:
        """A recent post, twice as likely per step of its author's popularity (weights)."""
        window = posts[-RECENT_POSTS:]
        weights = [popularity_weights[p.author] for p in window]
        return rng.choices(window, weights)[0]

    for index in range(sizes.posts):
        author = activity_picker.draw()
        reply_to: int | None = None
        if posts and rng.random() < sizes.reply_share:
            reply_to = recent_post().index
        mentionable = [users[u] for u in followees.get(author, [])]
        text, hashtags, mentions = _text(rng, sizes, tags, mentionable)
        post = Post(index, author, text, reply_to, hashtags, mentions)
        posts.append(post)
        activity.append(post)
        for kind, mean in (("like", sizes.likes_per_post), ("repost", sizes.reposts_per_post)):
            for _ in range(_poisson(rng, mean)):
                target, user = recent_post(), activity_picker.draw()
                key = (kind, user, target.index)
                if key not in reacted:
                    reacted.add(key)
                    activity.append(Reaction(kind, user, target.index))  # type: ignore[arg-type]
        due = (index + 1) * late_count // sizes.posts  # late follows spread over the activity
        while late_taken < due:
            activity.append(late[late_taken])
            late_taken += 1
    activity.extend(late[late_taken:])  # whatever is left (e.g. no posts at all)

    plan = Plan(sizes, seed, users, early, activity)
    threshold = sizes.fanout_max_followers
    if sizes.large_accounts > 0 and threshold > sizes.users - 1:
        plan.notes.append(
            f"no account can reach FANOUT_MAX_FOLLOWERS={threshold} with {sizes.users} users: "
            f"start the stack with FANOUT_MAX_FOLLOWERS={plan_threshold(plan, sizes.large_accounts)}"
            f" to make the {sizes.large_accounts} most followed accounts large"
        )
    return plan


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; means here are small."""
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def plan_threshold(plan: Plan, large_accounts: int) -> int:
    """The FANOUT_MAX_FOLLOWERS that makes exactly the `large_accounts` most followed accounts
    large (ties aside): the followers of the last of them."""
    followers = plan.expected_counts().followers
    ranked = sorted((followers[u.index] for u in plan.users), reverse=True)
    return max(1, ranked[min(large_accounts, len(ranked)) - 1])
