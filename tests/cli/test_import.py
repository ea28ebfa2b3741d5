"""`aiotrack import` from real MLflow stores: the same client queries answer the same against
`mlflow server` on the source and `aiotrack server` on the import; reruns add nothing."""

from __future__ import annotations

import math
import pathlib
import sqlite3
import tempfile

import pytest
from mlflow_source import aiotrack_cli

pytestmark = pytest.mark.slow  # builds real MLflow stores with the mlflow client against mlflow server

FLOAT_MAX = 1.7976931348623157e308


def _value(v: float) -> object:
    """NaN made comparable; infinities as aiotrack and MLflow's SQL stores keep them (+/-FLOAT_MAX:
    MLflow's file store answers them as inf)."""
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, float) and math.isinf(v):
        return FLOAT_MAX if v > 0 else -FLOAT_MAX
    return v


def snapshot(uri: str, facts: dict, tmp_path) -> dict:
    """What the mlflow client answers to a fixed set of questions."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(uri)
    out: dict = {}
    experiments = client.search_experiments(view_type=ViewType.ALL, order_by=["name ASC"])
    out["experiments"] = [
        (e.experiment_id, e.name, e.lifecycle_stage, e.artifact_location, sorted(e.tags.items()), e.creation_time,
         e.last_update_time)
        for e in experiments
    ]  # fmt: skip
    ids = [e.experiment_id for e in experiments]
    out["deleted experiments"] = [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
    queries = [
        ("", None),
        ("metrics.loss < 0.5", ["metrics.loss DESC"]),
        ("params.lr = '0.01'", None),
        ("tags.note LIKE 'multi%'", None),
        ("attributes.status = 'FAILED'", None),
        ("attributes.run_name ILIKE '%PARENT%'", ["attributes.start_time ASC"]),
    ]
    for filter_string, order_by in queries:
        runs = client.search_runs(ids, filter_string, run_view_type=ViewType.ALL, order_by=order_by)
        out[f"runs {filter_string} {order_by}"] = [
            (
                r.info.run_id, r.info.run_name, r.info.status, r.info.lifecycle_stage, r.info.start_time,
                r.info.end_time, r.info.user_id, r.info.artifact_uri, r.info.experiment_id,
                sorted(r.data.params.items()), sorted(r.data.tags.items()),
                sorted((k, _value(v)) for k, v in r.data.metrics.items()),
                sorted((d.dataset.name, d.dataset.digest, d.dataset.source, sorted((t.key, t.value) for t in d.tags))
                       for d in r.inputs.dataset_inputs),
                sorted((o.model_id, o.step) for o in (r.outputs.model_outputs if r.outputs else []) or []),
            )
            for r in runs
        ]  # fmt: skip
    out["active runs"] = sorted(r.info.run_id for r in client.search_runs(ids, run_view_type=ViewType.ACTIVE_ONLY))
    for run_id in facts["run_ids"]:
        run = client.get_run(run_id)
        # (model inputs from get_run: MLflow's run search leaves them out, aiotrack's sends them)
        out[f"model inputs {run_id}"] = sorted(m.model_id for m in run.inputs.model_inputs or [])
        for key in sorted(run.data.metrics):
            out[f"history {run_id} {key}"] = [
                (m.step, m.timestamp, _value(m.value)) for m in client.get_metric_history(run_id, key)
            ]
    model = client.get_logged_model(facts["model_id"])
    out["logged model"] = (
        model.name, model.status, model.source_run_id, model.artifact_location, model.experiment_id,
        sorted(model.params.items()), sorted((k, v) for k, v in model.tags.items() if k != "mlflow.modelVersions"),
        sorted((m.key, m.value, m.step, m.run_id, m.dataset_name, m.dataset_digest) for m in model.metrics or []),
    )  # fmt: skip
    out["registered models"] = [
        (m.name, m.description, sorted(m.tags.items()), sorted(m.aliases.items()))
        for m in client.search_registered_models()
    ]
    # (not v.aliases: MLflow's SQL store leaves them out of search_model_versions, aiotrack sends them)
    out["versions"] = sorted(
        (v.version, v.current_stage, v.source, v.run_id, sorted(v.tags.items()), v.status)
        for v in client.search_model_versions("name = 'reg-model'")
    )
    out["alias"] = client.get_model_version_by_alias("reg-model", "champion").version
    mlflow.set_tracking_uri(uri)
    out["prompt"] = [mlflow.genai.load_prompt(f"prompts:/greeting/{v}").template for v in (1, 2)]
    pid = facts["run_ids"][0]
    # (file_size or 0: MLflow drops a 0 size from the JSON, aiotrack sends it)
    out["artifacts"] = sorted((f.path, f.is_dir, f.file_size or 0) for f in client.list_artifacts(pid))
    out["artifacts sub"] = sorted((f.path, f.is_dir, f.file_size or 0) for f in client.list_artifacts(pid, "sub"))
    local = client.download_artifacts(pid, "", tempfile.mkdtemp(dir=tmp_path))
    files = {}
    for name in ("empty.txt", "sub/data.bin"):
        with open(f"{local}/{name}", "rb") as f:
            files[name] = f.read()
    out["artifact bytes"] = files
    out.update(trace_snapshot(uri, facts))
    return out


def _assessment(a) -> tuple:
    kind = "feedback" if a.feedback is not None else "expectation"
    value = a.feedback.value if a.feedback is not None else a.expectation.value
    return (a.assessment_id, a.name, kind, value, a.rationale, a.source.source_type, a.source.source_id,
            a.create_time_ms, a.last_update_time_ms, a.valid, a.trace_id)  # fmt: skip


def _trace(t) -> tuple:
    i = t.info
    spans = sorted(
        (s.span_id, s.parent_id, s.name, s.span_type, s.status.status_code.value, s.start_time_ns, s.end_time_ns,
         repr(s.inputs), repr(s.outputs))
        for s in (t.data.spans if t.data else [])
    )  # fmt: skip
    return (
        i.trace_id, i.trace_location.mlflow_experiment.experiment_id, i.request_time, i.execution_duration,
        i.state.value, i.request_preview, i.response_preview, i.client_request_id, sorted(i.tags.items()),
        sorted(i.trace_metadata.items()), sorted(_assessment(a) for a in i.assessments), spans,
    )  # fmt: skip


def trace_snapshot(uri: str, facts: dict) -> dict:
    """The traces as the mlflow client sees them: searches (with filters on tags, runs and
    feedback) and each trace with its spans."""
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    eid = facts["trace_experiment"]
    out: dict = {}
    run2 = facts["run_ids"][3]
    filters = ["", "tags.reviewed = 'yes'", f"attributes.run_id = '{run2}'"]
    if facts["database"]:  # (MLflow's file store cannot filter by assessments)
        filters.append("feedback.helpful = 'true'")
    for filter_string in filters:
        found = mlflow.search_traces(locations=[eid], filter_string=filter_string or None, return_type="list")
        out[f"search_traces {filter_string}"] = sorted(_trace(t) for t in found)
    for trace_id in facts["traces"]:
        out[f"get_trace {trace_id}"] = _trace(client.get_trace(trace_id))
    return out


def _import(source, target_uri: str, cwd, *extra: str):
    return aiotrack_cli("import", source.location, "--backend-store-uri", target_uri, *extra, cwd=cwd)


def _target_for(source, tmp_path, pg_server) -> str:
    if source.kind == "postgresql":
        return pg_server.create_sync("import_target")  # PostgreSQL to PostgreSQL: the COPY path
    return f"sqlite:///{tmp_path}/imported.db"


def test_import_answers_like_mlflow_and_a_rerun_adds_nothing(mlflow_source, tmp_path, start_server, request):
    pg_server = request.getfixturevalue("pg_server") if mlflow_source.kind == "postgresql" else None
    target = _target_for(mlflow_source, tmp_path, pg_server)
    first = _import(mlflow_source, target, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "verification: OK" in first.stdout
    assert "Imported 4 experiment(s) and 2 registered model(s)" in first.stdout
    spans = 0 if mlflow_source.kind == "file" else 3  # the file store keeps spans in the traces' artifacts
    assert f"2, {spans}          2, {spans}" in first.stdout  # traces, spans of the traces' experiment

    # Artifacts stay where they are: aiotrack serves MLflow's artifact destination.
    aiotrack = start_server(
        ["--backend-store-uri", target, "--artifacts-destination", mlflow_source.artifacts, "--workers", "1"]
    )
    expected = snapshot(mlflow_source.server.url, mlflow_source.facts, tmp_path)
    got = snapshot(aiotrack.url, mlflow_source.facts, tmp_path)
    if mlflow_source.kind == "file":
        # MLflow's file store misreads the step of a metric line that names a dataset
        # ("ts value step name digest") as 0; the import keeps the step the file holds (1).
        key = f"history {mlflow_source.facts['run_ids'][0]} model_acc"
        assert expected[key] == [(0, expected[key][0][1], 0.9)]
        expected[key] = [(1, expected[key][0][1], 0.9)]
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == expected[key], key
    assert got["artifact bytes"]["empty.txt"] == b""

    again = _import(mlflow_source, target, tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Imported 0 experiment(s) and 0 registered model(s) (0 rows)" in again.stdout
    assert "Traces of" not in again.stdout
    assert "4 experiment(s) and 2 model(s) were already imported" in again.stdout
    assert "verification: OK" in again.stdout
    assert snapshot(aiotrack.url, mlflow_source.facts, tmp_path)["runs  None"] == expected["runs  None"]


def test_rest_source_against_the_running_mlflow_server(mlflow_sqlite_source, tmp_path):
    target = f"sqlite:///{tmp_path}/from-rest.db"
    done = aiotrack_cli("import", mlflow_sqlite_source.server.url, "--backend-store-uri", target, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verification: OK" in done.stdout
    assert "2, 3          2, 3" in done.stdout
    conn = sqlite3.connect(f"{tmp_path}/from-rest.db")
    try:
        runs = {r[0] for r in conn.execute("SELECT run_uuid FROM runs")}
        assert runs == set(mlflow_sqlite_source.facts["run_ids"])
        points = conn.execute(
            "SELECT COUNT(*) FROM metrics WHERE run_uuid = ?", (mlflow_sqlite_source.facts["run_ids"][0],)
        ).fetchone()[0]
        assert points == 300 + 4 + 1  # loss, the odd values (NaN, +-inf, 5.0), model_acc
        prompts = conn.execute("SELECT COUNT(*) FROM model_versions WHERE name = 'greeting'").fetchone()[0]
        assert prompts == 2
        # The links MLflow keeps as entity associations, rebuilt from what the API shows.
        links = set(conn.execute("SELECT trace_id, destination_type, destination_id FROM trace_links"))
        traced = mlflow_sqlite_source.facts["traces"][0]
        assert links == {
            (traced, "PROMPT_VERSION", "greeting/1"),
            (traced, "RUN", mlflow_sqlite_source.facts["run_ids"][3]),
        }
    finally:
        conn.close()


def test_skip_traces_leaves_them_and_a_later_import_brings_them(mlflow_sqlite_source, tmp_path):
    target = f"sqlite:///{tmp_path}/t.db"
    skipped = aiotrack_cli(
        "import", mlflow_sqlite_source.location, "--backend-store-uri", target, "--skip-traces", cwd=tmp_path
    )
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "traces (not imported)" in skipped.stdout and "verification: OK" in skipped.stdout
    conn = sqlite3.connect(f"{tmp_path}/t.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 5
        assert conn.execute("SELECT COUNT(*) FROM trace_info").fetchone()[0] == 0
        later = aiotrack_cli("import", mlflow_sqlite_source.location, "--backend-store-uri", target, cwd=tmp_path)
        assert later.returncode == 0, later.stdout + later.stderr
        assert "Imported 0 experiment(s)" in later.stdout and "Traces of 4 experiment(s) imported" in later.stdout
        assert "2, 3          2, 3" in later.stdout and "verification: OK" in later.stdout
        # (3 traces: 2 in the traces' experiment, 1 in the deleted one)
        assert conn.execute("SELECT COUNT(*) FROM trace_info").fetchone()[0] == 3
        assert conn.execute("SELECT COUNT(*) FROM spans").fetchone()[0] == 4
        again = aiotrack_cli("import", mlflow_sqlite_source.location, "--backend-store-uri", target, cwd=tmp_path)
        assert again.returncode == 0 and "Traces of" not in again.stdout
        assert conn.execute("SELECT COUNT(*) FROM trace_info").fetchone()[0] == 3
    finally:
        conn.close()


def test_a_missing_span_is_a_mismatch(mlflow_sqlite_source, tmp_path):
    target = f"sqlite:///{tmp_path}/s.db"
    assert _import(mlflow_sqlite_source, target, tmp_path).returncode == 0
    conn = sqlite3.connect(f"{tmp_path}/s.db")
    conn.execute("DELETE FROM spans WHERE rowid IN (SELECT rowid FROM spans LIMIT 1)")
    conn.commit()
    conn.close()
    again = _import(mlflow_sqlite_source, target, tmp_path)
    assert again.returncode == 1
    assert "2, 3          2, 2   MISMATCH" in again.stdout and "verification: FAILED" in again.stdout


def test_dry_run_counts_and_writes_nothing(mlflow_sqlite_source, tmp_path):
    done = aiotrack_cli(
        "import", mlflow_sqlite_source.location, "--backend-store-uri", f"sqlite:///{tmp_path}/d.db", "--dry-run",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Dry run: nothing written" in done.stdout
    lines = dict(line.split()[:2] for line in done.stdout.splitlines()[1:] if line.startswith("  "))
    assert lines["runs"] == "5" and lines["metrics"] == "309" and lines["model_versions"] == "5"
    assert lines["trace_info"] == "3" and lines["spans"] == "4" and lines["assessments"] == "2"
    assert not (tmp_path / "d.db").exists()


def test_unknown_mlflow_schema_is_refused_naming_its_version(mlflow_sqlite_source, tmp_path):
    import shutil

    copy = tmp_path / "old.db"
    shutil.copy(mlflow_sqlite_source.location.removeprefix("sqlite:///"), copy)
    conn = sqlite3.connect(copy)
    conn.execute("UPDATE alembic_version SET version_num = '0584bdc529eb'")
    conn.commit()
    conn.close()
    done = aiotrack_cli(
        "import", f"sqlite:///{copy}", "--backend-store-uri", f"sqlite:///{tmp_path}/x.db", cwd=tmp_path
    )
    assert done.returncode != 0
    assert "schema version 0584bdc529eb" in done.stderr and "dc11669786a5" in done.stderr


def test_import_refuses_a_target_whose_ids_are_taken(mlflow_sqlite_source, tmp_path, start_server):
    import mlflow

    target = f"sqlite:///{tmp_path}/busy.db"
    server = start_server(["--backend-store-uri", target, "--workers", "1"])
    mlflow.MlflowClient(server.url).create_experiment("already here")  # takes id 1
    server.stop()
    done = aiotrack_cli("import", mlflow_sqlite_source.location, "--backend-store-uri", target, cwd=tmp_path)
    assert done.returncode != 0
    assert "experiment id 1 is taken in the target by 'already here'" in done.stderr
    conn = sqlite3.connect(f"{tmp_path}/busy.db")
    try:
        assert conn.execute("SELECT COUNT(*) FROM aiotrack_import_journal").fetchone()[0] == 0
    finally:
        conn.close()


def test_a_mismatch_exits_non_zero(mlflow_sqlite_source, tmp_path):
    target = f"sqlite:///{tmp_path}/m.db"
    assert _import(mlflow_sqlite_source, target, tmp_path).returncode == 0
    conn = sqlite3.connect(f"{tmp_path}/m.db")
    conn.execute("DELETE FROM metrics WHERE rowid IN (SELECT rowid FROM metrics LIMIT 1)")
    conn.commit()
    conn.close()
    again = _import(mlflow_sqlite_source, target, tmp_path)
    assert again.returncode == 1
    assert "MISMATCH" in again.stdout and "verification: FAILED" in again.stdout


def test_copy_artifacts_copies_proxied_artifacts_to_the_new_destination(mlflow_sqlite_source, tmp_path):
    target_artifacts = tmp_path / "aiotrack-artifacts"
    done = _import(
        mlflow_sqlite_source, f"sqlite:///{tmp_path}/c.db", tmp_path, "--copy-artifacts",
        "--source-artifacts", mlflow_sqlite_source.artifacts, "--artifacts-destination", str(target_artifacts),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verification: OK" in done.stdout
    pid, gone = mlflow_sqlite_source.facts["run_ids"][0], mlflow_sqlite_source.facts["deleted_run"]
    source_root = f"{mlflow_sqlite_source.artifacts}/1/{pid}/artifacts"
    copied = target_artifacts / "1" / pid / "artifacts"
    assert (copied / "empty.txt").read_bytes() == b""
    with open(f"{source_root}/sub/data.bin", "rb") as f:
        assert (copied / "sub" / "data.bin").read_bytes() == f.read()
    assert (target_artifacts / "1" / gone / "artifacts" / "data.bin").exists()  # deleted runs keep theirs
    # The traces' artifacts (the traces.json MLflow's client uploads for some) come along.
    source_artifacts = pathlib.Path(mlflow_sqlite_source.artifacts)
    trace_files = [p.relative_to(source_artifacts) for p in source_artifacts.glob("*/traces/*/artifacts/traces.json")]
    for rel in trace_files:
        assert (target_artifacts / rel).read_bytes() == (source_artifacts / rel).read_bytes()
    assert f"Artifacts: {3 + len(trace_files)} file(s)" in done.stdout  # 3 run artifacts and the traces.json
