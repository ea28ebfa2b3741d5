"""The mlflow client's model, registry and prompt workflows, unchanged, against `aiotrack server`
(SQLite and PostgreSQL; artifacts proxied to a local directory)."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

sklearn = pytest.importorskip("sklearn")

# The mlflow client's own warnings (type-hint inference, deprecated stages API, pydantic) are not
# about the server; everything else still fails the test.
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def _pyfunc_model():
    import mlflow.pyfunc

    class AddN(mlflow.pyfunc.PythonModel):
        def __init__(self, n):
            self.n = n

        def predict(self, context, model_input, params=None):
            return model_input.apply(lambda column: column + self.n)

    return AddN(5)


def test_log_load_register_and_manage_models(client_env):
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    y = np.array([0, 1, 0, 1])
    clf = LogisticRegression().fit(X, y)
    mlflow.set_experiment("compat-models")
    with mlflow.start_run() as run:
        sk_info = mlflow.sklearn.log_model(clf, name="model")
        py_info = mlflow.pyfunc.log_model(name="adder", python_model=_pyfunc_model())
        mlflow.log_metric("acc", 0.9, model_id=sk_info.model_id)
    run_id = run.info.run_id
    client = MlflowClient()

    # Logged models: ids, locations and status as MLflow makes them.
    logged = client.get_logged_model(sk_info.model_id)
    assert logged.model_id.startswith("m-") and logged.status.to_int() == 2  # READY
    assert logged.artifact_location.endswith(f"/models/{sk_info.model_id}/artifacts")
    assert logged.source_run_id == run_id
    assert [m.key for m in logged.metrics] == ["acc"]
    found = client.search_logged_models(experiment_ids=[run.info.experiment_id], filter_string="name = 'model'")
    assert [m.model_id for m in found] == [sk_info.model_id]

    expected = clf.predict(X)
    for uri in (f"runs:/{run_id}/model", f"models:/{sk_info.model_id}", sk_info.model_uri):
        assert (mlflow.sklearn.load_model(uri).predict(X) == expected).all(), uri
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    for uri in (f"runs:/{run_id}/adder", f"models:/{py_info.model_id}"):
        assert mlflow.pyfunc.load_model(uri).predict(frame)["a"].tolist() == [6.0, 7.0], uri

    # Register twice: the second call finds the model (RESOURCE_ALREADY_EXISTS) and adds version 2.
    v1 = mlflow.register_model(f"runs:/{run_id}/model", "compat-clf")
    v2 = mlflow.register_model(f"models:/{sk_info.model_id}", "compat-clf")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.run_id == run_id
    for uri in ("models:/compat-clf/1", "models:/compat-clf/2"):
        assert (mlflow.sklearn.load_model(uri).predict(X) == expected).all(), uri

    client.set_registered_model_alias("compat-clf", "champion", "2")
    assert client.get_model_version_by_alias("compat-clf", "champion").version == "2"
    assert (mlflow.pyfunc.load_model("models:/compat-clf@champion").predict(X) == expected).all()
    assert client.get_registered_model("compat-clf").aliases == {"champion": "2"}
    client.delete_registered_model_alias("compat-clf", "champion")
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias("compat-clf", "champion")

    client.set_model_version_tag("compat-clf", "1", "validated", "yes")
    assert client.get_model_version("compat-clf", "1").tags == {"validated": "yes"}
    client.delete_model_version_tag("compat-clf", "1", "validated")
    assert client.get_model_version("compat-clf", "1").tags == {}

    client.transition_model_version_stage("compat-clf", "1", "Production")
    client.transition_model_version_stage("compat-clf", "2", "Production", archive_existing_versions=True)
    assert client.get_model_version("compat-clf", "1").current_stage == "Archived"
    latest = client.get_latest_versions("compat-clf", stages=["Production"])
    assert [v.version for v in latest] == ["2"]

    uri = client.get_model_version_download_uri("compat-clf", "2")
    assert uri == logged.artifact_location

    client.update_registered_model("compat-clf", description="classifier")
    assert client.get_registered_model("compat-clf").description == "classifier"
    client.rename_registered_model("compat-clf", "compat-clf-renamed")
    assert client.get_model_version("compat-clf-renamed", "2").current_stage == "Production"

    # The logged model records its registrations.
    tags = client.get_logged_model(sk_info.model_id).tags
    assert "mlflow.modelVersions" in tags

    client.delete_model_version("compat-clf-renamed", "1")
    with pytest.raises(MlflowException) as err:
        client.get_model_version("compat-clf-renamed", "1")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    client.delete_registered_model("compat-clf-renamed")
    with pytest.raises(MlflowException) as err:
        client.get_registered_model("compat-clf-renamed")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_registry_search_and_paging(client_env):
    client = MlflowClient()
    run = client.create_run(client.create_experiment("compat-search"))
    run_id = run.info.run_id
    for i in range(7):
        client.create_registered_model(f"search-{i}", tags={"parity": "even" if i % 2 == 0 else "odd"})
        client.create_model_version(f"search-{i}", f"runs:/{run_id}/m", run_id=run_id)
    with pytest.raises(MlflowException) as err:
        client.create_registered_model("search-0")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"

    page = client.search_registered_models(filter_string="name LIKE 'search-%'", max_results=3)
    names = [m.name for m in page]
    while page.token:
        page = client.search_registered_models(
            filter_string="name LIKE 'search-%'", max_results=3, page_token=page.token
        )
        names += [m.name for m in page]
    assert names == [f"search-{i}" for i in range(7)]
    even = client.search_registered_models(filter_string="tags.parity = 'even'", order_by=["name DESC"])
    assert [m.name for m in even] == ["search-6", "search-4", "search-2", "search-0"]
    versions = client.search_model_versions(f"run_id = '{run_id}' AND name IN ('search-1', 'search-2')")
    assert sorted(v.name for v in versions) == ["search-1", "search-2"]
    page = client.search_model_versions(f"run_id = '{run_id}'", max_results=4, order_by=["name ASC"])
    assert [v.name for v in page] == [f"search-{i}" for i in range(4)] and page.token
    with pytest.raises(MlflowException) as err:
        client.search_registered_models(filter_string="name = 'a' OR name = 'b'")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as err:
        client.create_model_version("search-0", "mlflow-artifacts:/../../etc/passwd", run_id=run_id)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_prompt_registry(client_env):
    import mlflow
    import mlflow.genai

    p1 = mlflow.genai.register_prompt(name="qa-prompt", template="Answer: {{question}}", commit_message="first")
    p2 = mlflow.genai.register_prompt(name="qa-prompt", template="Answer briefly: {{question}}")
    assert (p1.version, p2.version) == (1, 2)
    mlflow.genai.set_prompt_alias("qa-prompt", alias="production", version=1)
    by_alias = mlflow.genai.load_prompt("prompts:/qa-prompt@production")
    assert by_alias.version == 1 and by_alias.template == "Answer: {{question}}"
    by_version = mlflow.genai.load_prompt("prompts:/qa-prompt/2")
    assert by_version.template == "Answer briefly: {{question}}"
    assert by_version.format(question="why?") == "Answer briefly: why?"
    # Prompts stay out of model searches.
    assert "qa-prompt" not in [m.name for m in MlflowClient().search_registered_models()]
