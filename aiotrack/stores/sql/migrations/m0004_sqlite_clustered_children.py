"""SQLite only: params, tags and latest metrics become WITHOUT ROWID tables clustered on
(run_uuid, key).

Every read of a run's data and every search filter looks these rows up by (run_uuid, key). In a
rowid table that is a probe of the primary-key index and then a second of the table; clustered
on the key it is one. Measured on 10,000 runs with 10 params, 10 metrics and 5 tags each: the
filtered and ordered search 34 -> 25 ms, fetching the data of a page of 1,000 runs 35 -> 30 ms.
PostgreSQL has no such table kind; nothing changes there.
"""

NAME = "0004_sqlite_clustered_children"

STEPS = ()


def _rebuild(table: str, names: str, columns: str, after: tuple[str, ...] = ()) -> tuple[str, ...]:
    return (
        f"CREATE TABLE {table}_clustered ({columns}) WITHOUT ROWID",
        f"INSERT INTO {table}_clustered ({names}) SELECT {names} FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_clustered RENAME TO {table}",
        *after,
    )


DIALECT_STEPS = {
    "sqlite": (
        *_rebuild(
            "params",
            "run_uuid, key, value",
            "run_uuid TEXT NOT NULL REFERENCES runs (run_uuid), key TEXT NOT NULL, value TEXT NOT NULL, "
            "PRIMARY KEY (run_uuid, key)",
        ),
        *_rebuild(
            "tags",
            "run_uuid, key, value",
            "run_uuid TEXT NOT NULL REFERENCES runs (run_uuid), key TEXT NOT NULL, value TEXT, "
            "PRIMARY KEY (run_uuid, key)",
        ),
        *_rebuild(
            "latest_metrics",
            "run_uuid, key, step, timestamp, value, is_nan",
            "run_uuid TEXT NOT NULL REFERENCES runs (run_uuid), key TEXT NOT NULL, step BIGINT NOT NULL, "
            "timestamp BIGINT NOT NULL, value REAL NOT NULL, is_nan SMALLINT NOT NULL DEFAULT 0, "
            "PRIMARY KEY (run_uuid, key)",
            after=("CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value)",),
        ),
    ),
}
