"""Data logged by the real mlflow client, as a day of ordinary MLflow work makes it: an sklearn
autolog sweep, a training loop of 5-digit losses, a long parameter, a log_table artifact, a dataset input,
a logged model with a signature, system metrics.

Run as a script with MLFLOW_TRACKING_URI set; prints one JSON line with the ids, and the client's
own "View run ... at: <url>" lines (which the tests open as bookmarks).
"""

from __future__ import annotations

import json
import warnings

import mlflow
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge


def main() -> None:
    warnings.filterwarnings("ignore")
    exp_id = mlflow.set_experiment("autolog-sweep").experiment_id
    mlflow.sklearn.autolog(log_models=False, log_datasets=False, silent=True)
    X, y = make_regression(n_samples=120, n_features=4, noise=0.5, random_state=0)
    sweep = {}
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    dataset = mlflow.data.from_pandas(frame, name="regression-data")
    model_id = None
    for alpha in (0.1, 1.0):
        with mlflow.start_run(run_name=f"ridge-{alpha}") as run:
            model = Ridge(alpha=alpha).fit(X, y)
            mlflow.log_input(dataset, context="train")
            sweep[str(alpha)] = run.info.run_id
            if alpha == 0.1:  # a logged model with a signature, to register from the UI
                model_id = mlflow.sklearn.log_model(model, name="ridge", input_example=frame.iloc[:2]).model_id
    mlflow.sklearn.autolog(disable=True)
    with mlflow.start_run(run_name="loop") as run:
        mlflow.log_param("long_value", "v" * 3000)
        mlflow.log_param(
            "estimator_repr", "Pipeline(steps=[" + ", ".join(f"('step{i}', Transformer{i}())" for i in range(40)) + "])"
        )
        for step in range(120):
            mlflow.log_metric("loss", 50000 + step * 0.01, step=step)  # ticks like "50000.2"
            if step % 20 == 0:
                mlflow.log_metric("system/cpu_utilization_percentage", 40 + step / 10, step=step)
        mlflow.log_table({"question": ["a", "b", "c"], "score": [3, 10, 2]}, artifact_file="eval_table.json")
        loop = run.info.run_id
    print(json.dumps({"exp": exp_id, "sweep": sweep, "loop": loop, "model_id": model_id}), flush=True)


if __name__ == "__main__":
    main()
