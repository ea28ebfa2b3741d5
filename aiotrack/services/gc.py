"""`aiotrack gc`: permanently remove runs, experiments and logged models in the deleted stage,
with `mlflow gc`'s selection rules, and their artifacts.

Selection (as `mlflow gc`): without ids, every deleted run (deleted at least ``--older-than``
ago), every deleted logged model (last updated that long ago) and every deleted experiment (last
updated that long ago) with its deleted runs. Ids given explicitly must name things in the
deleted stage (and old enough, with ``--older-than``), or nothing is removed and the error says
which. All of it is checked before anything is removed. Artifacts go first, then the rows; the
store's delete statements themselves only ever match deleted-stage rows, so an active run is
never removed whatever the ids say. An experiment's traces (spans, tags, metadata, assessments,
links) go with it, as in MLflow's store (where they cascade from the experiment); their
artifacts (each trace's ``mlflow.artifactLocation``, holding ``traces.json``) are deleted too,
which `mlflow gc` leaves behind.
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote, urlsplit

import aiohttp

from aiotrack.artifacts import repository_for_uri
from aiotrack.artifacts.locations import local_path
from aiotrack.config import Settings
from aiotrack.errors import AiotrackError, invalid, not_found
from aiotrack.services.artifact_uris import ArtifactLocations
from aiotrack.stores.sql.bulk import BulkStore

_OLDER_THAN = re.compile(
    r"^((?P<days>[\.\d]+?)d)?((?P<hours>[\.\d]+?)h)?((?P<minutes>[\.\d]+?)m)?((?P<seconds>[\.\d]+?)s)?$"
)
_BATCH = 200


def parse_older_than(text: str) -> int:
    """``1d2h3m4s`` (floats allowed) in milliseconds, as `mlflow gc` reads it."""
    match = _OLDER_THAN.match(text)
    parts = {k: float(v) for k, v in match.groupdict().items() if v} if match else {}
    if match is None or (not parts and text):
        raise invalid(
            f"Could not parse any time information from '{text}'. Examples of valid strings: '8h', '2d8h5m20s', '2m4s'"
        )
    return int(timedelta(**parts).total_seconds() * 1000)


@dataclass
class GcPlan:
    run_ids: list[str] = field(default_factory=list)
    experiment_ids: list[int] = field(default_factory=list)
    logged_model_ids: list[str] = field(default_factory=list)
    artifact_roots: dict[str, str | None] = field(default_factory=dict)  # run, model or trace id -> its root
    traces: dict[int, list[str]] = field(default_factory=dict)  # experiment id -> its trace ids


@dataclass
class GcResult:
    runs: list[str] = field(default_factory=list)
    experiments: list[int] = field(default_factory=list)
    logged_models: list[str] = field(default_factory=list)
    traces: int = 0
    artifact_roots_deleted: int = 0
    warnings: list[str] = field(default_factory=list)


async def plan_gc(
    bulk: BulkStore,
    *,
    older_than: str | None = None,
    run_ids: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
    logged_model_ids: Sequence[str] | None = None,
    now_ms: int | None = None,
) -> GcPlan:
    now = int(time.time() * 1000) if now_ms is None else now_ms
    delta = parse_older_than(older_than) if older_than is not None else 0
    threshold = now - delta
    plan = GcPlan()

    old_deleted_runs = set(await bulk.deleted_run_ids(threshold))
    wanted_runs = list(run_ids) if run_ids is not None else sorted(old_deleted_runs)

    if experiment_ids:
        ids = []
        for text in experiment_ids:
            try:
                ids.append(int(text))
            except ValueError:
                raise not_found(f"No Experiment with id={text} exists") from None
        states = await bulk.experiment_states(ids)
        missing = [i for i in ids if i not in states]
        if missing:
            raise not_found(f"No Experiment with id={missing[0]} exists")
        active = [str(i) for i in ids if states[i][1] != "deleted"]
        if active:
            raise invalid(
                f"Experiments {active} are not in the deleted lifecycle stage. "
                "Only experiments in the deleted lifecycle stage can be hard-deleted."
            )
        if older_than:
            young = [str(i) for i in ids if (updated := states[i][2]) is None or updated >= threshold]
            if young:
                raise invalid(
                    f"Experiments {young} are not older than the required age. "
                    f"Only experiments older than {older_than} can be deleted."
                )
        plan.experiment_ids = ids
    else:
        states = await bulk.experiment_states(None)
        plan.experiment_ids = sorted(
            eid for eid, s in states.items() if not older_than or (s[2] is not None and s[2] < threshold)
        )
    if plan.experiment_ids:
        in_experiments = await bulk.runs_of_experiments(plan.experiment_ids)
        run_states = await bulk.run_states(in_experiments)
        wanted_runs += [r for r in in_experiments if run_states[r][0] == "deleted"]

    run_states = await bulk.run_states(wanted_runs)
    for run_id in dict.fromkeys(wanted_runs):
        state = run_states.get(run_id)
        if state is None:
            raise not_found(f"Run with id={run_id} not found")
        if state[0] != "deleted":
            raise invalid(
                f"Run {run_id} is not in `deleted` lifecycle stage. "
                "Only runs in `deleted` lifecycle stage can be deleted."
            )
        if older_than and run_id not in old_deleted_runs:
            raise invalid(
                f"Run {run_id} is not older than the required age. Only runs older than {older_than} can be deleted."
            )
        plan.run_ids.append(run_id)
        plan.artifact_roots[run_id] = state[2]

    if logged_model_ids is not None:
        model_states = await bulk.logged_model_states(list(logged_model_ids))
        for model_id in logged_model_ids:
            if model_id not in model_states:
                raise not_found(f"Logged model with ID '{model_id}' not found.")
            if model_states[model_id][0] != "deleted":
                raise invalid(
                    f"Logged model {model_id} is not in `deleted` lifecycle stage. "
                    "Only logged models in `deleted` lifecycle stage can be deleted."
                )
        chosen = list(dict.fromkeys(logged_model_ids))
    else:
        model_states = await bulk.logged_model_states(None)
        chosen = sorted(m for m, s in model_states.items() if s[1] is not None and s[1] <= threshold)
    # A deleted experiment's logged models go with it, whatever their own stage.
    in_experiments_models = await bulk.logged_models_of_experiments(plan.experiment_ids)
    every_model = await bulk.logged_model_states(list(dict.fromkeys([*chosen, *in_experiments_models])))
    plan.logged_model_ids = [m for m in chosen if m not in set(in_experiments_models)]
    for model_id in [*plan.logged_model_ids, *in_experiments_models]:
        plan.artifact_roots[model_id] = every_model[model_id][2]
    for eid in plan.experiment_ids:
        traces = await bulk.traces_of_experiment(eid)
        plan.traces[eid] = [trace_id for trace_id, _ in traces]
        plan.artifact_roots.update(traces)
    return plan


class ArtifactDeleter:
    """Deletes artifact roots: proxied ones (``mlflow-artifacts:/``) under
    ``--artifacts-destination``, or through ``--tracking-uri``'s artifact API when given;
    absolute ones (a path, ``file://``, ``s3://``) where they are."""

    def __init__(self, artifacts_destination: str, tracking_uri: str | None):
        self._locations = ArtifactLocations(Settings(artifacts_destination=artifacts_destination))
        self._tracking = tracking_uri.rstrip("/") if tracking_uri else None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        for repo in self._locations.repositories():
            await repo.start()
        if self._tracking:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300))

    async def close(self) -> None:
        for repo in self._locations.repositories():
            await repo.close()
        if self._session is not None:
            await self._session.close()

    async def delete(self, uri: str) -> None:
        """Delete everything under ``uri``; raises AiotrackError when it cannot be reached."""
        scheme = urlsplit(uri).scheme
        if scheme == "mlflow-artifacts" and self._session is not None:
            path = "/".join(p for p in urlsplit(uri).path.split("/") if p)
            url = f"{self._tracking}/api/2.0/mlflow-artifacts/artifacts/{quote(path)}"
            async with self._session.delete(url) as resp:
                if resp.status not in (200, 404):
                    raise AiotrackError(f"DELETE {url} answered {resp.status}: {(await resp.text())[:200]}")
            return
        resolved = self._locations.resolve_run_root(uri)
        if resolved is not None:
            repo, path = resolved
            if path:
                await repo.delete(path)
                return
        if local_path(uri) is not None or scheme == "s3":
            parent, leaf = posixpath.split(uri.rstrip("/"))
            if leaf:
                repo = repository_for_uri(parent)
                await repo.start()
                try:
                    await repo.delete(leaf)
                finally:
                    await repo.close()
                return
        raise AiotrackError(f"Unable to resolve the artifact location '{uri}'")


