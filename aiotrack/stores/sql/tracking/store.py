"""The tracking store: one class over the resource mixins of this package."""

from __future__ import annotations

from aiotrack.stores.base import TrackingStore
from aiotrack.stores.sql.database import Database
from aiotrack.stores.sql.tracking.experiments import ExperimentsMixin
from aiotrack.stores.sql.tracking.metrics import MetricsMixin
from aiotrack.stores.sql.tracking.runs import RunsMixin
from aiotrack.stores.sql.tracking.table import RunJsonMixin


class SqlTrackingStore(ExperimentsMixin, RunJsonMixin, RunsMixin, MetricsMixin, TrackingStore):
    """MLflow's tracking store over SQL, written once for SQLite and PostgreSQL (see dialect.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()
