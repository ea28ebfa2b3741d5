"""Live run updates for the web UI: what changed in an experiment's runs, pushed as it happens.

One poller per watched set of experiments per worker process, shared by every browser watching
that set, asks the tracking service twice per interval (the experiments' RUNNING runs, and runs
started since the last look) and tells each subscriber which runs are new, which changed (a
metric, param or tag logged, the status moved) and which ended. Reading the database instead of
listening to this process's writes is what makes it correct with several workers and several
nodes: a run logged through any of them shows up. A poller runs only while someone watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiotrack.entities import Run
from aiotrack.services.tracking import RunQuery, TrackingService

log = logging.getLogger(__name__)

#: How often a watched set of experiments is looked at (seconds): changes show within about this.
POLL_SECONDS = 0.5
#: Runs sent in full in one update; beyond it the update says `reload` and the page reloads.
MAX_RUNS_PER_UPDATE = 200
#: Concurrent watchers per worker process; more are refused (the UI falls back to polling).
MAX_SUBSCRIBERS = 500
#: RUNNING runs looked at per poll (runs/search's page).
MAX_RUNNING = 1000


class TooManyWatchers(Exception):
    pass


def _signature(run: Run | Mapping[str, Any]) -> tuple[Any, ...]:
    """What changes when anything is logged to a run or its status moves."""
    info = run.get("info", {})
    data = run.get("data", {})
    metrics = data.get("metrics") or []
    return (
        info.get("status"),
        info.get("end_time"),
        info.get("run_name"),
        # latest metrics: one per key, with the step, time and value of its last point
        tuple(sorted((m["key"], m.get("step"), m.get("timestamp"), str(m.get("value"))) for m in metrics)),
        len(data.get("params") or []),
        tuple(sorted((t["key"], t.get("value")) for t in data.get("tags") or [])),
    )


@dataclass
class Update:
    """Runs new since the last update, runs changed, and whether there was too much to send."""

    runs: list[Run] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    reload: bool = False

    def empty(self) -> bool:
        return not (self.runs or self.new or self.changed or self.reload)

    def as_json(self) -> dict[str, Any]:
        return {"runs": self.runs, "new": self.new, "changed": self.changed, "reload": self.reload}


class _Watch:
    """The poller of one set of experiments and its subscribers' queues."""

    def __init__(self, tracking: TrackingService, experiment_ids: tuple[str, ...]) -> None:
        self.tracking = tracking
        self.experiment_ids = experiment_ids
        self.queues: set[asyncio.Queue[Update | None]] = set()
        self.running: dict[str, tuple[Any, ...]] = {}
        self.newest_start = 0
        self.seen_at_newest: set[str] = set()  # runs already sent that started at newest_start
        self.task: asyncio.Task[None] | None = None

    async def _baseline(self) -> None:
        runs, _ = await self.tracking.search_runs(
            RunQuery(list(self.experiment_ids), "attributes.status = 'RUNNING'", "ACTIVE_ONLY", MAX_RUNNING)
        )
        self.running = {r["info"]["run_id"]: _signature(r) for r in runs}
        newest, _ = await self.tracking.search_runs(
            RunQuery(list(self.experiment_ids), None, "ALL", 1, ["attributes.start_time DESC"])
        )
        if newest:
            self.newest_start = newest[0]["info"].get("start_time") or 0
            self.seen_at_newest = {newest[0]["info"]["run_id"]}

    async def poll(self) -> Update:
        exps = list(self.experiment_ids)
        update = Update()
        # RUNNING runs first, then new ones: a run created in between is then new, not changed
        running, _ = await self.tracking.search_runs(
            RunQuery(exps, "attributes.status = 'RUNNING'", "ACTIVE_ONLY", MAX_RUNNING)
        )
        fresh, more_new = await self.tracking.search_runs(
            RunQuery(
                exps,
                f"attributes.start_time >= {int(self.newest_start)}",
                "ACTIVE_ONLY",
                MAX_RUNS_PER_UPDATE,
                ["attributes.start_time DESC"],
            )
        )
        sent: set[str] = set()
        floor, seen_at_floor = self.newest_start, self.seen_at_newest
        for r in fresh:
            rid = r["info"]["run_id"]
            start = r["info"].get("start_time") or 0
            if start < floor or (start == floor and rid in seen_at_floor):
                continue
            update.new.append(rid)
            update.runs.append(r)
            sent.add(rid)
            if start > self.newest_start:
                self.newest_start, self.seen_at_newest = start, set()
            if start == self.newest_start:
                self.seen_at_newest.add(rid)
        now_running = {r["info"]["run_id"]: r for r in running}
        for rid, r in now_running.items():
            sig = _signature(r)
            if self.running.get(rid) != sig and rid not in sent:
                update.changed.append(rid)
                update.runs.append(r)
                sent.add(rid)
        ended = [rid for rid in self.running if rid not in now_running and rid not in sent]
        if ended:
            # a run that stopped running: send its final state (one search by id)
            ids = ", ".join(f"'{rid}'" for rid in ended[:MAX_RUNS_PER_UPDATE])
            final, _ = await self.tracking.search_runs(
                RunQuery(exps, f"attributes.run_id IN ({ids})", "ALL", MAX_RUNS_PER_UPDATE)
            )
            for r in final:
                update.changed.append(r["info"]["run_id"])
                update.runs.append(r)
        self.running = {rid: _signature(r) for rid, r in now_running.items()}
        for r in fresh:  # started and already seen in full: not "changed" next time
            if r["info"].get("status") == "RUNNING":
                self.running.setdefault(r["info"]["run_id"], _signature(r))
        if more_new or len(update.runs) > MAX_RUNS_PER_UPDATE:
            update = Update(new=update.new, changed=update.changed, reload=True)
        return update

    async def run(self) -> None:
        await self._baseline()
        while self.queues:
            await asyncio.sleep(POLL_SECONDS)
            try:
                update = await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database away: say nothing, try again next time
                log.debug("live poll of experiments %s failed: %s", self.experiment_ids, exc)
                continue
            if not update.empty():
                for q in list(self.queues):
                    q.put_nowait(update)


