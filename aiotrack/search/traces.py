"""MLflow's trace filter and order_by language (``SearchTraceUtils`` in 3.17) -> Comparisons.

The surface syntax is the one of every MLflow search (``aiotrack.search.parser``); what differs
for traces is what an identifier may name:

- attributes (bare, or ``attribute.``/``attributes.``/``trace.``): ``request_id``,
  ``client_request_id``, ``status`` (also ``state``), ``timestamp[_ms]``, ``execution_time[_ms]``,
  ``end_time[_ms]`` (numeric), and the mapped keys ``name`` (the ``mlflow.traceName`` tag),
  ``run_id`` (``mlflow.sourceRun`` metadata, or a run the trace is linked to), ``prompt``
  (the ``mlflow.linkedPrompts`` tag) and ``text`` (full text over span contents);
- ``tag.``/``tags.`` and ``metadata.``/``request_metadata.`` keys;
- ``span.name``, ``span.type``, ``span.status``, ``span.content`` and ``span.attributes.<key>``
  (one span must match all span clauses of a filter);
- ``feedback.<name>`` and ``expectation.<name>`` (assessment values, compared as MLflow stores
  them: JSON text, so ``= 'yes'`` matches the string "yes" and ``= 'true'`` the boolean).

As in MLflow the mapping of ``name``/``run_id``/``prompt``/``text`` applies whatever the prefix
(``tag.name`` is the trace name). Differences: ``RLIKE`` is refused (SQLite has no regular
expressions), ``state`` is accepted as another name of ``status``.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiotrack.errors import INVALID_PARAMETER_VALUE, AiotrackError
from aiotrack.search import lexer as lx
from aiotrack.search.ast import (
    ATTRIBUTE,
    EQ,
    GE,
    GT,
    ILIKE,
    IN,
    IS_NOT_NULL,
    IS_NULL,
    LE,
    LIKE,
    LT,
    NE,
    NOT_IN,
    TAG,
    Comparison,
    OrderBy,
)
from aiotrack.search.parser import _number, _quoted_string, _RawValue, _string_list, _syntax, _trim_backticks

METADATA = "metadata"
SPAN = "span"
FEEDBACK = "feedback"
EXPECTATION = "expectation"
RUN_LINK = "run_id"  # metadata mlflow.sourceRun or a trace_links row to the run
SPAN_CONTENT = "content"

TRACE_NAME_TAG = "mlflow.traceName"
LINKED_PROMPTS_TAG = "mlflow.linkedPrompts"
SOURCE_RUN_METADATA = "mlflow.sourceRun"

_PREFIXES = {
    "tag": TAG,
    "tags": TAG,
    "attribute": ATTRIBUTE,
    "attributes": ATTRIBUTE,
    "trace": ATTRIBUTE,
    "metadata": METADATA,
    "request_metadata": METADATA,
    "span": SPAN,
    "feedback": FEEDBACK,
    "expectation": EXPECTATION,
}
_VALID_IDENTIFIERS = (
    "{'attribute', 'attributes', 'expectation', 'feedback', 'issue', 'metadata', "
    "'request_metadata', 'span', 'tag', 'tags', 'trace'}"
)

SEARCH_ATTRIBUTES = frozenset(
    {
        "request_id",
        "timestamp",
        "timestamp_ms",
        "execution_time",
        "execution_time_ms",
        "end_time",
        "end_time_ms",
        "status",
        "state",
        "client_request_id",
        "request_preview",
        "response_preview",
        "name",
        "run_id",
        "prompt",
        "text",
    }
)
ORDER_BY_ATTRIBUTES = frozenset(
    {
        "experiment_id",
        "timestamp",
        "timestamp_ms",
        "execution_time",
        "execution_time_ms",
        "end_time",
        "end_time_ms",
        "status",
        "state",
        "request_id",
        "name",
        "run_id",
    }
)
NUMERIC_ATTRIBUTES = frozenset(
    {"timestamp", "timestamp_ms", "execution_time", "execution_time_ms", "end_time", "end_time_ms"}
)
_ALIASES = {
    "timestamp": "timestamp_ms",
    "execution_time": "execution_time_ms",
    "end_time": "end_time_ms",
    "state": "status",
}
LIST_ATTRIBUTES = frozenset({"name", "status", "state", "request_id", "run_id", "client_request_id"})

NUMERIC_OPS = frozenset({EQ, NE, GT, GE, LT, LE})
STRING_ATTRIBUTE_OPS = frozenset({NE, EQ, IN, NOT_IN, LIKE, ILIKE})
TAG_OPS = frozenset({NE, EQ, LIKE, ILIKE, IS_NULL, IS_NOT_NULL})
SPAN_OPS = frozenset({NE, EQ, IN, NOT_IN, LIKE, ILIKE})
SPAN_CONTENT_OPS = frozenset({LIKE, ILIKE})
ASSESSMENT_OPS = frozenset({NE, EQ, GT, GE, LT, LE, LIKE, ILIKE, IS_NULL, IS_NOT_NULL})
SPAN_FIELDS = frozenset({"name", "type", "status"})


def _invalid(message: str) -> AiotrackError:
    return AiotrackError(message, INVALID_PARAMETER_VALUE)


def _fmt(values: Iterable[str]) -> str:
    return "{" + ", ".join(repr(v) for v in sorted(values)) + "}"


def _identifier(raw: str, *, lone_quoted: bool, attributes: frozenset[str]) -> tuple[str, str]:
    if lone_quoted or "." not in raw:
        kind, key = ATTRIBUTE, _trim_backticks(raw.strip('"'))
    else:
        prefix, key = raw.split(".", 1)
        prefix = _trim_backticks(prefix)
        if prefix == "issue":
            raise _invalid("Filtering traces by issue is not supported by aiotrack (MLflow's issues are not served).")
        if prefix not in _PREFIXES:
            raise _invalid(f"Invalid entity type '{prefix}'. Valid values are {_VALID_IDENTIFIERS}")
        kind = _PREFIXES[prefix]
        if kind != SPAN:
            key = _trim_backticks(key)
            if len(key) >= 2 and key[0] == key[-1] and key[0] in "\"'":
                key = key[1:-1]
    if kind == ATTRIBUTE and key not in attributes:
        raise _invalid(f"Invalid attribute key '{key}' specified. Valid keys are '{_fmt(attributes)}'")
    return kind, key


def _remap(kind: str, key: str) -> tuple[str, str]:
    """MLflow's _replace_key_to_tag_or_metadata: applied to every prefix but span."""
    if kind == SPAN:
        return kind, key
    low = key.lower()
    if low == "name":
        return TAG, TRACE_NAME_TAG
    if low == "prompt":
        return TAG, LINKED_PROMPTS_TAG
    if low == "run_id":
        return RUN_LINK, SOURCE_RUN_METADATA
    if low == "text":
        return SPAN, SPAN_CONTENT
    if kind == ATTRIBUTE:
        return kind, _ALIASES.get(key, key)
    return kind, key


