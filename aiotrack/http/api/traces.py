"""MLflow's trace REST API (v3, and the v2 routes a 2.x client uses), assessments, links, and the
UI's get-trace-artifact. Paths are MLflow's, so route-based permission tables map them."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from aiotrack.errors import BAD_REQUEST, AiotrackError, invalid
from aiotrack.http import keys
from aiotrack.http.codec import JSON, Args, empty_response, json_response, read_args
from aiotrack.http.routing import Routes
from aiotrack.services import validation as v
from aiotrack.services.traces import TraceService, trace_info_v2, trace_info_v3

routes = Routes()


def _service(request: web.Request) -> TraceService:
    service: TraceService = request.app[keys.TRACES]
    return service


def _trace_id(request: web.Request, name: str = "trace_id") -> str:
    return request.match_info[name]


async def _args_any(request: web.Request) -> Args:
    """DELETE carries its fields in the query string or a JSON body (clients differ)."""
    if request.method == "DELETE" and not request.can_read_body:
        return Args(query=request.query)
    return await read_args(request)


def _finite(x: float) -> float | str:
    return "NaN" if math.isnan(x) else x


# --------------------------------------------------------------------------- v3: create and read


@routes.post("3.0/mlflow/traces")
async def start_trace_v3(request: web.Request) -> web.Response:
    args = await read_args(request)
    if args.raw("trace") is None:
        raise invalid(v.missing_value("trace"))
    info = await _service(request).start_trace_v3(args.raw("trace"))
    return json_response({"trace": {"trace_info": info}})


@routes.get("3.0/mlflow/traces/get")
async def get_trace(request: web.Request) -> web.Response:
    args = await read_args(request)
    trace_id = args.str("trace_id", required=True)
    assert trace_id is not None
    trace = await _service(request).get_trace(trace_id, args.bool("allow_partial"))
    return json_response({"trace": trace})


@routes.get("3.0/mlflow/traces/batchGet")
async def batch_get_traces(request: web.Request) -> web.Response:
    args = await read_args(request)
    ids = args.str_list("trace_ids")
    if not ids:
        raise invalid(v.missing_value("trace_ids"))
    exp = args.str_list("experiment_ids") if "experiment_ids" in request.query else None
    traces = await _service(request).batch_get_traces(ids, exp)
    return json_response({"traces": traces} if traces else {})


@routes.post("3.0/mlflow/traces/batchGetInfos", read_only=True)
async def batch_get_trace_infos(request: web.Request) -> web.Response:
    args = await read_args(request)
    ids = args.str_list("trace_ids")
    if not ids:
        raise invalid(v.missing_value("trace_ids"))
    exp = args.str_list("experiment_ids") if args.raw("experiment_ids") is not None else None
    infos = await _service(request).batch_get_trace_infos(ids, exp)
    return json_response({"trace_infos": infos} if infos else {})


@routes.post("3.0/mlflow/traces/search", read_only=True)
async def search_traces_v3(request: web.Request) -> web.Response:
    args = await read_args(request)
    locations = args.obj_list("locations")
    if args.raw("locations") is None:
        raise invalid(v.missing_value("locations"))
    experiment_ids = []
    for i, loc in enumerate(locations):
        exp = loc.get("mlflow_experiment")
        if isinstance(exp, dict):
            eid = exp.get("experiment_id")
            if not isinstance(eid, str):
                raise invalid(v.invalid_value(f"locations[{i}].mlflow_experiment.experiment_id", eid))
            experiment_ids.append(eid)
    infos, token = await _service(request).search_traces(
        experiment_ids,
        args.str("filter"),
        args.int("max_results"),
        args.str_list("order_by"),
        args.str("page_token"),
    )
    body: dict[str, Any] = {"traces": [trace_info_v3(i) for i in infos]} if infos else {}
    if token:
        body["next_page_token"] = token
    return json_response(body)


@routes.post("3.0/mlflow/traces/delete-traces")
async def delete_traces_v3(request: web.Request) -> web.Response:
    return await _delete_traces(request)


@routes.post("3.0/mlflow/traces/calculate-filter-correlation", read_only=True)
async def calculate_filter_correlation(request: web.Request) -> web.Response:
    args = await read_args(request)
    result = await _service(request).filter_correlation(
        args.str_list("experiment_ids"), args.str("filter_string1"), args.str("filter_string2"), args.str("base_filter")
    )
    result["npmi"] = _finite(result["npmi"])
    result["npmi_smoothed"] = _finite(result["npmi_smoothed"])
    return json_response(result)


@routes.post("3.0/mlflow/traces/metrics", read_only=True)
async def query_trace_metrics(request: web.Request) -> web.Response:
    args = await read_args(request)
    points, token = await _service(request).query_metrics(
        args.str_list("experiment_ids"),
        args.raw("view_type"),
        args.str("metric_name"),
        args.obj_list("aggregations"),
        args.str_list("dimensions"),
        args.str_list("filters"),
        args.int("time_interval_seconds"),
        args.int("start_time_ms"),
        args.int("end_time_ms"),
        args.int("max_results"),
        args.str("page_token"),
    )
    body: dict[str, Any] = {"data_points": points} if points else {}
    if token:
        body["next_page_token"] = token
    return json_response(body)


@routes.patch("3.0/mlflow/traces/{trace_id}/tags")
async def set_trace_tag_v3(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _service(request).set_trace_tag(_trace_id(request), args.str("key", required=True), args.str("value"))
    return empty_response()


@routes.delete("3.0/mlflow/traces/{trace_id}/tags")
async def delete_trace_tag_v3(request: web.Request) -> web.Response:
    args = await _args_any(request)
    await _service(request).delete_trace_tag(_trace_id(request), args.str("key", required=True))
    return empty_response()


# --------------------------------------------------------------------------- assessments


@routes.post("3.0/mlflow/traces/{trace_id}/assessments")
async def create_assessment(request: web.Request) -> web.Response:
    args = await read_args(request)
    if args.raw("assessment") is None:
        raise invalid(v.missing_value("assessment"))
    assessment = await _service(request).create_assessment(_trace_id(request), args.raw("assessment"))
    return json_response({"assessment": assessment})


@routes.get("3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}")
async def get_assessment(request: web.Request) -> web.Response:
    assessment = await _service(request).get_assessment(_trace_id(request), request.match_info["assessment_id"])
    return json_response({"assessment": assessment})


@routes.patch("3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}")
async def update_assessment(request: web.Request) -> web.Response:
    args = await read_args(request)
    if args.raw("assessment") is None:
        raise invalid(v.missing_value("assessment"))
    if args.raw("update_mask") is None:
        raise invalid(v.missing_value("update_mask"))
    assessment = await _service(request).update_assessment(
        _trace_id(request), request.match_info["assessment_id"], args.raw("assessment"), args.raw("update_mask")
    )
    return json_response({"assessment": assessment})


@routes.delete("3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}")
async def delete_assessment(request: web.Request) -> web.Response:
    await _service(request).delete_assessment(_trace_id(request), request.match_info["assessment_id"])
    return empty_response()


@routes.get("3.0/mlflow/traces/{trace_id}")
async def get_trace_info_v3(request: web.Request) -> web.Response:
    info = await _service(request).get_trace_info(_trace_id(request))
    return json_response({"trace": {"trace_info": trace_info_v3(info)}})


# --------------------------------------------------------------------------- v2 and shared


async def _delete_traces(request: web.Request) -> web.Response:
    args = await read_args(request)
    deleted = await _service(request).delete_traces(
        args.str("experiment_id", required=True),
        args.int("max_timestamp_millis"),
        args.int("max_traces"),
        args.str_list("request_ids"),
    )
    return json_response({"traces_deleted": deleted})


@routes.post("2.0/mlflow/traces/delete-traces")
async def delete_traces(request: web.Request) -> web.Response:
    return await _delete_traces(request)


@routes.post("2.0/mlflow/traces/link-to-run")
async def link_traces_to_run(request: web.Request) -> web.Response:
    args = await read_args(request)
    tracking = request.app[keys.TRACKING]

    async def run_exists(run_id: str) -> None:
        await tracking.store.get_run_info(run_id)

    ids = args.str_list("trace_ids")
    if args.raw("trace_ids") is None:
        raise invalid(v.missing_value("trace_ids"))
    await _service(request).link_traces_to_run(ids, args.str("run_id", required=True), run_exists)
    return empty_response()


@routes.post("2.0/mlflow/traces/link-prompts")
async def link_prompts_to_trace(request: web.Request) -> web.Response:
    args = await read_args(request)
    if args.raw("prompt_versions") is None:
        raise invalid(v.missing_value("prompt_versions"))
    await _service(request).link_prompts_to_trace(args.str("trace_id", required=True), args.obj_list("prompt_versions"))
    return empty_response()


@routes.post("2.0/mlflow/traces")
async def start_trace_v2(request: web.Request) -> web.Response:
    args = await read_args(request)
    info = await _service(request).start_trace_v2(
        args.str("experiment_id", required=True),
        args.int("timestamp_ms"),
        args.raw("request_metadata"),
        args.raw("tags"),
    )
    return json_response({"trace_info": info})


@routes.get("2.0/mlflow/traces")
async def search_traces_v2(request: web.Request) -> web.Response:
    args = await read_args(request)
    experiment_ids = args.str_list("experiment_ids")
    if not experiment_ids:
        raise invalid(v.missing_value("experiment_ids"))
    infos, token = await _service(request).search_traces(
        experiment_ids,
        args.str("filter"),
        args.int("max_results"),
        args.str_list("order_by"),
        args.str("page_token"),
        max_allowed=50_000,
    )
    body: dict[str, Any] = {"traces": [trace_info_v2(i) for i in infos]} if infos else {}
    if token:
        body["next_page_token"] = token
    return json_response(body)


@routes.patch("2.0/mlflow/traces/{request_id}/tags")
async def set_trace_tag(request: web.Request) -> web.Response:
    args = await read_args(request)
    await _service(request).set_trace_tag(
        _trace_id(request, "request_id"), args.str("key", required=True), args.str("value")
    )
    return empty_response()


@routes.delete("2.0/mlflow/traces/{request_id}/tags")
async def delete_trace_tag(request: web.Request) -> web.Response:
    args = await _args_any(request)
    await _service(request).delete_trace_tag(_trace_id(request, "request_id"), args.str("key", required=True))
    return empty_response()


@routes.get("2.0/mlflow/traces/{request_id}/info")
async def get_trace_info_v2(request: web.Request) -> web.Response:
    info = await _service(request).get_trace_info(_trace_id(request, "request_id"))
    return json_response({"trace_info": trace_info_v2(info)})


@routes.patch("2.0/mlflow/traces/{request_id}")
async def end_trace_v2(request: web.Request) -> web.Response:
    args = await read_args(request)
    info = await _service(request).end_trace_v2(
        _trace_id(request, "request_id"),
        args.int("timestamp_ms"),
        args.raw("status"),
        args.raw("request_metadata"),
        args.raw("tags"),
    )
    return json_response({"trace_info": info})


# --------------------------------------------------------------------------- the UI's span data


async def _trace_artifact(request: web.Request) -> web.Response:
    request_id = request.query.get("request_id")
    if not request_id:
        raise AiotrackError('Request must include the "request_id" query parameter.', BAD_REQUEST)
    if request.query.get("path"):
        raise invalid("Trace attachments are not served by aiotrack; only the trace data (no `path`).")
    data = await _service(request).trace_data_json(request_id)
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={"Content-Disposition": 'attachment; filename="traces.json"'},
    )


@routes.get("/ajax-api/2.0/mlflow/get-trace-artifact", api=False)
async def get_trace_artifact(request: web.Request) -> web.Response:
    return await _trace_artifact(request)


@routes.get("/ajax-api/3.0/mlflow/get-trace-artifact", api=False)
async def get_trace_artifact_v3(request: web.Request) -> web.Response:
    return await _trace_artifact(request)


__all__ = ["JSON", "routes"]
