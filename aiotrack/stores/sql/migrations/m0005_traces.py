"""Traces (MLflow 3 tracing): trace infos, their tags and metadata, spans, assessments, links.

Spans live in the tracking database, one row per span, with the span's MLflow JSON (the
``traces.json`` form) in ``content`` and the columns the trace filters compare (name, type,
status) beside it. Every child table cascades from ``trace_info`` so deleting a trace deletes
everything that hangs off it in one statement. ``trace_links`` holds MLflow's entity
associations of a trace (to runs and prompt versions).
"""

NAME = "0005_traces"

STEPS = (
    """CREATE TABLE trace_info (
        request_id TEXT PRIMARY KEY,
        experiment_id BIGINT NOT NULL REFERENCES experiments (experiment_id),
        timestamp_ms BIGINT NOT NULL,
        execution_time_ms BIGINT,
        status TEXT NOT NULL,
        client_request_id TEXT,
        request_preview TEXT,
        response_preview TEXT,
        finalized SMALLINT NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX trace_info_experiment_time ON trace_info (experiment_id, timestamp_ms DESC, request_id)",
    "CREATE INDEX trace_info_client_request ON trace_info (client_request_id)",
    """CREATE TABLE trace_tags (
        request_id TEXT NOT NULL REFERENCES trace_info (request_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (request_id, key)
    )""",
    "CREATE INDEX trace_tags_key_value ON trace_tags (key, value)",
    """CREATE TABLE trace_request_metadata (
        request_id TEXT NOT NULL REFERENCES trace_info (request_id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (request_id, key)
    )""",
    "CREATE INDEX trace_request_metadata_key_value ON trace_request_metadata (key, value)",
    """CREATE TABLE spans (
        trace_id TEXT NOT NULL REFERENCES trace_info (request_id) ON DELETE CASCADE,
        span_id TEXT NOT NULL,
        parent_span_id TEXT,
        name TEXT,
        type TEXT,
        status TEXT NOT NULL,
        start_time_unix_nano BIGINT NOT NULL,
        end_time_unix_nano BIGINT,
        content TEXT NOT NULL,
        PRIMARY KEY (trace_id, span_id)
    )""",
    "CREATE INDEX spans_name ON spans (name, trace_id)",
    "CREATE INDEX spans_type ON spans (type, trace_id)",
    """CREATE TABLE assessments (
        assessment_id TEXT PRIMARY KEY,
        trace_id TEXT NOT NULL REFERENCES trace_info (request_id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        assessment_type TEXT NOT NULL,
        value TEXT,
        valid SMALLINT NOT NULL DEFAULT 1,
        overrides TEXT,
        created_timestamp BIGINT NOT NULL,
        last_updated_timestamp BIGINT NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX assessments_trace ON assessments (trace_id, created_timestamp)",
    "CREATE INDEX assessments_name ON assessments (assessment_type, name, trace_id)",
    """CREATE TABLE trace_links (
        trace_id TEXT NOT NULL REFERENCES trace_info (request_id) ON DELETE CASCADE,
        destination_type TEXT NOT NULL,
        destination_id TEXT NOT NULL,
        PRIMARY KEY (trace_id, destination_type, destination_id)
    )""",
    "CREATE INDEX trace_links_destination ON trace_links (destination_type, destination_id)",
)