def _string_or_list(v: _RawValue, key: str, list_ok: bool) -> str | tuple[str, ...]:
    if v.type == "list":
        if not list_ok:
            raise _invalid(
                f"Only attributes in {_fmt(LIST_ATTRIBUTES)} supports comparison with a list of quoted string values."
            )
        return _string_list(v)
    if v.type == "number":
        raise _invalid(f"Expected a quoted string value for '{key}' (e.g. 'my-value'). Got value {v.text}")
    return _quoted_string(v)


def parse_trace_filter(text: str | None) -> tuple[Comparison, ...]:
    if not text:
        return ()
    if not isinstance(text, str):
        raise _invalid(f"Invalid filter '{text}'. Could not be parsed.")
    out: list[Comparison] = []
    for raw in _syntax(text):
        kind, key = _identifier(raw.ident.text, lone_quoted=raw.ident.type == lx.QUOTED, attributes=SEARCH_ATTRIBUTES)
        original_key = key
        op = raw.op
        value: str | int | float | tuple[str, ...] | None = None
        if kind == ATTRIBUTE and key in NUMERIC_ATTRIBUTES:
            if op not in NUMERIC_OPS:
                raise _invalid(f"Invalid comparator '{op}' not one of '{_fmt(NUMERIC_OPS)}'")
            assert raw.value is not None
            if raw.value.type != "number":
                raise _invalid(f"Expected numeric value type for numeric attribute: {key}. Found {raw.value.text}")
            value = _number(raw.value.text)
            kind, key = _remap(kind, key)
            out.append(Comparison(kind, key, op, value))
            continue
        from_attribute = kind == ATTRIBUTE
        kind, key = _remap(kind, key)
        if kind in (ATTRIBUTE, RUN_LINK) or (from_attribute and kind == TAG):
            # Attributes (name and prompt included, though they compare tags) take the string
            # attribute comparators, IN and NOT IN among them.
            if op not in STRING_ATTRIBUTE_OPS:
                raise _invalid(f"Invalid comparator '{op}' not one of '{_fmt(STRING_ATTRIBUTE_OPS)}'")
            assert raw.value is not None
            value = _string_or_list(raw.value, original_key, original_key in LIST_ATTRIBUTES)
            if kind == RUN_LINK and op not in (EQ, IN):
                kind = METADATA  # only equality also follows run links, as in MLflow
        elif kind in (TAG, METADATA):
            allowed = TAG_OPS
            if op not in allowed:
                raise _invalid(f"Invalid comparator '{op}' not one of '{_fmt(allowed)}'")
            if raw.value is not None:
                list_ok = key in (TRACE_NAME_TAG,) and original_key.lower() == "name"
                value = _string_or_list(raw.value, original_key, list_ok)
        elif kind == SPAN:
            if key == SPAN_CONTENT:
                allowed = SPAN_CONTENT_OPS
            elif key.startswith("attributes."):
                if not key[len("attributes.") :]:
                    raise _invalid("Span attribute name cannot be empty after 'attributes.'")
                allowed = SPAN_OPS
            elif key in SPAN_FIELDS:
                allowed = SPAN_OPS
            else:
                raise _invalid(
                    f"Invalid span attribute '{key}'. Supported attributes: name, status, type, "
                    "attributes.<attribute_name>."
                )
            if op not in allowed:
                raise _invalid(f"span.{key} comparator '{op}' not one of '{_fmt(allowed)}'")
            assert raw.value is not None
            value = _string_or_list(raw.value, key, True)
            if key.startswith("attributes."):
                key = "attributes." + _trim_backticks(key[len("attributes.") :])
        else:  # feedback / expectation
            if not key:
                raise _invalid("Assessment field name cannot be empty")
            if op not in ASSESSMENT_OPS:
                raise _invalid(f"assessment.{key} comparator '{op}' not one of '{_fmt(ASSESSMENT_OPS)}'")
            if raw.value is not None:
                number = raw.value.type == "number"
                value = raw.value.text if number else _string_or_list(raw.value, key, False)
                if op in (GT, GE, LT, LE):
                    try:
                        float(str(value))
                    except ValueError:
                        raise _invalid(
                            f"Numeric comparison on assessment '{key}' needs a number, got {value!r}"
                        ) from None
        if isinstance(value, tuple) and op not in (IN, NOT_IN):
            raise _invalid(f"A list of values can only be compared with IN or NOT IN, not '{op}'")
        if op in (IN, NOT_IN) and not isinstance(value, tuple):
            raise _invalid(f"'{op}' needs a list of quoted string values")
        out.append(Comparison(kind, key, op, value))
    return tuple(out)


def parse_trace_order_by(clauses: Iterable[str] | None) -> tuple[OrderBy, ...]:
    out: list[OrderBy] = []
    for clause in clauses or ():
        if not isinstance(clause, str) or not clause.strip():
            raise _invalid(f"Invalid order_by clause '{clause}'.")
        parts = clause.strip().rsplit(None, 1)
        ascending = True
        ident = clause.strip()
        if len(parts) == 2 and parts[1].upper() in ("ASC", "DESC"):
            ident, ascending = parts[0].strip(), parts[1].upper() == "ASC"
        tokens = lx.tokenize(ident)
        if len(tokens) != 1 or tokens[0].type not in (lx.IDENT, lx.QUOTED):
            raise _invalid(f"Invalid order_by clause '{clause}'. Could not be parsed.")
        kind, key = _identifier(tokens[0].text, lone_quoted=tokens[0].type == lx.QUOTED, attributes=ORDER_BY_ATTRIBUTES)
        kind, key = _remap(kind, key)
        if kind not in (ATTRIBUTE, TAG, RUN_LINK, METADATA):
            raise _invalid(f"Invalid order_by entity `{kind}` with key `{key}`")
        out.append(OrderBy(kind, key, ascending))
    return tuple(out)
