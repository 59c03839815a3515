"""A bounded worker pool: answers run in threads so the event loop stays free.

Embedding a question and scoring passages is CPU work that would freeze every
other connection if it ran on the event loop. ``WorkerPool`` runs it in
``workers`` threads and admits at most ``workers + queue`` jobs at once; the
next one gets :class:`Busy` (HTTP 429). Asking and re-indexing are kept apart by
a readers-writer gate, so a retriever is never reloaded under a running search.

>>> pool = WorkerPool(workers=2, queue=8)
>>> pool.capacity
10
>>> pool.close()
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator


class Busy(Exception):
    """Every worker is busy and the queue is full."""


class Gate:
    """Readers-writer lock; a waiting writer goes before new readers (no starvation)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self):
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def writing(self):
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class Stream:
    """Items of a generator running in a worker, consumed with ``await next()``.

    :meth:`cancel` (the client went away) makes the worker close the generator
    after its current item, which hangs up on a model mid-answer."""

    _END = object()

    def __init__(self) -> None:
        self._queue: asyncio.Queue = asyncio.Queue()
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    async def next(self) -> Any:
        """The next item; raises the generator's exception, or StopAsyncIteration at the end."""
        kind, value = await self._queue.get()
        if kind == "error":
            raise value
        if value is Stream._END:
            raise StopAsyncIteration
        return value

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await self.next()


class WorkerPool:
    """``workers`` threads, at most ``queue`` jobs waiting for one."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.capacity = workers + queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rag-worker")
        self._admitted = 0  # touched only on the event loop
        self._running = 0
        self._count_lock = threading.Lock()
        self.gate = Gate()

    def stats(self) -> dict:
        with self._count_lock:
            running = self._running
        return {"workers": self.workers, "running": running, "waiting": max(0, self._admitted - running),
                "capacity": self.capacity}

    def _admit(self) -> Callable[[Future], None]:
        if self._admitted >= self.capacity:
            raise Busy()
        self._admitted += 1
        loop = asyncio.get_running_loop()

        def release(_: Future) -> None:
            # The slot frees when the thread is done, not when the client stops
            # waiting: the queue bound counts real work.
            try:
                loop.call_soon_threadsafe(self._release)
            except RuntimeError:
                pass  # the loop is closed (shutdown)

        return release

    def _release(self) -> None:
        self._admitted -= 1

    @contextmanager
    def _counting(self) -> Iterator[None]:
        with self._count_lock:
            self._running += 1
        try:
            yield
        finally:
            with self._count_lock:
                self._running -= 1

    async def run(self, fn: Callable, *args, exclusive: bool = False) -> Any:
        """``fn(*args)`` in a worker (under the gate: shared, or ``exclusive``)."""
        release = self._admit()

        def job():
            with self._counting(), (self.gate.writing() if exclusive else self.gate.reading()):
                return fn(*args)

        future = self._executor.submit(job)
        future.add_done_callback(release)
        return await asyncio.wrap_future(future)

    def stream(self, make_iter: Callable[[], Iterator]) -> Stream:
        """Run ``make_iter()`` in a worker and pass its items to the event loop."""
        release = self._admit()
        loop = asyncio.get_running_loop()
        stream = Stream()

        def put(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(stream._queue.put_nowait, (kind, value))
            except RuntimeError:
                pass  # the loop is closed (shutdown)

        def job() -> None:
            if stream.cancelled:
                return  # the client left while we were queued
            with self._counting(), self.gate.reading():
                items = make_iter()
                try:
                    for item in items:
                        put("item", item)
                        if stream.cancelled:
                            break
                except Exception as exc:  # noqa: BLE001 - handed to the request, which answers it
                    put("error", exc)
                    return
                finally:
                    close = getattr(items, "close", None)
                    if close:
                        close()
                put("item", Stream._END)

        future = self._executor.submit(job)
        future.add_done_callback(release)
        return stream

    def close(self) -> None:
        """Drop queued jobs and stop the threads once running ones finish."""
        self._executor.shutdown(wait=False, cancel_futures=True)