class RunsLiveHub:
    """Subscriptions to live run updates, per worker process."""

    def __init__(self, tracking: TrackingService) -> None:
        self.tracking = tracking
        self.watches: dict[tuple[str, ...], _Watch] = {}
        self.subscribers = 0
        self.closed = False
        self._pollers: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def subscribe(self, experiment_ids: list[str]) -> AsyncIterator[asyncio.Queue[Update | None]]:
        """A queue of updates for these experiments; None in it means the server is shutting down."""
        if self.closed or self.subscribers >= MAX_SUBSCRIBERS:
            raise TooManyWatchers()
        key = tuple(sorted(set(experiment_ids)))
        watch = self.watches.get(key)
        if watch is None:
            watch = self.watches[key] = _Watch(self.tracking, key)
        q: asyncio.Queue[Update | None] = asyncio.Queue(maxsize=0)
        watch.queues.add(q)
        self.subscribers += 1
        if watch.task is None or watch.task.done():
            task = watch.task = asyncio.get_running_loop().create_task(watch.run())
            self._pollers.add(task)
            task.add_done_callback(self._pollers.discard)
        try:
            yield q
        finally:
            self.subscribers -= 1
            watch.queues.discard(q)
            if not watch.queues and self.watches.get(key) is watch:
                # the poller ends by itself after its current sleep or query (cancelling a query
                # mid-flight would cost the database connection a reset)
                del self.watches[key]

    async def close(self) -> None:
        """End every subscription (server shutdown): each subscriber's queue gets None."""
        self.closed = True
        for watch in list(self.watches.values()):
            for q in list(watch.queues):
                q.put_nowait(None)
        if self._pollers:
            _, pending = await asyncio.wait(self._pollers, timeout=POLL_SECONDS + 5)
            for task in pending:
                task.cancel()
