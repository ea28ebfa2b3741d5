"""MLflow's filter and order_by language -> AST, validated against an :class:`EntitySpec`.

What may be searched differs per entity (runs, experiments, registered models, model versions,
logged models), so the parser is generic and an :class:`EntitySpec` says which identifier
prefixes, attributes and comparators an entity allows. The accepted language and the error
messages follow MLflow 3.17 (``mlflow/utils/search_utils.py``); every error is an
``AiotrackError`` with ``INVALID_PARAMETER_VALUE``.

Grammar (MLflow's, written down)::

    filter      := clause? ( AND* clause )* AND*          -- AND only; OR and parentheses are errors
    clause      := ident op value | ident [NOT] IN list | ident IS [NOT] NULL
    op          := = | != | > | >= | < | <= | LIKE | ILIKE   (<> and == parse, then fail validation)
    value       := 'string' | "string" | number | list
    list        := ( value [, value]* [,] )
    ident       := [prefix.]key    key may be quoted with `backticks` or "double quotes"

Known, deliberate differences from MLflow (all make an invalid MLflow filter valid, or a
500 an INVALID_PARAMETER_VALUE): surrounding whitespace in an order_by clause is ignored;
``1E+5`` is a number; a list compared with ``=`` or ``!=`` is rejected instead of reaching SQL;
a string containing a NUL character is rejected (PostgreSQL cannot store one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiotrack.errors import INVALID_PARAMETER_VALUE, AiotrackError
from aiotrack.search import lexer as lx
from aiotrack.search import limits
from aiotrack.search.ast import (
    ATTRIBUTE,
    DATASET,
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
    METRIC,
    NE,
    NOT_IN,
    PARAM,
    TAG,
    Comparison,
    OrderBy,
    Value,
)


def _invalid(message: str) -> AiotrackError:
    return AiotrackError(message, INVALID_PARAMETER_VALUE)


def _fmt_set(values: Iterable[str]) -> str:
    return "{" + ", ".join(repr(v) for v in sorted(values)) + "}"


NUMERIC_OPS = frozenset({EQ, NE, GT, GE, LT, LE})
STRING_OPS = frozenset({EQ, NE, LIKE, ILIKE})
STRING_LIST_OPS = frozenset({EQ, NE, LIKE, ILIKE, IN, NOT_IN})
NULLABLE_STRING_OPS = frozenset({EQ, NE, LIKE, ILIKE, IS_NULL, IS_NOT_NULL})

# How a numeric attribute's value is read:
#   "number": a number token, int or float (runs)
#   "int": a number token that must be integral (experiments: MLflow rejects floats)
#   "int_or_string": a number or a quoted integer, integral (model versions)
NumericValues = str


@dataclass(frozen=True)
class EntitySpec:
    """What a search over one entity may name. See the specs at the bottom of this module."""

    name: str
    entity_types: Mapping[str, str]  # prefix as written -> kind
    entity_type_error: str  # formatted with entity_type
    search_attributes: frozenset[str]  # attribute keys a filter may use, aliases included
    order_by_attributes: frozenset[str]  # attribute keys an order_by may use, aliases included
    numeric_attributes: frozenset[str] = frozenset()
    attribute_aliases: Mapping[str, str] = field(default_factory=dict)
    list_attributes: frozenset[str] = frozenset()
    comparators: Mapping[str, frozenset[str]] = field(default_factory=dict)  # kind -> allowed
    string_attribute_ops: frozenset[str] = STRING_LIST_OPS
    attribute_ops: Mapping[str, frozenset[str]] = field(default_factory=dict)  # per key override
    attribute_ops_error: str = "Invalid comparator for {key}: {op}"
    null_kinds: frozenset[str] = frozenset()
    null_error: str = "IS NULL / IS NOT NULL is only supported for tags and params, not for '{kind}' '{key}'"
    dataset_keys: frozenset[str] = frozenset()
    numeric_values: NumericValues = "number"
    int_string_attributes: frozenset[str] = frozenset()  # quoted strings that must parse as int
    int_string_error: str = "Invalid value '{value}' for '{key}'. It must be a valid integer."
    order_by_kinds: frozenset[str] = frozenset({ATTRIBUTE})
    order_by_kind_error: str = "Invalid order_by entity: {kind}"
    order_by_prefixes: bool = True  # False: order_by keys are bare names (registered models)
    order_by_key_error: str | None = None  # used when order_by_prefixes is False
    reject_duplicate_order_by: bool = False


_KIND_LABEL = {METRIC: "metric", PARAM: "parameter", TAG: "tag", ATTRIBUTE: "attribute", DATASET: "dataset"}


# --------------------------------------------------------------------------- syntax


@dataclass(frozen=True)
class _RawValue:
    type: str  # "string" | "number" | "bare" | "list"
    text: str  # as written (quotes included)
    value: Any = None  # str for strings; tuple of _RawValue for lists


@dataclass(frozen=True)
class _RawClause:
    ident: lx.Token
    op: str
    value: _RawValue | None


def _invalid_clause(tokens: list[lx.Token], start: int, end: int) -> AiotrackError:
    shown = ", ".join(f"'{t.text}'" for t in tokens[start : end + 1])
    return _invalid(f"Invalid clause(s) in filter string: {shown}")


def _strip_outer(text: str) -> str:
    return text[1:-1]


def _read_value(tokens: list[lx.Token], i: int, start: int) -> tuple[_RawValue, int]:
    """Read the value at tokens[i]; return it and the index after it."""
    if i >= len(tokens):
        raise _invalid_clause(tokens, start, i - 1)
    t = tokens[i]
    if t.type == lx.STRING:
        return _RawValue("string", t.text, _strip_outer(t.text)), i + 1
    if t.type == lx.QUOTED:
        if t.text.startswith('"'):
            return _RawValue("string", t.text, _strip_outer(t.text)), i + 1
        return _RawValue("bare", t.text), i + 1
    if t.type == lx.NUMBER:
        return _RawValue("number", t.text), i + 1
    if t.type == lx.IDENT:
        return _RawValue("bare", t.text), i + 1
    if t.type == lx.LPAREN:
        items: list[_RawValue] = []
        j = i + 1
        while True:
            if j >= len(tokens):
                raise _invalid_clause(tokens, start, j - 1)
            if tokens[j].type == lx.RPAREN:
                break
            if tokens[j].type not in (lx.STRING, lx.QUOTED, lx.NUMBER, lx.IDENT):
                raise _invalid_clause(tokens, start, j)
            item, j = _read_value(tokens, j, start)
            items.append(item)
            if j < len(tokens) and tokens[j].type == lx.COMMA:
                j += 1
            elif j < len(tokens) and tokens[j].type == lx.RPAREN:
                break
            else:
                raise _invalid_clause(tokens, start, min(j, len(tokens) - 1))
        text = " ".join(tok.text for tok in tokens[i : j + 1]).replace("( ", "(").replace(" )", ")").replace(" ,", ",")
        return _RawValue("list", text, tuple(items)), j + 1
    raise _invalid_clause(tokens, start, i)


def _syntax(text: str) -> list[_RawClause]:
    tokens = lx.tokenize(text)
    clauses: list[_RawClause] = []
    i = 0
    n = len(tokens)
    while i < n:
        # Bounded work: stop reading at the first clause past the limit.
        limits.check_filter_clauses(len(clauses))
        t = tokens[i]
        if t.keyword == "AND":
            i += 1
            continue
        if t.type not in (lx.IDENT, lx.QUOTED):
            raise _invalid_clause(tokens, i, i)
        start = i
        i += 1
        nxt = tokens[i] if i < n else None
        if nxt is None:
            raise _invalid_clause(tokens, start, start)
        if nxt.type == lx.OP or nxt.keyword in ("LIKE", "ILIKE"):
            value, i = _read_value(tokens, i + 1, start)
            clauses.append(_RawClause(t, nxt.text.upper(), value))
        elif nxt.keyword == "IN" or (nxt.keyword == "NOT" and i + 1 < n and tokens[i + 1].keyword == "IN"):
            op = IN if nxt.keyword == "IN" else NOT_IN
            i += 1 if op == IN else 2
            if i >= n or tokens[i].type != lx.LPAREN:
                raise _invalid_clause(tokens, start, min(i, n - 1))
            value, i = _read_value(tokens, i, start)
            clauses.append(_RawClause(t, op, value))
        elif nxt.keyword == "IS":
            if i + 1 < n and tokens[i + 1].keyword == "NULL":
                clauses.append(_RawClause(t, IS_NULL, None))
                i += 2
            elif i + 2 < n and tokens[i + 1].keyword == "NOT" and tokens[i + 2].keyword == "NULL":
                clauses.append(_RawClause(t, IS_NOT_NULL, None))
                i += 3
            else:
                raise _invalid_clause(tokens, start, min(i + 1, n - 1))
        else:
            raise _invalid_clause(tokens, start, i)
    return clauses


# --------------------------------------------------------------------------- identifiers


def _is_quoted(text: str, q: str) -> bool:
    return len(text) >= 2 and text[0] == q and text[-1] == q


def _trim_backticks(text: str) -> str:
    return text[1:-1] if _is_quoted(text, "`") else text


def _strip_quotes(text: str) -> str:
    return text[1:-1] if (_is_quoted(text, "'") or _is_quoted(text, '"')) else text


def _identifier(raw: str, spec: EntitySpec, valid_attributes: frozenset[str], *, lone_quoted: bool) -> tuple[str, str]:
    """Resolve a raw identifier to (kind, key) as MLflow does: split at the first dot."""
    if lone_quoted or "." not in raw:
        kind, key = ATTRIBUTE, raw
    else:
        entity_type, key = raw.split(".", 1)
        entity_type = _trim_backticks(entity_type)
        if entity_type not in spec.entity_types:
            raise _invalid(spec.entity_type_error.format(entity_type=entity_type))
        kind = spec.entity_types[entity_type]
    key = _trim_backticks(_strip_quotes(key))
    if kind == ATTRIBUTE and key not in valid_attributes:
        raise _invalid(f"Invalid attribute key '{key}' specified. Valid keys are '{_fmt_set(valid_attributes)}'")
    if kind == DATASET and key not in spec.dataset_keys:
        raise _invalid(f"Invalid dataset key '{key}' specified. Valid keys are '{_fmt_set(spec.dataset_keys)}'")
    return kind, key


# --------------------------------------------------------------------------- values

_INT_RE = re.compile(r"-?\d+")


def _number(text: str) -> int | float:
    return int(text) if _INT_RE.fullmatch(text) else float(text)


def _check_string(s: str) -> str:
    if "\x00" in s:
        raise _invalid("Search values must not contain NUL characters")
    return s


def _quoted_string(v: _RawValue) -> str:
    if v.type != "string":
        raise _invalid(
            "Parameter value is either not quoted or unidentified quote types used for string "
            f"value {v.text}. Use either single or double quotes."
        )
    return _check_string(v.value)


def _string_list(v: _RawValue) -> tuple[str, ...]:
    items = v.value
    if not items:
        raise _invalid(
            "While parsing a list in the query, expected a non-empty list of string values, but got empty list"
        )
    if any(item.type == "bare" for item in items):
        raise _invalid(
            "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list."
        )
    if not all(item.type == "string" for item in items):
        shown = "(" + ", ".join(item.text for item in items) + ("," if len(items) == 1 else "") + ")"
        raise _invalid(
            "While parsing a list in the query, expected string value, punctuation, or whitespace, "
            f"but got different type in list: {shown}"
        )
    return tuple(_check_string(item.value) for item in items)


def _value(kind: str, key: str, v: _RawValue, spec: EntitySpec) -> Value:
    if kind == METRIC:
        if v.type != "number":
            raise _invalid(f"Expected numeric value type for metric. Found {v.text}")
        return float(v.text)
    if kind in (PARAM, TAG):
        if v.type in ("string", "bare"):
            return _quoted_string(v)
        raise _invalid(f"Expected a quoted string value for {_KIND_LABEL[kind]} (e.g. 'my-value'). Got value {v.text}")
    if kind == DATASET:
        if v.type in ("string", "bare"):
            return _quoted_string(v)
        if v.type == "list":
            return _string_list(v)
        raise _invalid(f"Expected a quoted string value for dataset attributes. Got value {v.text}")
    # attribute
    if key in spec.numeric_attributes:
        if spec.numeric_values == "int_or_string" and v.type == "string":
            try:
                return int(v.value)
            except ValueError:
                raise _invalid(f"Invalid value for numeric attribute '{key}': {v.value!r}") from None
        if v.type != "number":
            if spec.numeric_values == "int_or_string" and v.type == "list":
                _check_list_supported(key, spec)
            raise _invalid(f"Expected numeric value type for numeric attribute: {key}. Found {v.text}")
        number = _number(v.text)
        if spec.numeric_values != "number" and isinstance(number, float):
            shown = repr(v.text) if spec.numeric_values == "int" else repr(number)
            raise _invalid(f"Invalid value for numeric attribute '{key}': {shown}")
        return number
    if v.type in ("string", "bare"):
        s = _quoted_string(v)
        if key in spec.int_string_attributes:
            try:
                return int(s)
            except ValueError:
                raise _invalid(spec.int_string_error.format(value=s, key=key)) from None
        return s
    if v.type == "list":
        _check_list_supported(key, spec)
        items = _string_list(v)
        if key in spec.int_string_attributes:
            try:
                return tuple(int(s) for s in items)
            except ValueError:
                bad = next(s for s in items if not _INT_RE.fullmatch(s.strip()))
                raise _invalid(spec.int_string_error.format(value=bad, key=key)) from None
        return items
    if spec.numeric_values == "int_or_string":
        raise _invalid(
            f"Only the '{_fmt_set(spec.numeric_attributes)}' attributes support comparison with numeric values."
        )
    raise _invalid(f"Expected a quoted string value for attributes. Got value {v.text}")


def _check_list_supported(key: str, spec: EntitySpec) -> None:
    if key not in spec.list_attributes:
        raise _invalid(
            f"Only {sorted(spec.list_attributes)} attributes support comparison with a list of quoted string values."
        )


def _check_op(kind: str, key: str, op: str, value: Value, spec: EntitySpec) -> None:
    if kind == ATTRIBUTE and key in spec.attribute_ops:
        allowed = spec.attribute_ops[key]
        if op not in allowed:
            raise _invalid(spec.attribute_ops_error.format(key=key, op=op))
    elif kind == ATTRIBUTE:
        allowed = NUMERIC_OPS if key in spec.numeric_attributes else spec.string_attribute_ops
        if op not in allowed:
            raise _invalid(f"Invalid comparator '{op}' not one of '{_fmt_set(allowed)}'")
    else:
        allowed = spec.comparators.get(kind, frozenset())
        if op not in allowed:
            raise _invalid(f"Invalid comparator '{op}' not one of '{_fmt_set(allowed)}'")
    if isinstance(value, tuple) and op not in (IN, NOT_IN):
        raise _invalid(f"A list of values can only be compared with IN or NOT IN, not '{op}'")
    if op in (IN, NOT_IN) and not isinstance(value, tuple):
        raise _invalid(f"'{op}' needs a list of quoted string values")


# --------------------------------------------------------------------------- public API


def parse_filter(text: str | None, spec: EntitySpec) -> tuple[Comparison, ...]:
    """Parse and validate an MLflow filter string; ``None``/empty means no filter."""
    if not text:
        return ()
    if not isinstance(text, str):
        raise _invalid(f"Invalid filter '{text}'. Could not be parsed.")
    limits.check_filter_length(text)
    raw_clauses = _syntax(text)
    limits.check_filter_clauses(len(raw_clauses))
    limits.check_filter_values(sum(len(c.value.value) for c in raw_clauses if c.value and c.value.type == "list"))
    out: list[Comparison] = []
    for raw in raw_clauses:
        kind, key = _identifier(raw.ident.text, spec, spec.search_attributes, lone_quoted=raw.ident.type == lx.QUOTED)
        if raw.op in (IS_NULL, IS_NOT_NULL):
            if kind not in spec.null_kinds:
                raise _invalid(spec.null_error.format(kind=kind if kind != PARAM else "parameter", key=key))
            value = None
        else:
            assert raw.value is not None  # only IS [NOT] NULL clauses have no value
            value = _value(kind, key, raw.value, spec)
        _check_op(kind, key, raw.op, value, spec)
        if kind == ATTRIBUTE:
            key = spec.attribute_aliases.get(key, key)
        out.append(Comparison(kind, key, raw.op, value))
    return tuple(out)


_ORDER_RE = re.compile(r"^(?P<ident>.*?)(?:\s+(?P<dir>[A-Za-z]+))?$", re.DOTALL)


def _parse_one_order_by(clause: str, spec: EntitySpec) -> OrderBy:
    if not isinstance(clause, str):
        raise _invalid(f"Invalid order_by clause '{clause}'. Could not be parsed.")
    tokens = lx.tokenize(clause)
    cannot = _invalid(f"Invalid order_by clause '{clause}'. Could not be parsed.")
    ascending = True
    if len(tokens) == 2 and tokens[0].type in (lx.IDENT, lx.QUOTED) and tokens[1].type in (lx.IDENT, lx.KEYWORD):
        direction = tokens[1].text.lower()
        if "." in direction or direction not in ("asc", "desc"):
            raise _invalid(f"Invalid ordering key in order_by clause '{clause}'.")
        ascending = direction == "asc"
    elif len(tokens) != 1 or tokens[0].type not in (lx.IDENT, lx.QUOTED):
        raise cannot
    ident = tokens[0]
    if not spec.order_by_prefixes:
        key = ident.text
        if key not in spec.order_by_attributes:
            raise _invalid((spec.order_by_key_error or "Invalid order by key '{key}' specified.").format(key=key))
        return OrderBy(ATTRIBUTE, spec.attribute_aliases.get(key, key), ascending)
    kind, key = _identifier(ident.text, spec, spec.order_by_attributes, lone_quoted=ident.type == lx.QUOTED)
    if kind not in spec.order_by_kinds:
        raise _invalid(spec.order_by_kind_error.format(kind=kind))
    if kind == ATTRIBUTE:
        key = spec.attribute_aliases.get(key, key)
    return OrderBy(kind, key, ascending)


def parse_order_by(clauses: Iterable[str] | None, spec: EntitySpec) -> tuple[OrderBy, ...]:
    """Parse MLflow ``order_by`` entries like ``"metrics.`my metric` DESC"``."""
    if not clauses:
        return ()
    clauses = list(clauses)
    limits.check_order_by(clauses)
    out = tuple(_parse_one_order_by(c, spec) for c in clauses)
    if spec.reject_duplicate_order_by:
        seen: set[tuple[str, str]] = set()
        for ob in out:
            if (ob.kind, ob.key) in seen:
                raise _invalid(f"`order_by` contains duplicate fields: {clauses}")
            seen.add((ob.kind, ob.key))
    return out


# --------------------------------------------------------------------------- entity specs

_RUN_NUMERIC = frozenset({"start_time", "end_time", "created", "Created"})
_RUN_STRING = frozenset({"run_id", "run_name", "status", "user_id", "artifact_uri", "run name", "Run name", "Run Name"})

RUNS = EntitySpec(
    name="runs",
    entity_types={
        "metric": METRIC,
        "metrics": METRIC,
        "parameter": PARAM,
        "parameters": PARAM,
        "param": PARAM,
        "params": PARAM,
        "tag": TAG,
        "tags": TAG,
        "attribute": ATTRIBUTE,
        "attributes": ATTRIBUTE,
        "attr": ATTRIBUTE,
        "run": ATTRIBUTE,
        "dataset": DATASET,
        "datasets": DATASET,
    },
    entity_type_error=(
        "Invalid entity type '{entity_type}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"
    ),
    search_attributes=_RUN_NUMERIC | _RUN_STRING,
    order_by_attributes=frozenset(
        {"start_time", "end_time", "created", "Created", "run_id", "run_name", "status", "user_id", "artifact_uri"}
    ),
    numeric_attributes=_RUN_NUMERIC,
    attribute_aliases={
        "created": "start_time",
        "Created": "start_time",
        "run name": "run_name",
        "Run name": "run_name",
        "Run Name": "run_name",
    },
    list_attributes=frozenset({"run_id"}),
    comparators={
        METRIC: NUMERIC_OPS,
        PARAM: NULLABLE_STRING_OPS,
        TAG: NULLABLE_STRING_OPS,
        DATASET: STRING_LIST_OPS,
    },
    null_kinds=frozenset({PARAM, TAG}),
    dataset_keys=frozenset({"name", "digest", "context"}),
    order_by_kinds=frozenset({METRIC, PARAM, TAG, ATTRIBUTE}),
    order_by_kind_error="Invalid identifier type '{kind}'",
    reject_duplicate_order_by=True,
)

_EXP_TYPES = {"attribute": ATTRIBUTE, "tag": TAG, "tags": TAG}
_EXP_TYPE_ERROR = "Invalid entity type '{entity_type}'. Valid entity types are ('attribute', 'tag', 'tags')"

EXPERIMENTS = EntitySpec(
    name="experiments",
    entity_types=_EXP_TYPES,
    entity_type_error=_EXP_TYPE_ERROR,
    search_attributes=frozenset({"name", "experiment_id", "creation_time", "last_update_time"}),
    order_by_attributes=frozenset({"name", "experiment_id", "creation_time", "last_update_time"}),
    numeric_attributes=frozenset({"creation_time", "last_update_time"}),
    list_attributes=frozenset({"experiment_id"}),
    comparators={TAG: NULLABLE_STRING_OPS},
    attribute_ops={"experiment_id": frozenset({EQ, NE, IN, NOT_IN}), "name": STRING_OPS},
    attribute_ops_error="Invalid comparator for {key}: {op}",
    null_kinds=frozenset({TAG}),
    null_error="IS NULL / IS NOT NULL is only supported for tags, not for attribute '{key}'",
    numeric_values="int",
    int_string_attributes=frozenset({"experiment_id"}),
    int_string_error="Invalid experiment ID '{value}'. Experiment ID must be a valid integer.",
)

REGISTERED_MODELS = EntitySpec(
    name="registered_models",
    entity_types=_EXP_TYPES,
    entity_type_error=_EXP_TYPE_ERROR,
    search_attributes=frozenset({"name"}),
    order_by_attributes=frozenset({"name", "timestamp", "last_updated_timestamp"}),
    attribute_aliases={"timestamp": "last_updated_timestamp"},
    list_attributes=frozenset({"name"}),
    comparators={TAG: STRING_OPS},
    order_by_prefixes=False,
    order_by_key_error="Invalid order by key '{key}' specified. Valid keys are '{{'name', 'timestamp'}}'",
    reject_duplicate_order_by=True,
)

MODEL_VERSIONS = EntitySpec(
    name="model_versions",
    entity_types=_EXP_TYPES,
    entity_type_error=_EXP_TYPE_ERROR,
    search_attributes=frozenset({"name", "version_number", "run_id", "source_path"}),
    order_by_attributes=frozenset({"name", "version_number", "creation_timestamp", "last_updated_timestamp"}),
    numeric_attributes=frozenset({"version_number", "creation_timestamp", "last_updated_timestamp"}),
    list_attributes=frozenset({"name", "run_id"}),
    comparators={TAG: STRING_OPS},
    attribute_ops={"source_path": STRING_OPS},
    attribute_ops_error="Invalid comparator for attribute: {op}",
    numeric_values="int_or_string",
    reject_duplicate_order_by=True,
)

LOGGED_MODELS = EntitySpec(
    name="logged_models",
    entity_types=RUNS.entity_types,
    entity_type_error=RUNS.entity_type_error,
    search_attributes=frozenset(
        {
            "name",
            "model_id",
            "model_type",
            "status",
            "source_run_id",
            "creation_timestamp",
            "creation_time",
            "last_updated_timestamp",
            "last_updated_time",
        }
    ),
    order_by_attributes=frozenset(
        {
            "name",
            "model_id",
            "model_type",
            "status",
            "source_run_id",
            "creation_timestamp",
            "creation_time",
            "last_updated_timestamp",
            "last_updated_time",
        }
    ),
    numeric_attributes=frozenset(
        {"creation_timestamp", "creation_time", "last_updated_timestamp", "last_updated_time"}
    ),
    attribute_aliases={"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
    list_attributes=frozenset(
        {
            "name",
            "model_id",
            "model_type",
            "status",
            "source_run_id",
        }
    ),
    comparators={METRIC: NUMERIC_OPS, PARAM: STRING_OPS, TAG: STRING_OPS},
    order_by_kinds=frozenset({METRIC, ATTRIBUTE}),
)

SPECS: dict[str, EntitySpec] = {
    s.name: s for s in (RUNS, EXPERIMENTS, REGISTERED_MODELS, MODEL_VERSIONS, LOGGED_MODELS)
}
