"""The crash harness: concurrent writers, a projector killed at random points, and a final audit.

    python -m tests.harness.crash --changes 10000 --kills 100 --writers 8 --seed 1

Writers (asyncio tasks, each with its own skewed clock) make mixed writes through the command
side's use cases (`tests.histories.Writers`): posts, replies, deletes, follows, unfollows, profile
renames. The projector follows them as a background task. A killer cancels that task at random
moments, as a process dying between two MongoDB operations would: whatever the projector had
written stays, nothing in memory survives. A fresh `Projector` then starts from the stored
checkpoint. Some kills are preceded by a deleted checkpoint or an operator's rebuild request, so
that later kills land in the middle of a rebuild.

At the end the writers stop, a fresh projector catches up, and the read models are audited
against the specification (`tests.reference_model`; trimmed timelines against what is guaranteed
of them), and so is a clean rebuild from the write model (checkpoint deleted, a fresh projector
rebuilds into shadows and swaps them in), which must equal it exactly. Small fan-out thresholds
and timeline caps make accounts cross the threshold and timelines be trimmed. The summary counts
lost, extra and duplicated entries and wrong counters; the exit status is non-zero when any of
them is not zero.
"""

import argparse
import asyncio
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from query_service.projector import control
from query_service.projector.checkpoints import PROJECTOR_CHECKPOINTS
from query_service.projector.rebuild import operation_time
from query_service.projector.runner import WRITE_MODEL_CHANGES, Projector
from service_kit.mongo import Database
from service_kit.settings import Settings
from tests.harness.audit import Audit, audit_read_models, snapshot
from tests.harness.kills import Kill, kill, where_suspended
from tests.histories import TEXTS, Step, Writers
from tests.reference_model import expected_read_models, expected_timelines
from tests.support import make_settings, store

# Mixed writes, weighted so that timelines grow: more posts and follows than deletes and unfollows.
WEIGHTS = {
    **{"post": 7, "reply": 3, "delete": 2, "follow": 4, "unfollow": 2, "rename": 1},
    **{"like": 3, "unlike": 1, "repost": 2, "unrepost": 1, "mention": 1, "bio": 1},
    **{"block": 1, "unblock": 1, "mark-read": 1},
}
ACTIONS = tuple(action for action, weight in WEIGHTS.items() for _ in range(weight))
SKEWS_MS = (0, -1500, 1500, -250, 250, 4000, -4000, 40)
Progress = Callable[[str], None]
# What the kill after a rebuild trigger aims at, in turn: the most delicate stage first.
REBUILD_TARGETS = ("swapping in", "catching up", "replaying", "preparing shadows")


@dataclass(frozen=True)
class HarnessConfig:
    changes: int = 10_000
    kills: int = 100
    writers: int = 8
    seed: int = 1
    users: int = 16
    backfill_limit: int = 10
    batch_size: int = 50
    concurrency: int = 8  # PROJECTOR_CONCURRENCY: changes of a batch applied at once
    # Small, so that accounts cross the fan-out threshold both ways and timelines are trimmed.
    fanout_max_followers: int = 10
    timeline_max_entries: int = 40
    # A kill comes a random 0..max_kill_delay seconds after its turn (see `_killer`).
    max_kill_delay: float = 0.2
    # Every n-th kill first deletes the checkpoint or requests a rebuild (alternately), and the
    # kill after it waits for that rebuild to start, so that it lands in the middle of one.
    rebuild_every: int = 12

    def settings(self) -> Settings:
        return make_settings(
            projector_backfill_limit=self.backfill_limit,
            projector_batch_size=self.batch_size,
            projector_concurrency=self.concurrency,
            fanout_max_followers=self.fanout_max_followers,
            timeline_max_entries=self.timeline_max_entries,
            # Room for every event of the run: the harness is about kills, not a short oplog.
            embedded_change_history=max(200_000, self.changes * 60),
            log_level="WARNING",
        )


