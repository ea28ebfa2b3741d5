"""MLflow 3 logged models: the model, its tags, params, and the metrics runs logged against it.

Logged models live with the tracking data (they belong to an experiment and link to runs).
``logged_model_metrics`` mirrors MLflow's table, plus ``is_nan`` so that NaN survives as NaN.
"""

NAME = "0003_logged_models"

STEPS = (
    """CREATE TABLE logged_models (
        model_id TEXT PRIMARY KEY,
        experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
        name TEXT NOT NULL,
        artifact_location TEXT NOT NULL,
        creation_timestamp_ms BIGINT NOT NULL,
        last_updated_timestamp_ms BIGINT NOT NULL,
        status INTEGER NOT NULL,
        lifecycle_stage TEXT NOT NULL DEFAULT 'active',
        model_type TEXT,
        source_run_id TEXT,
        status_message TEXT
    )""",
    "CREATE INDEX logged_models_experiment ON logged_models (experiment_id, creation_timestamp_ms DESC, model_id)",
    "CREATE INDEX logged_models_run ON logged_models (source_run_id)",
    """CREATE TABLE logged_model_tags (
        model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
        experiment_id BIGINT NOT NULL,
        tag_key TEXT NOT NULL,
        tag_value TEXT,
        PRIMARY KEY (model_id, tag_key)
    )""",
    """CREATE TABLE logged_model_params (
        model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
        experiment_id BIGINT NOT NULL,
        param_key TEXT NOT NULL,
        param_value TEXT NOT NULL,
        PRIMARY KEY (model_id, param_key)
    )""",
    """CREATE TABLE logged_model_metrics (
        model_id TEXT NOT NULL REFERENCES logged_models (model_id) ON DELETE CASCADE,
        metric_name TEXT NOT NULL,
        metric_timestamp_ms BIGINT NOT NULL,
        metric_step BIGINT NOT NULL,
        metric_value {float},
        is_nan SMALLINT NOT NULL DEFAULT 0,
        experiment_id BIGINT NOT NULL,
        run_id TEXT NOT NULL,
        dataset_uuid TEXT,
        dataset_name TEXT,
        dataset_digest TEXT,
        PRIMARY KEY (model_id, metric_name, metric_timestamp_ms, metric_step, run_id)
    )""",
    "CREATE INDEX logged_model_metrics_name ON logged_model_metrics (metric_name, model_id)",
)
