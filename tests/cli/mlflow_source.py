"""Real MLflow stores to import from: a `mlflow server` subprocess on a free port, filled by the
mlflow client with every entity `aiotrack import` carries, odd data included."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import urllib.request
import warnings

from server_process import free_port  # tests/ is on sys.path


def aiotrack_cli(*args: str, cwd, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m aiotrack ARGS` with this tree first on the path (PYTHONPATH is inherited)."""
    return subprocess.run(
        [sys.executable, "-m", "aiotrack", *args], cwd=str(cwd), capture_output=True, text=True, timeout=timeout
    )


class MlflowServer:
    def __init__(self, backend: str, artifacts: str, workdir: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backend = backend
        self.artifacts = artifacts
        self.log_path = os.path.join(workdir, f"mlflow-{self.port}.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, **(env or {})}
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend,
                "--artifacts-destination", artifacts, "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", "1",
            ],
            cwd=workdir, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
        try:
            self._wait_ready(time.monotonic() + 240)  # a readiness deadline, generous for a loaded machine
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, deadline: float) -> None:
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mlflow server did not start:\n{self.log()}") from None
                time.sleep(0.2)

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


def populate(tracking_uri: str, tmp_dir: str, *, database: bool = True) -> dict:
    """Fill the server at tracking_uri; return facts the tests check against. ``database``: the
    server has a database backend (MLflow's file store refuses to link a trace to a prompt
    version or a run, and to filter traces by assessments)."""
    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from mlflow.entities import LoggedModelOutput, Metric, Param, RunTag

    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    facts: dict = {"database": database}

    e1 = client.create_experiment("imported ünïcödé 実験", tags={"team": "ml", "ключ": "значение"})
    e2 = client.create_experiment("second")
    doomed = client.create_experiment("to be deleted")
    facts["experiments"] = [e1, e2, doomed]

    parent = client.create_run(e1, run_name="parent ✓", tags={"mlflow.user": "alice"})
    pid = parent.info.run_id
    client.log_batch(
        pid,
        metrics=[Metric("loss", 1.0 / (i + 1), 1_700_000_000_000 + i, i) for i in range(300)]
        + [Metric("odd", math.nan, 1_700_000_000_000, 0), Metric("odd", math.inf, 1_700_000_000_001, 1),
           Metric("odd", -math.inf, 1_700_000_000_002, 2), Metric("odd", 5.0, 1_700_000_000_002, 2)],
        params=[Param("lr", "0.01"), Param("ünï", "☃")],
        tags=[RunTag("note", "multi\nline"), RunTag("mlflow.note.content", "# hello")],
    )  # fmt: skip
    child = client.create_run(e1, run_name="child", tags={"mlflow.parentRunId": pid})
    client.log_metric(child.info.run_id, "acc", 0.5, step=3)
    client.set_terminated(child.info.run_id, "FAILED")
    gone = client.create_run(e1, run_name="deleted run")
    client.log_param(gone.info.run_id, "p", "v")
    client.log_metric(gone.info.run_id, "m", 2.0)
    client.delete_run(gone.info.run_id)
    facts["deleted_run"] = gone.info.run_id

    # Artifacts, a 0-byte file included.
    art = os.path.join(tmp_dir, "art")
    os.makedirs(os.path.join(art, "sub"), exist_ok=True)
    open(os.path.join(art, "empty.txt"), "wb").close()
    with open(os.path.join(art, "sub", "data.bin"), "wb") as f:
        f.write(os.urandom(4096))
    client.log_artifacts(pid, art)
    client.log_artifact(gone.info.run_id, os.path.join(art, "sub", "data.bin"))

    # Datasets and a logged model with metrics linked to it and to a dataset.
    dataset = mlflow.data.from_numpy(np.arange(12).reshape(3, 4), source="s3://bucket/x.npy", name="numbers")
    mlflow.set_experiment(experiment_id=e1)
    with mlflow.start_run(run_id=pid):
        mlflow.log_input(dataset, context="training", tags={"split": "train"})
        model = mlflow.initialize_logged_model(name="my-model", tags={"flavor": "none"}, params={"depth": "3"})
        mlflow.log_metric("model_acc", 0.9, step=1, model_id=model.model_id, dataset=dataset)
        client.finalize_logged_model(model.model_id, "READY")
    client.log_outputs(pid, [LoggedModelOutput(model.model_id, 2)])
    facts["model_id"] = model.model_id
    client.set_terminated(pid, "FINISHED")

    run2 = client.create_run(e2, run_name="r2", start_time=1_600_000_000_000)
    client.log_metric(run2.info.run_id, "loss", 3.0)
    client.set_experiment_tag(e2, "stage", "prod")

    doomed_run = client.create_run(doomed, run_name="in deleted experiment")
    client.log_metric(doomed_run.info.run_id, "x", 1.0)
    mlflow.set_experiment(experiment_id=doomed)
    with warnings.catch_warnings():  # (see the traces below)
        warnings.simplefilter("ignore")
        with mlflow.start_span("in deleted experiment") as doomed_span:
            doomed_span.set_inputs({"x": 1})
        mlflow.flush_trace_async_logging()
    facts["doomed_trace"] = doomed_span.trace_id
    client.delete_experiment(doomed)
    facts["doomed_run"] = doomed_run.info.run_id

    # Registry: several versions, aliases, tags, stages, a deleted version, and a prompt.
    client.create_registered_model("reg-model", tags={"owner": "bob"}, description="déscription")
    for _ in range(3):
        client.create_model_version("reg-model", f"runs:/{pid}/sub", run_id=pid, tags={"k": "v"})
    client.set_registered_model_alias("reg-model", "champion", "2")
    client.set_registered_model_alias("reg-model", "challenger", "3")
    client.transition_model_version_stage("reg-model", "1", "Staging")
    client.delete_model_version("reg-model", "3")
    client.set_model_version_tag("reg-model", "2", "quality", "good")
    mlflow.genai.register_prompt(name="greeting", template="Hello {{name}}!", commit_message="first")
    mlflow.genai.register_prompt(name="greeting", template="Hi {{name}}!", commit_message="second")
    # Traces: a nested trace with inputs and outputs, a decorated function's trace inside a run
    # (linked to it), feedback and an expectation, a trace tag, a trace linked to a prompt version.
    # (Warnings off meanwhile: the exporter's thread would drop the trace on a warning that the
    # suite's filterwarnings=error turns into an exception.)
    mlflow.set_experiment(experiment_id=e2)

    @mlflow.trace(span_type="TOOL")
    def add(a: int, b: int) -> int:
        return a + b

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mlflow.start_span("traced ✓") as span:
            span.set_inputs({"q": "hi"})
            with mlflow.start_span("inner", span_type="LLM") as inner:
                inner.set_inputs({"prompt": "hi"})
                inner.set_outputs({"text": "hello"})
            span.set_outputs({"a": "hello"})
        mlflow.flush_trace_async_logging()
        traced = span.trace_id
        with mlflow.start_run(run_id=run2.info.run_id):
            add(1, 2)
        mlflow.flush_trace_async_logging()
        in_run = mlflow.get_last_active_trace_id()
    client.set_trace_tag(traced, "reviewed", "yes")
    mlflow.log_feedback(trace_id=traced, name="helpful", value=True, rationale="said hello")
    mlflow.log_expectation(trace_id=traced, name="expected", value={"a": "hello"})
    if database:
        client.link_prompt_versions_to_trace([client.get_prompt_version("greeting", 1)], traced)
        client.link_traces_to_run([traced], run2.info.run_id)  # an entity association, not sourceRun metadata
    facts["traces"] = [traced, in_run]
    facts["trace_experiment"] = e2
    facts["run_ids"] = [pid, child.info.run_id, gone.info.run_id, run2.info.run_id, doomed_run.info.run_id]
    return facts