@dataclass
class Summary:
    config: HarnessConfig
    changes: int = 0
    steps: int = 0
    kills: int = 0
    kill_places: Counter[str] = field(default_factory=Counter)
    rebuild_triggers: int = 0
    rebuilds_started: int = 0
    # Cancellations the projector caught and carried on from (a kill repeats them until it ends).
    swallowed: int = 0
    # Errors a projector had died of before it was killed (none expected).
    failures: list[str] = field(default_factory=list)
    audit: Audit = field(default_factory=Audit)
    rebuild_audit: Audit = field(default_factory=Audit)
    # At the end: accounts over the fan-out threshold, timelines longer than the cap.
    large_accounts: int = 0
    timelines_over_cap: int = 0
    elapsed_seconds: float = 0.0
    peak_rss_mib: float = 0.0

    @property
    def kills_mid_batch(self) -> int:
        return sum(n for place, n in self.kill_places.items() if place.startswith("batch:"))

    @property
    def kills_mid_rebuild(self) -> int:
        return sum(n for place, n in self.kill_places.items() if place.startswith("rebuild:"))

    @property
    def ok(self) -> bool:
        return (
            self.audit.clean
            and self.rebuild_audit.clean
            and self.kills >= self.config.kills
            and self.changes >= self.config.changes
            and not self.failures
        )

    def lines(self) -> list[str]:
        audit, rebuilt = self.audit, self.rebuild_audit
        return [
            f"seed                      {self.config.seed}",
            f"writers                   {self.config.writers} (users {self.config.users}, "
            f"backfill limit {self.config.backfill_limit}, batch {self.config.batch_size}, "
            f"concurrency {self.config.concurrency}, "
            f"fan-out threshold {self.config.fanout_max_followers}, "
            f"timeline cap {self.config.timeline_max_entries})",
            f"changes written           {self.changes} (in {self.steps} writer steps)",
            f"kills                     {self.kills}",
            f"  mid-batch               {self.kills_mid_batch}",
            f"  mid-rebuild             {self.kills_mid_rebuild}",
            *(f"    {place:<25} {n}" for place, n in sorted(self.kill_places.items())),
            f"cancellations swallowed   {self.swallowed}",
            f"projector failures        {len(self.failures)}",
            f"rebuilds triggered        {self.rebuild_triggers} (started {self.rebuilds_started}, "
            "counting restarts of killed ones)",
            f"documents checked         {audit.documents}",
            f"large accounts at the end {self.large_accounts} "
            f"(timelines over the cap: {self.timelines_over_cap})",
            f"lost                      {audit.lost} (clean rebuild: {rebuilt.lost})",
            f"extra                     {audit.extra} (clean rebuild: {rebuilt.extra})",
            f"duplicated                {audit.duplicated} (clean rebuild: {rebuilt.duplicated})",
            f"counter mismatches        {audit.counter_mismatches} "
            f"(clean rebuild: {rebuilt.counter_mismatches})",
            f"other field mismatches    {audit.field_mismatches} "
            f"(clean rebuild: {rebuilt.field_mismatches})",
            f"elapsed                   {self.elapsed_seconds:.1f} s",
            f"peak RSS                  {self.peak_rss_mib:.0f} MiB",
            f"result                    {'OK' if self.ok else 'FAILED'}",
            *(f"  {failure}" for failure in self.failures[:5]),
            *(f"  {example}" for example in [*audit.examples, *rebuilt.examples][:20]),
        ]


@dataclass
class Run:
    """What the harness's tasks share while the run goes on."""

    config: HarnessConfig
    settings: Settings
    database: Database
    summary: Summary
    progress: Progress
    enough: asyncio.Event = field(default_factory=asyncio.Event)
    projector: Projector | None = None
    task: asyncio.Task[None] | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def kill_due_at(self, number: int) -> int:
        """How many changes are written before the `number`-th kill: kills spread evenly."""
        return self.config.changes * number // (self.config.kills + 1)

    def start_projector(self) -> None:
        """A fresh projector: nothing carried over from the killed one but what it stored."""
        self.stop = asyncio.Event()
        self.projector = Projector(self.database, self.settings)
        self.task = asyncio.create_task(self.projector.run(self.stop), name="projector")

    async def end_projector(self) -> Kill:
        """Kill the running projector; its rebuilds count towards the summary."""
        assert self.task is not None
        assert self.projector is not None
        landed = await kill(self.task)
        self.summary.rebuilds_started += self.projector.status.rebuilds
        self.summary.swallowed += landed.swallowed
        if landed.error is not None:
            self.summary.failures.append(landed.error)
        self.task = self.projector = None
        return landed


