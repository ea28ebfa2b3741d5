"""MLflow's validation rules and limits (mlflow/utils/validation.py), as pure functions.

Each check raises AiotrackError(INVALID_PARAMETER_VALUE) with MLflow's wording, so clients
that match on messages keep working.
"""

from __future__ import annotations

import logging
import math
import posixpath
import re
from typing import Literal, overload

import orjson

from aiotrack.errors import invalid

# MLflow's limits live in aiotrack/names.py.
from aiotrack.names import (
    FLOAT_MAX,
    MAX_ENTITIES_PER_BATCH,
    MAX_ENTITY_KEY_LENGTH,
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
)

log = logging.getLogger("aiotrack.validation")

_NAME_RE = re.compile(r"^[/\w.\- :]*$")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_BAD_CHARACTERS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), "
    "colon(:) and slashes (/)."
)


def _json_value(value: object) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return repr(value)


def invalid_value(path: str, value: object, message: str | None = None) -> str:
    shown = _json_value(value)
    if message:
        return f"Invalid value {shown} for parameter '{path}' supplied: {message}"
    return f"Invalid value {shown} for parameter '{path}' supplied."


def missing_value(path: str) -> str:
    return f"Missing value for required parameter '{path}'."


def exceeds_maximum_length(path: str, limit: int) -> str:
    return f"'{path}' exceeds the maximum length of {limit} characters"


def _path_not_unique(name: str) -> bool:
    norm = posixpath.normpath(name)
    return norm != name or norm == "." or norm.startswith("..") or norm.startswith("/")


def validate_key(name: object, path: str, *, what: str = "key") -> str:
    """Metric, param and tag names: MLflow's character set, and no name that resolves to another."""
    if name is None:
        raise invalid(invalid_value(path, "", "A key name must be provided."))
    if not isinstance(name, str):
        raise invalid(invalid_value(path, name, "Expected a string."))
    if not _NAME_RE.match(name):
        raise invalid(invalid_value(path, name, _BAD_CHARACTERS))
    if _path_not_unique(name):
        raise invalid(
            invalid_value(
                path,
                name,
                "Names may be treated as files in certain cases, and must not resolve to other names when "
                f"treated as such. This name would resolve to {posixpath.normpath(name)!r}",
            )
        )
    if len(name) > MAX_ENTITY_KEY_LENGTH:
        raise invalid(exceeds_maximum_length(what, MAX_ENTITY_KEY_LENGTH))
    return name


@overload
def limit_length(value: str, limit: int, name: str, *, truncate: bool) -> str: ...
@overload
def limit_length(value: str | None, limit: int, name: str, *, truncate: bool) -> str | None: ...
def limit_length(value: str | None, limit: int, name: str, *, truncate: bool) -> str | None:
    if value is None or len(value) <= limit:
        return value
    if truncate:
        # MLflow truncates long param and tag values too, and says so in its log.
        log.warning(
            "%s '%s...' (%d characters) is truncated to %d characters to meet the length limit.",
            name,
            value[:100],
            len(value),
            limit,
        )
        return value[:limit]
    raise invalid(exceeds_maximum_length(name, limit))


def validate_run_id(run_id: object, path: str = "run_id") -> str:
    if not isinstance(run_id, str) or not run_id:
        raise invalid(missing_value(path))
    if not _RUN_ID_RE.match(run_id):
        raise invalid(invalid_value(path, run_id))
    return run_id


def validate_experiment_name(name: object) -> str:
    if name is None or name == "":
        raise invalid(f"Invalid experiment name: '{name or ''}'")
    if not isinstance(name, str):
        raise invalid(f"Invalid experiment name: {name}. Expects a string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise invalid(exceeds_maximum_length("name", MAX_EXPERIMENT_NAME_LENGTH))
    return name


def validate_batch_limits(n_metrics: int, n_params: int, n_tags: int) -> None:
    for entity, limit, count in (
        ("metrics", MAX_METRICS_PER_BATCH, n_metrics),
        ("params", MAX_PARAMS_TAGS_PER_BATCH, n_params),
        ("tags", MAX_PARAMS_TAGS_PER_BATCH, n_tags),
        ("metrics, params, and tags", MAX_ENTITIES_PER_BATCH, n_metrics + n_params + n_tags),
    ):
        if count > limit:
            raise invalid(
                f"A batch logging request can contain at most {limit} {entity}. Got {count} {entity}. "
                f"Please split up {entity} across multiple requests and try again."
            )


def encode_metric_value(value: object, path: str, timestamp: object) -> tuple[float, bool]:
    """A metric value as the store keeps it: (value, is_nan); infinities become +/-FLOAT_MAX."""
    if value is None:
        raise invalid(missing_value(path))
    if isinstance(value, str):
        text = value.strip()
        lowered = text.lower()
        if lowered == "nan":
            return 0.0, True
        if lowered in ("infinity", "inf", "+infinity", "+inf"):
            return FLOAT_MAX, False
        if lowered in ("-infinity", "-inf"):
            return -FLOAT_MAX, False
        try:
            value = float(text)
        except ValueError:
            raise invalid(
                invalid_value(
                    path,
                    value,
                    f"(timestamp={timestamp}). Please specify value as a valid double (64-bit floating point)",
                )
            ) from None
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid(
            invalid_value(
                path,
                value,
                f"(timestamp={timestamp}). Please specify value as a valid double (64-bit floating point)",
            )
        )
    value = float(value)
    if math.isnan(value):
        return 0.0, True
    if math.isinf(value):
        return (FLOAT_MAX if value > 0 else -FLOAT_MAX), False
    return value, False


_FLOAT_EXACT_INT = 2**53


@overload
def parse_int64(value: object, path: str, *, required: Literal[True], default: int | None = None) -> int: ...
@overload
def parse_int64(value: object, path: str, *, required: bool = False, default: int) -> int: ...
@overload
def parse_int64(value: object, path: str, *, required: bool = False, default: None = None) -> int | None: ...
@overload
def parse_int64(value: object, path: str, *, required: bool = False, default: int | None = None) -> int | None: ...
def parse_int64(value: object, path: str, *, required: bool = False, default: int | None = None) -> int | None:
    """int64 fields arrive as JSON numbers, or as strings (proto JSON); accept both."""
    if value is None:
        if required:
            raise invalid(missing_value(path))
        return default
    if isinstance(value, bool):
        raise invalid(invalid_value(path, value))
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and value.is_integer() and abs(value) < _FLOAT_EXACT_INT:
        # A JSON integer outside int64 arrives as a float (orjson): one beyond 2**53 is not an
        # exact integer, so refuse it rather than round it into range (-2**63 - 1 is not -2**63).
        result = int(value)
    elif isinstance(value, str):
        try:
            result = int(value.strip())
        except ValueError:
            raise invalid(invalid_value(path, value)) from None
    else:
        raise invalid(invalid_value(path, value))
    if not -(2**63) <= result < 2**63:
        raise invalid(invalid_value(path, value))
    return result
