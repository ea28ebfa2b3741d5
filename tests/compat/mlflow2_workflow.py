"""Run by an mlflow 2.x interpreter against a live server: the tracking workflow of a 2.x user.

Prints OK on success; any failure raises (non-zero exit) with the client's error.
"""

import math
import sys

import mlflow
from mlflow import MlflowClient

assert mlflow.__version__.startswith("2."), mlflow.__version__
mlflow.set_tracking_uri(sys.argv[1])

mlflow.set_experiment("mlflow2-client")
with mlflow.start_run(run_name="v2-parent") as parent:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({"beta": 1, "gamma": "x"})
    mlflow.set_tags({"team": "a"})
    for step in range(3):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"acc": 0.75, "nan": float("nan")})
    with mlflow.start_run(run_name="v2-child", nested=True) as child:
        mlflow.log_metric("c", 1.0)

client = MlflowClient()
run = client.get_run(parent.info.run_id)
assert run.info.status == "FINISHED", run.info
assert run.data.params == {"alpha": "0.5", "beta": "1", "gamma": "x"}, run.data.params
assert run.data.metrics["loss"] == 1.0 / 3
assert math.isnan(run.data.metrics["nan"])
assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
history = client.get_metric_history(parent.info.run_id, "loss")
assert [m.step for m in history] == [0, 1, 2]
exp = client.get_experiment_by_name("mlflow2-client")
found = client.search_runs([exp.experiment_id], filter_string="metrics.acc > 0.5", order_by=["start_time DESC"])
assert [r.info.run_id for r in found] == [parent.info.run_id], found
assert len(client.search_runs([exp.experiment_id], max_results=1)) == 1
client.delete_run(child.info.run_id)
client.restore_run(child.info.run_id)
assert [e.name for e in client.search_experiments(filter_string="name = 'mlflow2-client'")] == ["mlflow2-client"]
print("OK")