async def run_harness(config: HarnessConfig, progress: Progress = lambda _: None) -> Summary:
    started = time.monotonic()
    summary = Summary(config)
    async with store(config.settings()) as (settings, connection):
        run = Run(config, settings, connection.database, summary, progress)
        # The first start rebuilds the (empty) read models and leaves a checkpoint.
        await Projector(run.database, settings).catch_up()
        witness = await run.database.watch(WRITE_MODEL_CHANGES, max_await_time_ms=50)
        writers = await Writers.sign_up(run.database, config.users)
        run.start_projector()
        writing = [
            asyncio.create_task(_write(run, writers, n, _rng(f"{config.seed}:{n}")))
            for n in range(config.writers)
        ]
        counting = asyncio.create_task(_count_changes(run, witness, writing))
        await _killer(run, _rng(str(config.seed)))
        await asyncio.gather(*writing)
        await counting
        await witness.close()
        await run.end_projector()  # not counted: the audit starts from a stopped projector
        await _audit(run, writers.ever_followed, writers.taken_back)
    summary.elapsed_seconds = time.monotonic() - started
    summary.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return summary


def _rng(seed: str) -> random.Random:
    return random.Random(seed)


# ---- writers ------------------------------------------------------------------------------------


async def _write(run: Run, writers: Writers, number: int, rng: random.Random) -> None:
    """One writer: its own clock skew, random steps until the run has its changes."""
    skew = SKEWS_MS[number % len(SKEWS_MS)]
    users = run.config.users
    for _ in range(run.config.changes * 10):  # bounded: most steps write, some are rejected
        if run.enough.is_set():
            return
        action = rng.choice(ACTIONS)
        other = rng.randrange(10**6) if action == "delete" else rng.randrange(users)
        text = rng.choice(TEXTS)
        step = Step(action, rng.randrange(users), other, skew, pick=rng.randrange(3), text=text)
        await writers.run(step)
        run.summary.steps += 1
        # Clients pause between requests; it also lets the witness and the projector keep up.
        await asyncio.sleep(rng.uniform(0, 0.002))
        await _let_the_witness_keep_up(run)
        await _let_the_killer_keep_up(run)


async def _let_the_witness_keep_up(run: Run) -> None:
    """Best effort, so the run stops near its target: pause while the witness has counted far
    fewer changes than steps were taken (some steps are rejected, hence the allowance)."""
    summary = run.summary
    for _ in range(100):
        if summary.steps - summary.changes <= summary.steps // 4 + 4 * run.config.writers:
            return
        await asyncio.sleep(0.001)


async def _count_changes(run: Run, witness: Any, writing: list[asyncio.Task[None]]) -> None:
    """Count the write-model changes the projector will see, with a stream of its own, until
    the writers are done and the stream has nothing more."""
    while True:
        change = await witness.try_next()
        if change is None:
            if all(task.done() for task in writing):
                return
            continue
        run.summary.changes += 1
        if run.summary.changes % 1000 == 0:
            run.progress(f"{run.summary.changes} changes, {run.summary.kills} kills")
        if run.summary.changes >= run.config.changes:
            run.enough.set()


async def _let_the_killer_keep_up(run: Run) -> None:
    """Writers stay at most two kills ahead of the killer (which waits for rebuilds to finish),
    so that kills spread over the whole run rather than piling up after the writing."""
    summary = run.summary
    for _ in range(60_000):  # bounded: ten minutes at most
        due = run.kill_due_at(summary.kills + 2)
        if summary.kills >= run.config.kills or summary.changes < due:
            return
        await asyncio.sleep(0.01)


# ---- the killer ---------------------------------------------------------------------------------


async def _killer(run: Run, rng: random.Random) -> None:
    """Kill the projector `kills` times, spread over the writing, then let writing finish."""
    config = run.config
    for number in range(1, config.kills + 1):
        # The n-th kill waits for its share of the changes, so kills spread over the whole run.
        await _until_changes(run, run.kill_due_at(number))
        if number > 1 and (number - 1) % config.rebuild_every == 0:
            await _wait_for_rebuild(run, rng, _rebuild_target(run.summary.rebuild_triggers))
        else:
            await _wait_for_following(run)
            await asyncio.sleep(rng.uniform(0, config.max_kill_delay))
        landed = await run.end_projector()
        run.summary.kills += 1
        run.summary.kill_places[landed.place] += 1
        if number % config.rebuild_every == 0:
            await _trigger_rebuild(run, rebuild_by_request=number % (2 * config.rebuild_every) == 0)
        run.start_projector()


async def _until_changes(run: Run, count: int) -> None:
    for _ in range(360_000):  # bounded: an hour at most
        if run.summary.changes >= count or run.enough.is_set():
            return
        await asyncio.sleep(0.01)


