"""One exception family carrying MLflow's error codes, and the code -> HTTP status table.

Everything below the HTTP layer raises :class:`AiotrackError`; the error middleware turns it
into MLflow's ``{"error_code": ..., "message": ...}`` body with the status from
:data:`HTTP_STATUS`. Messages must never carry SQL or driver text.
"""

from __future__ import annotations

# MLflow's ErrorCode -> HTTP status (mlflow/exceptions.py, ERROR_CODE_TO_HTTP_STATUS).
HTTP_STATUS: dict[str, int] = {
    "INTERNAL_ERROR": 500,
    "INVALID_STATE": 500,
    "DATA_LOSS": 500,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "CANCELLED": 499,
    "RESOURCE_EXHAUSTED": 429,
    "ABORTED": 409,
    "RESOURCE_CONFLICT": 409,
    "ALREADY_EXISTS": 409,
    "NOT_FOUND": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "PERMISSION_DENIED": 403,
    "CUSTOMER_UNAUTHORIZED": 401,
    "UNAUTHENTICATED": 401,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_PARAMETER_VALUE": 400,
}

INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_STATE = "INVALID_STATE"
BAD_REQUEST = "BAD_REQUEST"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
PERMISSION_DENIED = "PERMISSION_DENIED"
INTERNAL_ERROR = "INTERNAL_ERROR"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
TEMPORARILY_UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"


class AiotrackError(Exception):
    """An error with an MLflow error code; ``status`` is the HTTP status MLflow answers with."""

    def __init__(self, message: str, error_code: str = INVALID_PARAMETER_VALUE, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status if status is not None else HTTP_STATUS.get(error_code, 500)

    def to_json(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"AiotrackError({self.error_code}, {self.message!r})"


def invalid(message: str) -> AiotrackError:
    return AiotrackError(message, INVALID_PARAMETER_VALUE)


def not_found(message: str) -> AiotrackError:
    return AiotrackError(message, RESOURCE_DOES_NOT_EXIST)


def already_exists(message: str) -> AiotrackError:
    return AiotrackError(message, RESOURCE_ALREADY_EXISTS)


# Database failures as the stores report them. The drivers' errors are classified in
# aiotrack/stores/sql/database.py (the one module that knows the drivers); these give them MLflow's
# codes and messages that name no host, port, SQL or driver.


def database_unavailable(reason: str) -> AiotrackError:
    """The database cannot serve the request now (outage, timeout, full pool, full disk): 503."""
    return AiotrackError(
        f"The tracking database is temporarily unavailable: {reason}. Retry the request.", TEMPORARILY_UNAVAILABLE
    )


def query_budget_exceeded(seconds: float, setting: str) -> AiotrackError:
    """A query ran past the per-query time budget and was stopped: 503 naming the setting."""
    return AiotrackError(
        f"The query was stopped after {seconds:g} s, the per-query time budget ({setting}). The server "
        "is overloaded or the request is unusually expensive: retry later or narrow the request.",
        TEMPORARILY_UNAVAILABLE,
    )


def query_too_complex() -> AiotrackError:
    """The database refused a statement as too large or too deeply nested: 400."""
    return AiotrackError(
        "The request is too complex for the database (too many clauses or values); split or simplify it.",
        INVALID_PARAMETER_VALUE,
    )


class IntegrityViolation(Exception):
    """A write broke a uniqueness or foreign-key constraint: the database driver's error, made
    neutral by the SQL layer so that no layer above it imports a store to catch it. Stores turn
    it into MLflow's error where a race can cause it (two creators of one name); anything left
    reaches the HTTP layer as a 409 RESOURCE_CONFLICT."""


class ConfigError(Exception):
    """A bad server option or store URI; the CLI prints it and exits with status 2."""
