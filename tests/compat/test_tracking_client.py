"""The mlflow client's tracking workflows, unchanged, against `aiotrack server` (SQLite and PostgreSQL)."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


def test_fluent_logging_and_nested_runs(client_env):
    mlflow.set_experiment("compat-fluent")
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 3, "optimizer": "adam"})
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "owner": "alice"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=4)
        mlflow.log_metric("nan_metric", float("nan"))
        mlflow.log_metric("inf_metric", float("inf"))
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("child_metric", 1.5)

    client = MlflowClient()
    run = client.get_run(parent.info.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "parent"
    assert run.info.end_time is not None and run.info.end_time >= run.info.start_time
    assert run.data.params == {"lr": "0.01", "layers": "3", "optimizer": "adam"}
    assert run.data.tags["team"] == "vision"
    assert run.data.tags["stage"] == "dev"
    assert run.data.metrics["loss"] == pytest.approx(0.2)  # the latest step wins
    assert run.data.metrics["acc"] == 0.9
    assert math.isnan(run.data.metrics["nan_metric"])
    assert run.data.metrics["inf_metric"] == 1.7976931348623157e308  # MLflow's SQL stores say the same

    child_run = client.get_run(child.info.run_id)
    assert child_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child_run.info.status == "FINISHED"

    history = client.get_metric_history(parent.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]


def test_params_are_immutable_and_errors_reach_the_client(client_env):
    client = MlflowClient()
    exp_id = client.create_experiment("compat-errors")
    run = client.create_run(exp_id)
    client.log_param(run.info.run_id, "p", "1")
    client.log_param(run.info.run_id, "p", "1")  # same value again is fine
    with pytest.raises(MlflowException) as err:
        client.log_param(run.info.run_id, "p", "2")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in err.value.message
    with pytest.raises(MlflowException) as err:
        client.create_experiment("compat-errors")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException) as err:
        client.get_run("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name("no-such-experiment") is None


def test_log_input_with_a_pandas_dataset(client_env):
    mlflow.set_experiment("compat-datasets")
    df = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, name="train-set", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    fetched = MlflowClient().get_run(run.info.run_id)
    inputs = fetched.inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "train-set"
    assert inputs[0].dataset.digest == dataset.digest
    assert {t.key: t.value for t in inputs[0].tags}["mlflow.data.context"] == "training"
    found = mlflow.search_runs(experiment_names=["compat-datasets"], filter_string="datasets.name = 'train-set'")
    assert list(found["run_id"]) == [run.info.run_id]


def test_search_runs_dataframe_filters_order_and_pages(client_env):
    exp = mlflow.set_experiment("compat-search")
    client = MlflowClient()
    ids = []
    for i in range(7):
        with mlflow.start_run(run_name=f"r{i}") as run:
            mlflow.log_param("depth", str(i % 3))
            mlflow.log_metric("score", float(i))
            mlflow.set_tag("parity", "even" if i % 2 == 0 else "odd")
        ids.append(run.info.run_id)

    df = mlflow.search_runs(
        experiment_ids=[exp.experiment_id],
        filter_string="metrics.score >= 2 and tags.parity = 'even'",
        order_by=["metrics.score DESC"],
    )
    assert list(df["run_id"]) == [ids[6], ids[4], ids[2]]
    assert list(df["metrics.score"]) == [6.0, 4.0, 2.0]
    assert set(df.columns) >= {"params.depth", "tags.parity", "status", "start_time"}

    df = mlflow.search_runs(experiment_ids=[exp.experiment_id], filter_string="params.depth != '2'")
    assert set(df["run_id"]) == {ids[i] for i in range(7) if i % 3 in (0, 1)}
    # MLflow accepts IN only for a few attributes; params answer with its error
    with pytest.raises(MlflowException, match="Expected a quoted string value"):
        mlflow.search_runs(experiment_ids=[exp.experiment_id], filter_string="params.depth IN ('0', '1')")
    df = mlflow.search_runs(
        experiment_ids=[exp.experiment_id], filter_string=f"attributes.run_id IN ('{ids[0]}', '{ids[1]}')"
    )
    assert set(df["run_id"]) == {ids[0], ids[1]}

    page1 = client.search_runs([exp.experiment_id], order_by=["metrics.score ASC"], max_results=3)
    assert [r.info.run_id for r in page1] == ids[:3]
    page2 = client.search_runs(
        [exp.experiment_id], order_by=["metrics.score ASC"], max_results=3, page_token=page1.token
    )
    assert [r.info.run_id for r in page2] == ids[3:6]
    page3 = client.search_runs(
        [exp.experiment_id], order_by=["metrics.score ASC"], max_results=3, page_token=page2.token
    )
    assert [r.info.run_id for r in page3] == ids[6:]
    assert not page3.token

    with pytest.raises(MlflowException) as err:
        client.search_runs([exp.experiment_id], filter_string="metrics.score >>> 1")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_delete_restore_runs_and_experiments(client_env):
    client = MlflowClient()
    exp_id = client.create_experiment("compat-lifecycle")
    run = client.create_run(exp_id)
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([exp_id]) == []
    assert [r.info.run_id for r in client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)] == [
        run.info.run_id
    ]
    client.restore_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "active"

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    with pytest.raises(MlflowException):
        client.create_run(exp_id)
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"
    client.rename_experiment(exp_id, "compat-lifecycle-renamed")
    assert client.get_experiment_by_name("compat-lifecycle-renamed").experiment_id == exp_id


def test_search_experiments_with_pagination(client_env):
    client = MlflowClient()
    made = [client.create_experiment(f"compat-page-{i:02d}", tags={"batch": "p"}) for i in range(12)]
    seen = []
    token = None
    while True:
        page = client.search_experiments(
            max_results=5, filter_string="tags.batch = 'p'", order_by=["name ASC"], page_token=token
        )
        seen += [e.name for e in page]
        token = page.token
        if not token:
            break
    assert seen == [f"compat-page-{i:02d}" for i in range(12)]
    assert len(made) == 12
    found = client.search_experiments(filter_string="name LIKE 'compat-page-1%'")
    assert sorted(e.name for e in found) == ["compat-page-10", "compat-page-11"]


def test_mlflow_cli_commands(client_env):
    env = {**os.environ, "MLFLOW_TRACKING_URI": client_env.url}

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "mlflow", *args], env=env, capture_output=True, text=True, timeout=120
        )

    made = cli("experiments", "create", "--experiment-name", "from-cli")
    assert made.returncode == 0, made.stderr
    exp = MlflowClient().get_experiment_by_name("from-cli")
    assert exp is not None

    listed = cli("experiments", "search")
    assert listed.returncode == 0, listed.stderr
    assert "from-cli" in listed.stdout

    run = MlflowClient().create_run(exp.experiment_id)
    runs = cli("runs", "list", "--experiment-id", exp.experiment_id)
    assert runs.returncode == 0, runs.stderr
    assert run.info.run_id in runs.stdout

    desc = cli("runs", "describe", "--run-id", run.info.run_id)
    assert desc.returncode == 0, desc.stderr
    assert run.info.run_id in desc.stdout

    deleted = cli("experiments", "delete", "--experiment-id", exp.experiment_id)
    assert deleted.returncode == 0, deleted.stderr
    assert MlflowClient().get_experiment(exp.experiment_id).lifecycle_stage == "deleted"
