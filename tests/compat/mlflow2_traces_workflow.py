"""Run by test_traces_client.py with an mlflow 2.x client: tracing through the v2 trace routes
(start, end, info, search, tags, delete) and spans uploaded as traces.json. argv[1] is the URL."""

import sys

import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
exp_id = mlflow.set_experiment("mlflow2-traces").experiment_id


@mlflow.trace
def add(a, b):
    with mlflow.start_span("inner") as span:
        span.set_inputs({"a": a})
        span.set_outputs(a + b)
    return a + b


assert add(1, 2) == 3
client = MlflowClient()
(found,) = client.search_traces([exp_id])
request_id = found.info.request_id
assert found.info.status.value == "OK", found.info
trace = client.get_trace(request_id)
names = sorted(s.name for s in trace.data.spans)
assert names == ["add", "inner"], names
assert trace.data.spans[0].inputs is not None
client.set_trace_tag(request_id, "checked", "yes")
assert client.get_trace(request_id).info.tags["checked"] == "yes"
client.delete_trace_tag(request_id, "checked")
assert "checked" not in client.get_trace(request_id).info.tags
assert client.delete_traces(exp_id, request_ids=[request_id]) == 1
assert client.search_traces([exp_id]) == []
print("OK")
