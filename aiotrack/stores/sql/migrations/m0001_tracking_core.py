"""Experiments, runs, params, tags, metric history, latest metrics, datasets and run inputs/outputs."""

NAME = "0001_tracking_core"

STEPS = (
    """CREATE TABLE experiments (
        experiment_id {bigint_pk},
        name TEXT NOT NULL UNIQUE,
        artifact_location TEXT,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active',
        creation_time BIGINT,
        last_update_time BIGINT
    )""",
    """CREATE TABLE experiment_tags (
        experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (experiment_id, key)
    )""",
    """CREATE TABLE runs (
        run_uuid TEXT PRIMARY KEY,
        experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
        name TEXT,
        source_type TEXT,
        source_name TEXT,
        entry_point_name TEXT,
        user_id TEXT,
        status TEXT NOT NULL,
        start_time BIGINT,
        end_time BIGINT,
        deleted_time BIGINT,
        source_version TEXT,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active',
        artifact_uri TEXT
    )""",
    # Run search scans one experiment's runs in MLflow's default order.
    "CREATE INDEX runs_experiment_start ON runs (experiment_id, start_time DESC, run_uuid)",
    """CREATE TABLE params (
        run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (run_uuid, key)
    )""",
    """CREATE TABLE tags (
        run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (run_uuid, key)
    )""",
    # Full metric history. The unique index makes a retried request idempotent (MLflow's
    # primary key has the same columns) and serves history reads by (run, key) in step order.
    """CREATE TABLE metrics (
        run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
        key TEXT NOT NULL,
        step BIGINT NOT NULL DEFAULT 0,
        timestamp BIGINT NOT NULL,
        value {float} NOT NULL,
        is_nan SMALLINT NOT NULL DEFAULT 0
    )""",
    "CREATE UNIQUE INDEX metrics_history ON metrics (run_uuid, key, step, timestamp, value, is_nan)",
    # One row per (run, key): the point with the greatest (step, timestamp, value), kept up to
    # date on every write so get-run and search never read the history.
    """CREATE TABLE latest_metrics (
        run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
        key TEXT NOT NULL,
        step BIGINT NOT NULL,
        timestamp BIGINT NOT NULL,
        value {float} NOT NULL,
        is_nan SMALLINT NOT NULL DEFAULT 0,
        PRIMARY KEY (run_uuid, key)
    )""",
    "CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value)",
    """CREATE TABLE datasets (
        dataset_uuid TEXT PRIMARY KEY,
        experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
        name TEXT NOT NULL,
        digest TEXT NOT NULL,
        dataset_source_type TEXT NOT NULL,
        dataset_source TEXT NOT NULL,
        dataset_schema TEXT,
        dataset_profile TEXT,
        UNIQUE (experiment_id, name, digest)
    )""",
    # Links a source (a dataset, or a logged model) to a destination (a run), as MLflow does.
    """CREATE TABLE inputs (
        input_uuid TEXT PRIMARY KEY,
        source_type TEXT NOT NULL,
        source_id TEXT NOT NULL,
        destination_type TEXT NOT NULL,
        destination_id TEXT NOT NULL,
        step BIGINT NOT NULL DEFAULT 0,
        UNIQUE (source_type, source_id, destination_type, destination_id)
    )""",
    "CREATE INDEX inputs_destination ON inputs (destination_type, destination_id)",
    """CREATE TABLE input_tags (
        input_uuid TEXT NOT NULL REFERENCES inputs (input_uuid),
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (input_uuid, name)
    )""",
    # Models a run produced (runs/outputs), with the step they were logged at.
    """CREATE TABLE run_outputs (
        run_uuid TEXT NOT NULL REFERENCES runs (run_uuid),
        model_id TEXT NOT NULL,
        step BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (run_uuid, model_id)
    )""",
)
