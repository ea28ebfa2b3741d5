"""Traces logged by the real mlflow 3 client (nested spans, an error, a large input, a run link,
assessments) and a bulk of OTLP spans from one export, for the traces pages' browser tests.

Run as a script with MLFLOW_TRACKING_URI set; prints one JSON line with the ids.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.request
import warnings

import mlflow
from mlflow.entities import AssessmentSource, AssessmentSourceType, SpanType
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

BULK = 1100  # more than two pages of the traces table (500 a page)


@mlflow.trace(span_type=SpanType.CHAIN)
def rag(question: str) -> str:
    with mlflow.start_span("retrieve", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": question})
        span.set_outputs([{"doc": "refund policy", "score": 0.91}])
    with mlflow.start_span("generate", span_type=SpanType.LLM) as span:
        span.set_inputs({"messages": [{"role": "user", "content": question}]})
        span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 12, "output_tokens": 30, "total_tokens": 42})
        span.set_outputs(f"answer to {question}")
    return f"answer to {question}"


@mlflow.trace
def failing(x: int) -> int:
    raise ValueError(f"bad input {x}")


def bulk_otlp(base: str, exp_id: str) -> None:
    spans = []
    for i in range(BULK):
        spans.append(
            Span(
                trace_id=(i + 1).to_bytes(16, "big"),
                span_id=(i + 1).to_bytes(8, "big"),
                name=f"bulk-{i}",
                start_time_unix_nano=1_700_000_000_000_000_000 + i * 1_000_000,
                end_time_unix_nano=1_700_000_000_000_000_000 + i * 1_000_000 + 500_000,
                attributes=[KeyValue(key="i", value=AnyValue(int_value=i))],
            )
        )
    body = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])])
    req = urllib.request.Request(
        base + "/v1/traces",
        data=body.SerializeToString(),
        method="POST",
        headers={"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": exp_id},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()


def main() -> None:
    warnings.filterwarnings("ignore")
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    exp_id = mlflow.set_experiment("traces-demo").experiment_id
    with mlflow.start_run(run_name="traced-run") as run:
        rag("how do refunds work?")
        in_run = mlflow.get_last_active_trace_id()
    rag("x" * 200_000)  # a span with a large input
    big = mlflow.get_last_active_trace_id()
    with contextlib.suppress(ValueError):
        failing(7)
    failed = mlflow.get_last_active_trace_id()
    mlflow.log_feedback(
        trace_id=in_run,
        name="correct",
        value=True,
        rationale="matches the policy",
        source=AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id="reviewer"),
    )
    mlflow.log_expectation(trace_id=in_run, name="expected_answer", value="refunds take 5 days")
    bulk_exp = mlflow.create_experiment("traces-bulk")
    bulk_otlp(os.environ["MLFLOW_TRACKING_URI"], bulk_exp)
    print(
        json.dumps(
            {
                "exp": exp_id,
                "run": run.info.run_id,
                "in_run": in_run,
                "big": big,
                "failed": failed,
                "bulk_exp": bulk_exp,
                "bulk": BULK,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