async def run_gc(bulk: BulkStore, plan: GcPlan, artifacts: ArtifactDeleter) -> GcResult:
    result = GcResult()

    async def remove_artifacts(ids: Sequence[str]) -> None:
        for item in ids:
            root = plan.artifact_roots.get(item)
            if not root:
                continue
            try:
                await artifacts.delete(root)
                result.artifact_roots_deleted += 1
            except (AiotrackError, aiohttp.ClientError, OSError) as exc:
                result.warnings.append(
                    f"artifacts of {item} at {root} were not deleted ({exc}); the gc continues, delete them by hand"
                )

    for start in range(0, len(plan.run_ids), _BATCH):
        batch = plan.run_ids[start : start + _BATCH]
        await remove_artifacts(batch)
        await bulk.hard_delete_runs(batch)
        result.runs += batch
    models = plan.logged_model_ids
    for start in range(0, len(models), _BATCH):
        batch = models[start : start + _BATCH]
        await remove_artifacts(batch)
        await bulk.hard_delete_logged_models(batch)
        result.logged_models += batch
    for eid in plan.experiment_ids:
        own_models = await bulk.logged_models_of_experiments([eid])
        await remove_artifacts(own_models)
        traces = plan.traces.get(eid, [])
        await remove_artifacts(traces)
        if await bulk.hard_delete_experiment(eid):
            result.experiments.append(eid)
            result.logged_models += own_models
            result.traces += len(traces)
        else:
            result.warnings.append(f"experiment {eid} still holds runs that are not deleted; it was kept")
    return result
