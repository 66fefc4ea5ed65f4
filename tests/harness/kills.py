"""Killing the projector task as a crash would, and telling where the kill landed.

A kill is `Task.cancel()`: the `CancelledError` is raised at whatever `await` the projector is
suspended in, which with the embedded store's interleaving is between two MongoDB operations (or
after an operation the caller never saw complete), so its partial effects stay, as a process dying
there would leave them. A crashed process cannot catch its death, so a kill repeats the
cancellation until the task has ended; a cancellation the projector caught and went on from is
counted as "swallowed" (see tests/test_crash_harness.py for why that happens).

Where it landed is read from the chain of coroutine frames the task is suspended in: the
projector's own functions say whether a batch was half applied, a checkpoint was being written or
a rebuild was under way. Changes are applied in lane tasks of their own (`projector/lanes.py`),
whose chains are read too: the batch's `Lanes` is a local of `Projector._apply_next_batch`.
"""

import asyncio
from dataclasses import dataclass
from types import FrameType
from typing import Any

# The innermost of these in the suspended chain names the stage of a rebuild.
REBUILD_STAGES = {
    "prepare_shadows": "preparing shadows",
    "replay_write_model": "replaying",
    "Projector._catch_up": "catching up",
    "finish_rebuild": "finishing",
    "swap_in": "swapping in",
    "drop_shadows": "dropping shadows",
    "Projector._save": "checkpointing",
    "report_rebuild": "reporting",
}
# The innermost of these inside `_apply_next_batch` names what the batch was doing.
BATCH_STEPS = {
    "ChangeApplier.apply": "mid-change",
    "finish_batch": "finishing",
    "Projector._save": "checkpointing",
}
MAX_CANCELLATIONS = 1_000


@dataclass(frozen=True)
class Kill:
    place: str  # "batch:...", "rebuild:...", "idle:...", "starting", "not running" or "other:..."
    swallowed: int  # cancellations the projector caught and carried on from
    error: str | None  # set when the task had already ended with an error


def suspended_frames(task: asyncio.Task[Any]) -> list[FrameType]:
    """The frames of the coroutines the task is suspended in, outermost first."""
    frames: list[FrameType] = []
    awaitable: Any = task.get_coro()
    for _ in range(200):  # bounded: real chains are a few dozen deep
        frame = _frame_of(awaitable)
        if frame is None:
            break
        frames.append(frame)
        awaitable = _awaiting(awaitable)
    return frames


def where_suspended(task: asyncio.Task[Any]) -> str:
    frames = suspended_frames(task)
    names = [frame.f_code.co_qualname for frame in frames]
    if "Projector._rebuild" in names:
        return "rebuild:" + _innermost(names, REBUILD_STAGES, "other")
    if "Projector._apply_next_batch" in names:
        batch = frames[names.index("Projector._apply_next_batch")]
        if any("ChangeApplier.apply" in lane for lane in _lane_names(batch)):
            return "batch:mid-change"
        step = _innermost(names, BATCH_STEPS, "")
        if step:
            return "batch:" + step
        # Waiting for the next change: mid-batch only if changes of this batch are applied.
        return "batch:between changes" if batch.f_locals.get("applied", 0) else "idle:waiting"
    if "Projector._save_idle_checkpoint" in names:
        return "idle:checkpointing"
    if "Projector._serve_requests" in names:
        return "idle:serving requests"
    if "Projector._open_stream" in names or "ensure_read_model_indexes" in names:
        return "starting"
    return "other:" + (names[-1] if names else "?")


async def kill(task: asyncio.Task[Any]) -> Kill:
    """End the task at the point it is suspended in, however it handles cancellation."""
    if task.done():
        error = None if task.cancelled() else task.exception()
        return Kill("not running", 0, repr(error) if error else None)
    place, swallowed = where_suspended(task), 0
    for _ in range(MAX_CANCELLATIONS):
        task.cancel()
        await asyncio.sleep(0)  # the task runs: it ends, or is still unwinding, or carried on
        if task.done():
            break
        names = _names(task)
        # On the way out nothing waits in there: it is retrying the change. Unless the batch is
        # stopping its lanes (`Lanes.cancel`), which it waits for before it ends.
        if "ChangeApplier.apply_with_retries" in names and "Lanes.cancel" not in names:
            swallowed += 1
    else:
        raise RuntimeError(f"the projector survived {MAX_CANCELLATIONS} cancellations")
    return Kill(place, swallowed, None)


def _names(task: asyncio.Task[Any]) -> list[str]:
    """The task's chain, and the chains of the lane tasks of the batch it is applying."""
    frames = suspended_frames(task)
    names = [frame.f_code.co_qualname for frame in frames]
    for frame in frames:
        if frame.f_code.co_qualname == "Projector._apply_next_batch":
            names += [name for lane in _lane_names(frame) for name in lane]
    return names


def _lane_names(batch: FrameType) -> list[list[str]]:
    """The chains of the changes still under way in the batch of this `_apply_next_batch`."""
    lanes = batch.f_locals.get("lanes")
    tasks = lanes.tasks if lanes is not None else []
    return [
        [frame.f_code.co_qualname for frame in suspended_frames(task)]
        for task in tasks
        if not task.done()
    ]


def _innermost(names: list[str], known: dict[str, str], default: str) -> str:
    for name in reversed(names):
        if name in known:
            return known[name]
    return default


def _frame_of(awaitable: Any) -> FrameType | None:
    for attribute in ("cr_frame", "gi_frame", "ag_frame"):
        frame = getattr(awaitable, attribute, None)
        if frame is not None:
            return frame
    return None


def _awaiting(awaitable: Any) -> Any:
    for attribute in ("cr_await", "gi_yieldfrom", "ag_await"):
        inner = getattr(awaitable, attribute, None)
        if inner is not None:
            return inner
    return None
