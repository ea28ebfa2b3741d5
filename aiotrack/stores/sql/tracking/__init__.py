"""The tracking store over SQL, written once for SQLite and PostgreSQL (see dialect.py), one
module per resource:

- ``rows.py``: rows -> MLflow's JSON entities (runs, experiments, metrics), shared checks;
- ``experiments.py``, ``runs.py``, ``metrics.py``: the store's methods for each resource;
- ``writes.py``: the hot write transactions as statement-yielding bodies (create_run, log_batch);
- ``store.py``: :class:`SqlTrackingStore`, the class the app builds.
"""

from __future__ import annotations

from aiotrack.stores.sql.tracking.store import SqlTrackingStore

__all__ = ["SqlTrackingStore"]
