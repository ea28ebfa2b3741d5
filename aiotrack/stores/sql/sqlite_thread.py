"""One sqlite3 connection owned by one thread, driven from the event loop.

The shape is datasette's: a thread with a job queue; each job is a function of the connection,
run on that thread; its outcome resolves an asyncio future on the loop through
``call_soon_threadsafe``. Nothing here touches a private API of any library.

- A dead thread (its connection failed to open, or it was closed) fails every queued job and
  every later one at once with ``ConnectionGone``; nothing ever waits on a thread that is gone.
- Every job runs under a time budget: a progress handler, called every ``PROGRESS_OPS`` virtual
  machine instructions, aborts the statement once the budget is spent (``BudgetExceeded``).
  Busy waits are bounded by the same budget (``busy_timeout``).
- A job whose awaiting task is cancelled (aiohttp cancels a handler when its client goes away)
  is skipped if it has not started, and interrupted if it is running (``sqlite3.interrupt``, and
  the progress handler as a backstop between statements); the caller sees ``CancelledError``.
- A job may run several callers' work one after another (group commit, database.py): each is a
  *part* with its own budget and its own cancellation (``enter_part``/``cancel_part``).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")

# How often (in SQLite virtual machine instructions) the progress handler runs: often enough to
# stop a runaway query within milliseconds, rarely enough to cost nothing measurable.
PROGRESS_OPS = 20_000


class ConnectionGone(Exception):
    """The connection's thread is not running (it failed to open, or was closed)."""


class BudgetExceeded(Exception):
    """A job ran longer than its time budget and was stopped (its transaction rolled back)."""


class Cancellable(Protocol):
    """Something run on the thread that its caller may give up on (a job, or a part of one)."""

    cancelled: bool


class Job(Generic[T]):
    __slots__ = ("cancelled", "fn", "future")

    def __init__(self, fn: Callable[[sqlite3.Connection], T], future: asyncio.Future[T]) -> None:
        self.fn = fn
        self.future = future
        self.cancelled = False  # set on the loop, read on the thread (a plain bool: atomic enough)


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return  # the awaiting task was cancelled meanwhile
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class SqliteThread:
    """A sqlite3 connection and the thread that alone uses it."""

    def __init__(
        self,
        path: str,
        *,
        name: str,
        budget: float,
        setup: Callable[[sqlite3.Connection], None],
    ) -> None:
        self.path = path
        self.budget = budget
        self._setup = setup
        self._queue: queue.SimpleQueue[Job[Any] | None] = queue.SimpleQueue()
        # Guards the hand-over between the loop and the thread: _closed, and which job runs.
        self._lock = threading.Lock()
        self._closed = False
        self._running: Job[Any] | None = None
        self._part: Cancellable | None = None
        self._deadline = 0.0
        self._over_budget = False
        self._conn: sqlite3.Connection | None = None
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    # ------------------------------------------------------------------ loop side

    async def start(self) -> SqliteThread:
        """Start the thread and wait until its connection is open (or its failure)."""
        self._thread.start()
        await asyncio.get_running_loop().run_in_executor(None, self._opened.wait)
        if self._open_error is not None:
            raise self._open_error
        return self

    @property
    def alive(self) -> bool:
        return not self._closed

    def queued(self) -> int:
        """Jobs waiting (not counting the one running): for choosing the least busy reader."""
        return self._queue.qsize()

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(connection)`` on the thread; return its result or raise its exception."""
        return await self.wait(self.submit(fn))

    def submit(self, fn: Callable[[sqlite3.Connection], T]) -> Job[T]:
        """Queue ``fn`` now; ``wait`` for it later (for callers that must queue under a lock and
        wait outside it)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        job = Job(fn, future)
        with self._lock:
            if self._closed:
                raise ConnectionGone("the SQLite connection is closed")
            self._queue.put(job)
        return job

    async def wait(self, job: Job[T]) -> T:
        try:
            return await job.future
        except asyncio.CancelledError:
            self._cancel(job)
            raise

    def _cancel(self, job: Job[Any]) -> None:
        job.cancelled = True
        with self._lock:
            if self._running is job and self._conn is not None:
                self._conn.interrupt()

    def cancel_part(self, part: Cancellable) -> None:
        """The caller of ``part`` gave up: skip it if it has not started, interrupt it if it runs."""
        part.cancelled = True
        with self._lock:
            if self._part is part and self._conn is not None:
                self._conn.interrupt()

    async def close(self) -> None:
        """Finish the queued jobs, close the connection, end the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)

    # ------------------------------------------------------------------ thread side

    def restart_budget(self) -> None:
        """Give the running job a fresh budget (after a wait that is not SQL work, e.g. an flock)."""
        self._over_budget = False
        self._deadline = time.monotonic() + self.budget

    def enter_part(self, part: Cancellable) -> None:
        """The running job starts one caller's part: a fresh budget, and its own cancellation."""
        self.restart_budget()
        self._part = part

    def leave_part(self) -> None:
        with self._lock:  # so that a late cancel_part never interrupts the next part
            self._part = None

    def spent(self) -> bool:
        """Whether the budget stopped the statement that just failed."""
        return self._over_budget

    def _progress(self) -> int:
        job = self._running
        if job is not None and job.cancelled:
            return 1
        part = self._part
        if part is not None and part.cancelled:
            return 1
        if time.monotonic() > self._deadline:
            self._over_budget = True
            return 1
        return 0

    def _main(self) -> None:
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=max(self.budget, 0.001)
            )
            self._setup(conn)
            conn.set_progress_handler(self._progress, PROGRESS_OPS)
        except BaseException as exc:
            self._open_error = exc
            with self._lock:
                self._closed = True
            self._opened.set()
            self._fail_queued()
            return
        self._conn = conn
        self._opened.set()
        try:
            self._serve(conn)
        finally:
            with self._lock:
                self._closed = True
                self._conn = None
            self._fail_queued()
            conn.close()

    def _serve(self, conn: sqlite3.Connection) -> None:
        get, lock, clock = self._queue.get, self._lock, time.monotonic
        while True:
            job = get()
            if job is None:
                return
            if job.cancelled:
                continue
            # Set without the lock: a cancel that misses this job here is caught by the progress
            # handler. Cleared under it, so that a late cancel never interrupts the next job.
            self._running = job
            self._over_budget = False
            self._deadline = clock() + self.budget
            try:
                result = job.fn(conn)
                ok = True
            except BaseException as exc:
                ok = False
                if self._over_budget and isinstance(exc, sqlite3.OperationalError):
                    result = BudgetExceeded(str(exc))
                else:
                    result = exc
            finally:
                with lock:
                    self._running = None
            try:
                job.future.get_loop().call_soon_threadsafe(_resolve, job.future, ok, result)
            except RuntimeError:  # a closed loop: nobody is waiting any more
                continue

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is None:
                continue
            with contextlib.suppress(RuntimeError):
                job.future.get_loop().call_soon_threadsafe(
                    _resolve, job.future, False, ConnectionGone("the SQLite connection is closed")
                )
