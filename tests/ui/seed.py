"""Create UI test data through the MLflow REST API (works against aiotrack and mlflow server).

Usage as a script (for development):  python tests/ui/seed.py http://127.0.0.1:5055
"""

from __future__ import annotations

import json
import math
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class Api:
    def __init__(self, base: str):
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, body: dict | None = None, query: dict | None = None):
        url = f"{self.base}/api/2.0/mlflow/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path} -> {e.code}: {e.read()[:500]!r}") from None
        return json.loads(raw) if raw else {}

    def put_artifact(
        self, exp_id: str, run_id: str, path: str, content: bytes, ctype: str = "application/octet-stream"
    ):
        url = f"{self.base}/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/{path}"
        req = urllib.request.Request(url, data=content, method="PUT", headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()

    # helpers
    def create_experiment(self, name: str, tags: dict | None = None) -> str:
        body: dict = {"name": name}
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        return self.call("POST", "experiments/create", body)["experiment_id"]

    def create_run(self, exp_id: str, name: str, start: int, tags: dict | None = None) -> str:
        body = {
            "experiment_id": exp_id,
            "run_name": name,
            "start_time": start,
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
        }
        return self.call("POST", "runs/create", body)["run"]["info"]["run_id"]

    def log_batch(self, run_id: str, metrics=(), params=(), tags=()):
        self.call(
            "POST",
            "runs/log-batch",
            {"run_id": run_id, "metrics": list(metrics), "params": list(params), "tags": list(tags)},
        )

    def end_run(self, run_id: str, end: int, status: str = "FINISHED"):
        self.call("POST", "runs/update", {"run_id": run_id, "status": status, "end_time": end})


PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000100000001008020000009091683600000019"
    "49444154789c63fcff9f8108c0c4400c18d5306a18c20c00da3f1fe1f6e5d1fb0000000049454e44ae426082"
)


def _artifacts(api: Api, exp: str, c: str) -> None:
    api.put_artifact(exp, c, "notes.txt", b"hello artifacts\nline two\n", "text/plain")
    api.put_artifact(exp, c, "config.json", json.dumps({"lr": 0.001, "layers": [64, 128]}).encode(), "application/json")
    api.put_artifact(exp, c, "params.yaml", b"lr: 0.001\nbatch: 32\n", "application/x-yaml")
    api.put_artifact(exp, c, "eval/results.csv", b"epoch,acc,loss\n1,0.5,1.2\n2,0.7,0.8\n3,0.92,0.3\n", "text/csv")
    api.put_artifact(exp, c, "eval/README.md", b"# Eval\n\n- item one\n- item **two**\n", "text/markdown")
    api.put_artifact(exp, c, "plots/curve.png", PNG_1x1, "image/png")
    api.put_artifact(
        exp,
        c,
        "report.html",
        b"<html><body><h1 id='h'>Report</h1>"
        b"<script>document.title='pwned';parent.document.body.dataset.pwned='1'</script></body></html>",
        "text/html",
    )
    api.put_artifact(
        exp,
        c,
        "logo.svg",
        b"<svg xmlns='http://www.w3.org/2000/svg' width='40' height='40'>"
        b"<script>parent.document.body.dataset.pwned='1'</script>"
        b"<circle cx='20' cy='20' r='18' fill='teal'/></svg>",
        "image/svg+xml",
    )


