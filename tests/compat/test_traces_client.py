"""The mlflow 3 client's tracing workflows, unchanged, against `aiotrack server` (SQLite and
PostgreSQL): spans logged over OTLP, trace infos, search, tags, deletion, links, assessments,
prompts, evaluation, and a plain OpenTelemetry SDK exporting to /v1/traces."""

from __future__ import annotations

import os
import time

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import AssessmentSource, AssessmentSourceType, SpanType
from mlflow.exceptions import MlflowException

# Warnings raised inside mlflow's tracer (the OpenTelemetry SDK's deprecated InstrumentationInfo on
# every tracer, pydantic's and mlflow's own notices from lazily imported modules) are swallowed by
# mlflow when they are errors (the suite's default), and tracing then silently turns itself off.
pytestmark = pytest.mark.filterwarnings("default")


@pytest.fixture(autouse=True)
def _sync_trace_logging(monkeypatch):
    # The client logs traces from a background queue by default; the tests read right after.
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")


@mlflow.trace(span_type=SpanType.CHAIN)
def pipeline(question: str) -> str:
    with mlflow.start_span("retrieve", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": question})
        span.set_outputs(["doc-1", "doc-2"])
        span.set_attribute("top_k", 2)
    with mlflow.start_span("generate", span_type=SpanType.LLM) as span:
        span.set_inputs({"messages": [{"role": "user", "content": question}]})
        span.set_attribute("model", "tiny-model")
        answer = f"answer to {question}"
        span.set_outputs(answer)
    return answer


@mlflow.trace
def failing(x: int) -> int:
    raise ValueError(f"bad {x}")


def _last_trace_id() -> str:
    trace_id = mlflow.get_last_active_trace_id()
    assert trace_id is not None
    return trace_id


def test_trace_spans_round_trip_through_the_tracking_store(client_env):
    exp_id = mlflow.set_experiment("traces-roundtrip").experiment_id
    assert pipeline("what is aiotrack?") == "answer to what is aiotrack?"
    trace_id = _last_trace_id()

    trace = mlflow.get_trace(trace_id)
    assert trace is not None
    info = trace.info
    assert info.trace_id == trace_id
    assert info.experiment_id == exp_id
    assert info.state.value == "OK"
    assert info.request_time > 0 and info.execution_duration is not None
    assert info.tags["mlflow.traceName"] == "pipeline"
    assert info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    assert info.tags["mlflow.artifactLocation"].endswith(f"/traces/{trace_id}/artifacts")
    assert '"question": "what is aiotrack?"' in info.request_preview
    assert "answer to" in info.response_preview

    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"pipeline", "retrieve", "generate"}
    root = spans["pipeline"]
    assert root.parent_id is None
    assert root.span_type == SpanType.CHAIN
    assert root.inputs == {"question": "what is aiotrack?"}
    assert root.outputs == "answer to what is aiotrack?"
    assert spans["retrieve"].parent_id == root.span_id
    assert spans["retrieve"].outputs == ["doc-1", "doc-2"]
    assert spans["retrieve"].attributes["top_k"] == 2
    assert spans["generate"].attributes["model"] == "tiny-model"
    assert spans["generate"].span_type == SpanType.LLM


def test_error_status_and_nested_start_span(client_env):
    mlflow.set_experiment("traces-errors")
    with pytest.raises(ValueError):
        failing(3)
    trace = mlflow.get_trace(_last_trace_id())
    assert trace.info.state.value == "ERROR"
    (span,) = trace.data.spans
    assert span.status.status_code.value == "ERROR"
    assert any(e.name == "exception" for e in span.events)

    with mlflow.start_span("outer") as outer:
        outer.set_inputs({"n": 1})
        with mlflow.start_span("middle"), mlflow.start_span("inner") as inner:
            inner.set_outputs({"ok": True})
    trace = mlflow.get_trace(_last_trace_id())
    by_name = {s.name: s for s in trace.data.spans}
    assert by_name["inner"].parent_id == by_name["middle"].span_id
    assert by_name["middle"].parent_id == by_name["outer"].span_id
    assert by_name["inner"].outputs == {"ok": True}


