"""Group commit: concurrent requests share one transaction instead of queueing for one each.

Requests that arrive while a batch is being written form the next batch. Under light load a
batch holds one request, so nothing waits longer than before; under a fan-out (thousands of
daily posts at once) hundreds share a transaction. Every caller still awaits its own result,
returned only once its batch has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Request = TypeVar("Request")
Result = TypeVar("Result")


class GroupCommit(Generic[Request, Result]):
    """Funnels concurrent requests into batches written by `write_batch`, one batch at a time."""

    def __init__(self, write_batch: Callable[[list[Request]], Awaitable[Sequence[Result]]]) -> None:
        self._write_batch = write_batch
        self._pending: list[tuple[Request, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, request: Request) -> Result:
        """Add a request to the next batch and wait until that batch has committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                results = await self._write_batch([request for request, _ in batch])
            except Exception as error:  # the whole batch failed: every caller hears why
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            except BaseException:
                # Cancelled (the loop is shutting down): no caller may wait forever, this
                # batch's or the next one's.
                for _, future in (*batch, *self._pending):
                    future.cancel()
                self._pending = []
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
