"""Group commit: concurrent requests share batches, each caller gets its own result or error."""

from __future__ import annotations

import asyncio

import pytest

from storage.batching import GroupCommit


class Recorder:
    """A batch writer that records the batches it was given."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on

    async def write(self, batch: list[int]) -> list[int]:
        self.batches.append(batch)
        await asyncio.sleep(0.01)  # a transaction takes time; requests pile up meanwhile
        if self.fail_on is not None and self.fail_on in batch:
            raise RuntimeError(f"batch with {self.fail_on} failed")
        return [value * 10 for value in batch]


async def test_a_lone_request_is_written_at_once_in_its_own_batch() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.write)
    assert await group.submit(4) == 40
    assert recorder.batches == [[4]]


async def test_requests_arriving_during_a_write_share_the_next_batch() -> None:
    recorder = Recorder()
    group = GroupCommit(recorder.write)
    results = await asyncio.gather(*(group.submit(n) for n in range(50)))
    assert results == [n * 10 for n in range(50)]
    assert sorted(n for batch in recorder.batches for n in batch) == list(range(50))
    assert len(recorder.batches) <= 2


async def test_a_failed_batch_fails_its_callers_and_the_next_batch_still_runs() -> None:
    recorder = Recorder(fail_on=3)
    group = GroupCommit(recorder.write)
    first = asyncio.ensure_future(group.submit(0))
    await asyncio.sleep(0)
    doomed = [asyncio.ensure_future(group.submit(n)) for n in (3, 4)]
    await first
    for task in doomed:
        with pytest.raises(RuntimeError, match="batch with 3 failed"):
            await task
    assert await group.submit(5) == 50


async def test_a_cancelled_writer_leaves_no_caller_waiting_forever() -> None:
    started = asyncio.Event()

    async def stuck(batch: list[int]) -> list[int]:
        started.set()
        await asyncio.sleep(3600)
        return batch

    group = GroupCommit(stuck)
    first = asyncio.ensure_future(group.submit(1))
    await started.wait()
    queued = asyncio.ensure_future(group.submit(2))  # waits for the next batch
    await asyncio.sleep(0)
    assert group._writer is not None
    group._writer.cancel()  # as the event loop does when it shuts down

    for caller in (first, queued):
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(caller, timeout=1)