def test_search_traces_filters_order_and_pages(client_env):
    exp_id = mlflow.set_experiment("traces-search").experiment_id
    for i in range(7):
        pipeline(f"q{i}")
        MlflowClient().set_trace_tag(_last_trace_id(), "index", str(i))
        time.sleep(0.002)
    with pytest.raises(ValueError):
        failing(1)

    client = MlflowClient()
    everything = mlflow.search_traces(locations=[exp_id], return_type="list")
    assert len(everything) == 8
    times = [t.info.request_time for t in everything]
    assert times == sorted(times, reverse=True)
    assert all(len(t.data.spans) >= 1 for t in everything)

    errors = mlflow.search_traces(locations=[exp_id], filter_string="trace.status = 'ERROR'", return_type="list")
    assert [t.info.tags["mlflow.traceName"] for t in errors] == ["failing"]
    oks = client.search_traces(locations=[exp_id], filter_string="status = 'OK' AND tag.index = '2'")
    assert [t.info.tags["index"] for t in oks] == ["2"]
    named = client.search_traces(locations=[exp_id], filter_string="name = 'pipeline'")
    assert len(named) == 7
    previews = client.search_traces(locations=[exp_id], filter_string="request_preview LIKE '%q3%'")
    assert [t.info.tags["index"] for t in previews] == ["3"]
    by_span = client.search_traces(
        locations=[exp_id], filter_string="span.name = 'retrieve' AND span.type = 'RETRIEVER'"
    )
    assert len(by_span) == 7
    by_attr = client.search_traces(locations=[exp_id], filter_string="span.attributes.model = 'tiny-model'")
    assert len(by_attr) == 7
    text = client.search_traces(locations=[exp_id], filter_string="trace.text LIKE '%answer to q5%'")
    assert [t.info.tags["index"] for t in text] == ["5"]
    slow_first = client.search_traces(locations=[exp_id], order_by=["execution_time DESC"])
    durations = [t.info.execution_duration for t in slow_first]
    assert durations == sorted(durations, reverse=True)
    recent = client.search_traces(locations=[exp_id], filter_string=f"timestamp_ms > {times[-1]}")
    assert len(recent) == 7

    page1 = client.search_traces(locations=[exp_id], max_results=3, order_by=["timestamp ASC"])
    assert len(page1) == 3 and page1.token
    page2 = client.search_traces(locations=[exp_id], max_results=3, order_by=["timestamp ASC"], page_token=page1.token)
    page3 = client.search_traces(locations=[exp_id], max_results=3, order_by=["timestamp ASC"], page_token=page2.token)
    ids = [t.info.trace_id for t in [*page1, *page2, *page3]]
    assert len(ids) == len(set(ids)) == 8
    assert not page3.token

    df = mlflow.search_traces(locations=[exp_id], filter_string="name = 'pipeline'")
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 7
    assert {"trace_id", "request", "response", "spans"} <= set(df.columns)

    with pytest.raises(MlflowException, match="Invalid"):
        client.search_traces(locations=[exp_id], filter_string="nonsense.key = 'x'")


def test_tags_delete_and_link_to_run(client_env):
    exp_id = mlflow.set_experiment("traces-tags").experiment_id
    client = MlflowClient()
    pipeline("tag me")
    trace_id = _last_trace_id()
    client.set_trace_tag(trace_id, "reviewed", "yes")
    assert client.get_trace(trace_id).info.tags["reviewed"] == "yes"
    client.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in client.get_trace(trace_id).info.tags

    with mlflow.start_run() as run:
        pipeline("inside a run")
        in_run = _last_trace_id()
    assert client.get_trace(in_run).info.trace_metadata["mlflow.sourceRun"] == run.info.run_id
    linked = client.search_traces(locations=[exp_id], filter_string=f"run_id = '{run.info.run_id}'")
    assert [t.info.trace_id for t in linked] == [in_run]

    with mlflow.start_run() as other:
        pass
    client.link_traces_to_run([trace_id], other.info.run_id)
    linked = client.search_traces(locations=[exp_id], filter_string=f"run_id = '{other.info.run_id}'")
    assert [t.info.trace_id for t in linked] == [trace_id]

    assert client.delete_traces(exp_id, trace_ids=[trace_id]) == 1
    with pytest.raises(MlflowException):
        client.get_trace(trace_id)
    pipeline("old one")
    assert client.delete_traces(exp_id, max_timestamp_millis=int(time.time() * 1000) + 1000, max_traces=10) == 2
    assert client.search_traces(locations=[exp_id]) == []


def test_assessments_feedback_and_expectations(client_env):
    mlflow.set_experiment("traces-assessments")
    pipeline("judge me")
    trace_id = _last_trace_id()
    human = AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="alice")
    fb = mlflow.log_feedback(trace_id=trace_id, name="correct", value=True, source=human, rationale="looks right")
    ex = mlflow.log_expectation(trace_id=trace_id, name="expected", value={"answer": "42"}, source=human)
    assert fb.assessment_id.startswith("a-")

    got = mlflow.get_assessment(trace_id, fb.assessment_id)
    assert got.value is True and got.rationale == "looks right" and got.source.source_id == "alice"
    assert mlflow.get_assessment(trace_id, ex.assessment_id).value == {"answer": "42"}

    updated = mlflow.update_assessment(
        trace_id=trace_id,
        assessment_id=fb.assessment_id,
        assessment=mlflow.entities.Feedback(name="correct", value=False, rationale="on second look"),
    )
    assert updated.value is False and updated.rationale == "on second look"

    override = mlflow.override_feedback(
        trace_id=trace_id, assessment_id=fb.assessment_id, value=True, rationale="overruled"
    )
    assert mlflow.get_assessment(trace_id, fb.assessment_id).valid is False
    trace = mlflow.get_trace(trace_id)
    names = sorted(a.name for a in trace.info.assessments)
    assert names == ["correct", "correct", "expected"]

    client = MlflowClient()
    exp_id = trace.info.experiment_id
    assert len(client.search_traces(locations=[exp_id], filter_string="feedback.correct = 'true'")) == 1
    assert len(client.search_traces(locations=[exp_id], filter_string="feedback.missing IS NULL")) == 1

    mlflow.delete_assessment(trace_id, override.assessment_id)
    assert mlflow.get_assessment(trace_id, fb.assessment_id).valid is True
    mlflow.delete_assessment(trace_id, ex.assessment_id)
    with pytest.raises(MlflowException):
        mlflow.get_assessment(trace_id, ex.assessment_id)


