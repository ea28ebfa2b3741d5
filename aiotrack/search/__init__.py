"""MLflow's search language (filter strings and order_by clauses) -> a database-neutral AST.

``parse_filter(text, spec)`` and ``parse_order_by(clauses, spec)`` with one of the entity specs
(``RUNS``, ``EXPERIMENTS``, ``REGISTERED_MODELS``, ``MODEL_VERSIONS``, ``LOGGED_MODELS``).
Imports only the standard library and :mod:`aiotrack.errors`.
"""

from aiotrack.search.ast import Comparison, OrderBy
from aiotrack.search.parser import (
    EXPERIMENTS,
    LOGGED_MODELS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    SPECS,
    EntitySpec,
    parse_filter,
    parse_order_by,
)

__all__ = [
    "EXPERIMENTS",
    "LOGGED_MODELS",
    "MODEL_VERSIONS",
    "REGISTERED_MODELS",
    "RUNS",
    "SPECS",
    "Comparison",
    "EntitySpec",
    "OrderBy",
    "parse_filter",
    "parse_order_by",
]
