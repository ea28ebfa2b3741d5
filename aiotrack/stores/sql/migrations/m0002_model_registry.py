"""The model registry: registered models, their versions, tags and aliases (prompts included).

The layout follows MLflow's registry tables. Names are the keys; renaming a model cascades to
its versions, tags and aliases through ON UPDATE CASCADE, and deleting it removes them all.
A deleted model version stays as a redacted row with stage 'Deleted_Internal' so that its
number is never handed out again, as MLflow does.
"""

NAME = "0002_model_registry"

STEPS = (
    """CREATE TABLE registered_models (
        name TEXT PRIMARY KEY,
        creation_time BIGINT,
        last_updated_time BIGINT,
        description TEXT
    )""",
    "CREATE INDEX registered_models_updated ON registered_models (last_updated_time)",
    """CREATE TABLE registered_model_tags (
        name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (name, key)
    )""",
    """CREATE TABLE model_versions (
        name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
        version BIGINT NOT NULL,
        creation_time BIGINT,
        last_updated_time BIGINT,
        description TEXT,
        user_id TEXT,
        current_stage TEXT NOT NULL DEFAULT 'None',
        source TEXT,
        storage_location TEXT,
        run_id TEXT,
        run_link TEXT,
        status TEXT NOT NULL DEFAULT 'READY',
        status_message TEXT,
        model_id TEXT,
        PRIMARY KEY (name, version)
    )""",
    "CREATE INDEX model_versions_run ON model_versions (run_id)",
    "CREATE INDEX model_versions_updated ON model_versions (last_updated_time)",
    """CREATE TABLE model_version_tags (
        name TEXT NOT NULL,
        version BIGINT NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (name, version, key),
        FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
            ON UPDATE CASCADE ON DELETE CASCADE
    )""",
    """CREATE TABLE registered_model_aliases (
        name TEXT NOT NULL REFERENCES registered_models (name) ON UPDATE CASCADE ON DELETE CASCADE,
        alias TEXT NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (name, alias)
    )""",
)