def test_prompts_linked_to_traces(client_env):
    mlflow.set_experiment("traces-prompts")
    prompt = mlflow.genai.register_prompt(name="qa-prompt", template="Answer {{question}}")

    @mlflow.trace
    def use_prompt(question: str) -> str:
        loaded = mlflow.genai.load_prompt(f"prompts:/qa-prompt/{prompt.version}")
        return loaded.format(question=question)

    use_prompt("why")
    trace_id = _last_trace_id()
    deadline = time.time() + 10
    linked = None
    while time.time() < deadline:
        linked = mlflow.get_trace(trace_id).info.tags.get("mlflow.linkedPrompts")
        if linked:
            break
        time.sleep(0.2)
    assert linked is not None and "qa-prompt" in linked

    MlflowClient().link_prompt_versions_to_trace([prompt], trace_id)  # idempotent
    exp_id = mlflow.get_trace(trace_id).info.experiment_id
    found = MlflowClient().search_traces(locations=[exp_id], filter_string="prompt LIKE '%qa-prompt%'")
    assert [t.info.trace_id for t in found] == [trace_id]


def test_genai_evaluate_with_a_code_scorer(client_env):
    from mlflow.genai.scorers import scorer

    mlflow.set_experiment("traces-evaluate")

    @scorer
    def mentions_question(inputs, outputs) -> bool:
        return inputs["question"] in outputs

    data = [{"inputs": {"question": q}} for q in ("alpha", "beta", "gamma")]
    result = mlflow.genai.evaluate(data=data, predict_fn=pipeline, scorers=[mentions_question])
    assert result.metrics["mentions_question/mean"] == 1.0
    traces = mlflow.search_traces(run_id=result.run_id, return_type="list")
    assert len(traces) == 3
    for t in traces:
        assert [a.name for a in t.info.assessments if a.name == "mentions_question"] == ["mentions_question"]


def test_opentelemetry_sdk_exports_to_v1_traces(client_env, tracking_server):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import Status, StatusCode

    exp_id = MlflowClient().create_experiment("traces-otel-sdk")
    exporter = OTLPSpanExporter(endpoint=f"{tracking_server.url}/v1/traces", headers={"x-mlflow-experiment-id": exp_id})
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("handle-request") as root:
        root.set_attribute("http.method", "POST")
        with tracer.start_as_current_span("db-query") as child:
            child.set_attribute("db.rows", 3)
            child.set_status(Status(StatusCode.ERROR, "timeout"))
    provider.shutdown()

    (trace,) = MlflowClient().search_traces(locations=[exp_id])
    assert trace.info.state.value == "OK"
    assert trace.info.tags["service.name"] == "checkout"
    spans = {s.name: s for s in trace.data.spans}
    assert spans["db-query"].parent_id == spans["handle-request"].span_id
    assert spans["db-query"].attributes["db.rows"] == 3
    assert spans["db-query"].status.status_code.value == "ERROR"
    assert spans["handle-request"].attributes["http.method"] == "POST"


from test_mlflow2_client import mlflow2_python  # noqa: E402,F401  (the cached 2.x client venv fixture)

# mlflow 2.x's span processor breaks on OpenTelemetry SDKs from 1.34 on (it never calls their
# __init__, and they grew a `_shutdown` flag): its traces would silently never be exported.
MLFLOW2_OTEL = ("opentelemetry-sdk==1.33.1", "opentelemetry-api==1.33.1")


def test_mlflow2_client_traces_through_the_v2_routes(mlflow2_python, tracking_server):  # noqa: F811
    import subprocess
    from pathlib import Path

    check = [str(mlflow2_python), "-c", "import opentelemetry.sdk.version as v; print(v.__version__)"]
    if subprocess.run(check, capture_output=True, text=True).stdout.strip() != "1.33.1":
        pip = [str(mlflow2_python), "-m", "pip", "install", "-q", *MLFLOW2_OTEL]
        subprocess.run(pip, capture_output=True, text=True, timeout=600, check=True)

    script = Path(__file__).with_name("mlflow2_traces_workflow.py")
    env = {**os.environ, "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false"}
    done = subprocess.run(
        [str(mlflow2_python), str(script), tracking_server.url], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stdout + done.stderr + tracking_server.log()[-3000:]
    assert done.stdout.strip().endswith("OK")