def _rebuild_target(triggers: int) -> str:
    """The stage the kill after the n-th trigger aims at: each stage in turn, each once after a
    deleted checkpoint and once after an operator's request."""
    return REBUILD_TARGETS[(triggers - 1) // 2 % len(REBUILD_TARGETS)]


async def _wait_for_rebuild(run: Run, rng: random.Random, target: str) -> None:
    """Let the rebuild reach the `target` stage, then kill it within a few operations."""
    for _ in range(5_000_000):  # bounded: a rebuild that ends first is killed after it
        task = run.task
        if task is None or task.done() or where_suspended(task) == f"rebuild:{target}":
            break
        await asyncio.sleep(0)
    for _ in range(rng.randrange(3)):
        await asyncio.sleep(0)


async def _wait_for_following(run: Run) -> None:
    """An ordinary kill waits for the projector to follow the stream: a rebuild in progress
    finishes first, or a rebuild from no checkpoint would be killed and restarted again and again
    and no kill would land in a batch."""
    for _ in range(60_000):  # bounded: ten minutes at most, then kill whatever it is doing
        if run.projector is None or run.projector.status.phase == "following":
            return
        await asyncio.sleep(0.01)


async def _trigger_rebuild(run: Run, *, rebuild_by_request: bool) -> None:
    run.summary.rebuild_triggers += 1
    if rebuild_by_request:
        await control.request_rebuild(run.database)
    else:
        await run.database[PROJECTOR_CHECKPOINTS].delete_many({})


# ---- the audit ----------------------------------------------------------------------------------


async def _audit(
    run: Run, ever_followed: set[tuple[str, str]], taken_back: list[dict[str, Any]]
) -> None:
    """A fresh projector catches up; compare with the specification (trimmed timelines with what
    is guaranteed of them), then a clean rebuild with the specification exactly."""
    database, settings = run.database, run.settings
    run.progress(f"writers done: {run.summary.changes} changes; final catch-up")
    await Projector(database, settings).catch_up()
    live = await snapshot(database)
    rule = (
        settings.projector_backfill_limit,
        settings.fanout_max_followers,
        settings.timeline_max_entries,
    )
    expected = await expected_read_models(
        database, rule[0], fanout_max_followers=rule[1], timeline_max_entries=rule[2]
    )
    timelines = await expected_timelines(database, *rule, taken_back)
    run.summary.audit = audit_read_models(live, expected, timelines, ever_followed)
    run.summary.large_accounts = len(timelines.large)
    run.summary.timelines_over_cap = sum(
        1 for entries in timelines.uncapped.values() if len(entries) > timelines.max_entries
    )

    run.progress("clean rebuild")
    mark = await operation_time(database)
    await database[PROJECTOR_CHECKPOINTS].delete_many({})
    rebuilder = Projector(database, settings)
    await rebuilder.catch_up()
    if rebuilder.status.rebuilds != 1 or await operation_time(database) <= mark:
        raise RuntimeError("the clean rebuild did not run")
    run.summary.rebuild_audit = audit_read_models(await snapshot(database), expected)


# ---- command line -------------------------------------------------------------------------------


def parse_config(argv: list[str]) -> HarnessConfig:
    defaults = HarnessConfig()
    parser = argparse.ArgumentParser(prog="python -m tests.harness.crash", description=__doc__)
    parser.add_argument("--changes", type=int, default=defaults.changes)
    parser.add_argument("--kills", type=int, default=defaults.kills)
    parser.add_argument("--writers", type=int, default=defaults.writers)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--backfill-limit", type=int, default=defaults.backfill_limit)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument("--rebuild-every", type=int, default=defaults.rebuild_every)
    parser.add_argument("--fanout-max-followers", type=int, default=defaults.fanout_max_followers)
    parser.add_argument("--timeline-max-entries", type=int, default=defaults.timeline_max_entries)
    options = parser.parse_args(argv)
    return HarnessConfig(
        changes=options.changes,
        kills=options.kills,
        writers=options.writers,
        seed=options.seed,
        users=options.users,
        backfill_limit=options.backfill_limit,
        batch_size=options.batch_size,
        concurrency=options.concurrency,
        rebuild_every=options.rebuild_every,
        fanout_max_followers=options.fanout_max_followers,
        timeline_max_entries=options.timeline_max_entries,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_config(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()

    def progress(message: str) -> None:
        print(f"[{time.monotonic() - started:7.1f} s] {message}", flush=True)

    summary = asyncio.run(run_harness(config, progress))
    print("\n".join(summary.lines()), flush=True)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