def seed(base: str) -> dict:
    """Create a known data set and return ids the tests use."""
    api = Api(base)
    t0 = int(time.time() * 1000) - 3_600_000
    out: dict = {}
    exp = api.create_experiment(
        "vision-resnet", {"team": "vision", "mlflow.note.content": "ResNet sweeps on **CIFAR**."}
    )
    exp2 = api.create_experiment("nlp-bert")
    out["exp"] = exp
    out["exp2"] = exp2
    runs = {}
    for i, (name, lr, acc) in enumerate([("alpha", "0.1", 0.71), ("bravo", "0.01", 0.83), ("charlie", "0.001", 0.92)]):
        rid = api.create_run(
            exp,
            name,
            t0 + i * 60_000,
            {
                "mlflow.user": "alice" if i != 1 else "bob",
                "mlflow.source.name": "train.py",
                "mlflow.source.type": "LOCAL",
                "stage": "dev" if i < 2 else "prod",
            },
        )
        api.log_batch(
            rid,
            params=[
                {"key": "lr", "value": lr},
                {"key": "optimizer", "value": "adam" if i else "sgd"},
                {"key": "epochs", "value": "10"},
            ],
        )
        ms = []
        for step in range(200):
            v = acc * (1 - math.exp(-step / 30.0))
            if name == "bravo" and step == 120:
                v = 5.0  # a spike the downsampling must keep
            ms.append({"key": "accuracy", "value": v, "timestamp": t0 + i * 60_000 + step * 1000, "step": step})
            ms.append(
                {
                    "key": "loss",
                    "value": 2.0 * math.exp(-step / 40.0) + 0.05 * i,
                    "timestamp": t0 + i * 60_000 + step * 1000,
                    "step": step,
                }
            )
        for k in range(0, len(ms), 1000):
            api.log_batch(rid, metrics=ms[k : k + 1000])
        api.end_run(rid, t0 + i * 60_000 + 200_000)
        runs[name] = rid
    # a nested child of charlie, still running
    child = api.create_run(
        exp, "charlie-child", t0 + 300_000, {"mlflow.parentRunId": runs["charlie"], "mlflow.user": "alice"}
    )
    api.log_batch(
        child,
        params=[{"key": "lr", "value": "0.0005"}],
        metrics=[{"key": "accuracy", "value": 0.5, "timestamp": t0 + 300_000, "step": 0}],
    )
    runs["child"] = child
    # a deleted run
    gone = api.create_run(exp, "deleted-run", t0 + 400_000)
    api.end_run(gone, t0 + 410_000, "FAILED")
    api.call("POST", "runs/delete", {"run_id": gone})
    runs["deleted"] = gone
    out["runs"] = runs
    # description on charlie
    api.call(
        "POST",
        "runs/set-tag",
        {
            "run_id": runs["charlie"],
            "key": "mlflow.note.content",
            "value": "# Best run\n\nUses *cosine* schedule.\n\n<script>alert(1)</script>",
        },
    )
    # artifacts on charlie
    c = runs["charlie"]
    try:
        _artifacts(api, exp, c)
        out["artifacts"] = True
    except Exception as e:  # artifact proxy not implemented yet
        out["artifacts_error"] = repr(e)
    # run in second experiment
    r2 = api.create_run(exp2, "bert-base", t0, {"mlflow.user": "carol"})
    api.log_batch(
        r2, params=[{"key": "lr", "value": "3e-5"}], metrics=[{"key": "f1", "value": 0.88, "timestamp": t0, "step": 0}]
    )
    api.end_run(r2, t0 + 5000)
    runs["bert"] = r2
    # logged model (MLflow 3), then the registry
    try:
        lm = api.call(
            "POST",
            "logged-models",
            {"experiment_id": exp, "name": "model", "source_run_id": c, "model_type": "sklearn"},
        )
        out["logged_model"] = lm_id = lm["model"]["info"]["model_id"]
        try:
            url = f"{api.base}/api/2.0/mlflow-artifacts/artifacts/{exp}/models/{lm_id}/artifacts/"
            for name, body in (
                ("MLmodel", b"artifact_path: model\nflavors:\n  sklearn:\n    sklearn_version: 1.5.0\n"),
                ("requirements.txt", b"scikit-learn==1.5.0\n"),
            ):
                req = urllib.request.Request(url + name, data=body, method="PUT")
                with urllib.request.urlopen(req, timeout=30) as r:
                    r.read()
            out["logged_model_files"] = True
        except Exception as e:
            out["logged_model_files_error"] = repr(e)
    except Exception as e:  # logged models not implemented yet
        out["logged_model_error"] = str(e)
    # a dataset input and the logged model as an output of charlie
    try:
        api.call(
            "POST",
            "runs/log-inputs",
            {
                "run_id": c,
                "datasets": [
                    {
                        "tags": [{"key": "mlflow.data.context", "value": "training"}],
                        "dataset": {
                            "name": "cifar10",
                            "digest": "d1g35t",
                            "source_type": "local",
                            "source": "/data/cifar10",
                            "schema": "{}",
                            "profile": '{"num_rows": 50000}',
                        },
                    }
                ],
            },
        )
        out["datasets"] = True
        if "logged_model" in out:
            api.call("POST", "runs/outputs", {"run_id": c, "models": [{"model_id": out["logged_model"], "step": 0}]})
            out["outputs"] = True
    except Exception as e:
        out["inputs_error"] = str(e)
    # registry
    try:
        api.call(
            "POST",
            "registered-models/create",
            {
                "name": "resnet-classifier",
                "description": "Image classifier",
                "tags": [{"key": "domain", "value": "vision"}],
            },
        )
        # like the mlflow client: a logged model's version names it in source and model_id
        lm_id = out.get("logged_model")
        mv = api.call(
            "POST",
            "model-versions/create",
            {
                "name": "resnet-classifier",
                "run_id": c,
                "description": "first version",
                **(
                    {"source": f"models:/{lm_id}", "model_id": lm_id}
                    if lm_id
                    else {"source": f"mlflow-artifacts:/{exp}/{c}/artifacts/model"}
                ),
            },
        )
        api.call(
            "POST",
            "model-versions/create",
            {
                "name": "resnet-classifier",
                "source": f"mlflow-artifacts:/{exp}/{runs['bravo']}/artifacts/model",
                "run_id": runs["bravo"],
            },
        )
        api.call("POST", "registered-models/alias", {"name": "resnet-classifier", "alias": "champion", "version": "1"})
        api.call(
            "POST",
            "model-versions/set-tag",
            {"name": "resnet-classifier", "version": "1", "key": "validated", "value": "yes"},
        )
        out["model"] = "resnet-classifier"
        out["model_version"] = mv["model_version"]["version"]
    except Exception as e:  # registry not implemented yet
        out["registry_error"] = str(e)
    return out


def seed_many(base: str, n: int, name: str = "big-sweep", threads: int = 8) -> str:
    """An experiment with n finished runs (one param, one metric each), made with a few threads."""
    from concurrent.futures import ThreadPoolExecutor

    api = Api(base)
    exp = api.create_experiment(name)
    t0 = int(time.time() * 1000) - 10_000_000

    def one(i: int) -> None:
        rid = api.create_run(exp, f"run-{i:05d}", t0 + i * 1000, {"mlflow.user": "bot"})
        api.log_batch(
            rid,
            params=[{"key": "seed", "value": str(i)}],
            metrics=[{"key": "score", "value": (i * 7919) % 1000 / 1000.0, "timestamp": t0, "step": 0}],
        )
        api.end_run(rid, t0 + i * 1000 + 500)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    return exp


if __name__ == "__main__":
    print(json.dumps(seed(sys.argv[1]), indent=1))
    if len(sys.argv) > 2:
        print(seed_many(sys.argv[1], int(sys.argv[2])))
