"""Backend store URIs: parse what users already have in their MLflow configs, refuse the rest."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiotrack.errors import ConfigError

SUPPORTED = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, "
    "postgresql://user@host:port/db (also spelled postgres://, postgresql+psycopg2://, "
    "postgresql+psycopg://, postgresql+asyncpg://, postgresql+pg8000://)"
)

_PG_SCHEMES = {
    "postgresql",
    "postgres",
    "postgresql+psycopg2",
    "postgresql+psycopg",
    "postgresql+asyncpg",
    "postgresql+pg8000",
}


# Query parameters aiotrack reads itself (the db_* settings without their prefix), taken out of
# the URI before the rest goes to the driver. ``connect_timeout`` is also libpq's name for the
# same thing, so URIs written for psycopg keep working.
URI_OPTIONS = {"pool_size": int, "connect_timeout": float, "pool_timeout": float, "query_timeout": float}
# Switches given as true/false (or 1/0, yes/no): ``transaction_pooler`` is --db-transaction-pooler
# for one store (and the way `aiotrack db`, `import` and `gc` reach PostgreSQL through PgBouncer).
URI_SWITCHES = {"transaction_pooler"}
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
# SQLite opens a file: no pool, no connection to wait for.
_SQLITE_URI_OPTIONS = {"query_timeout"}


@dataclass(frozen=True)
class StoreURI:
    kind: str  # "sqlite" | "postgresql"
    target: str  # the file path, or an asyncpg DSN
    original: str
    options: dict[str, float] = field(default_factory=dict)  # URI_OPTIONS given in the query

    def redacted(self) -> str:
        """The URI without its password, for logs and banners."""
        parts = urlsplit(self.original)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.original


def _take_options(query: str, kind: str, uri: str) -> tuple[dict[str, float], str]:
    """Split a URI query into aiotrack's options (checked) and what is left for the driver."""
    options: dict[str, float] = {}
    rest: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in URI_SWITCHES:
            if kind == "sqlite":
                raise ConfigError(f"The URI parameter {key} applies to PostgreSQL only (got {uri!r}).")
            if value.lower() not in _TRUE + _FALSE:
                raise ConfigError(f"The URI parameter {key} must be true or false (got {value!r} in {uri!r}).")
            options[key] = 1.0 if value.lower() in _TRUE else 0.0
            continue
        convert = URI_OPTIONS.get(key)
        if convert is None:
            rest.append((key, value))
            continue
        if kind == "sqlite" and key not in _SQLITE_URI_OPTIONS:
            raise ConfigError(
                f"The URI parameter {key} applies to PostgreSQL only; a SQLite store takes "
                f"{', '.join(sorted(_SQLITE_URI_OPTIONS))} (got {uri!r})."
            )
        try:
            number = convert(value)
        except ValueError:
            number = 0
        if not (number > 0 and math.isfinite(number)):
            raise ConfigError(f"The URI parameter {key} must be a positive number (got {value!r} in {uri!r}).")
        options[key] = number
    return options, urlencode(rest)


def parse_store_uri(uri: str) -> StoreURI:
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise ConfigError(f"Unsupported backend store URI {uri!r}. Supported: {SUPPORTED}.")
    scheme = scheme.lower()
    if scheme == "sqlite" or scheme.startswith("sqlite+"):
        if not rest.startswith("/") or rest == "/":
            raise ConfigError(
                f"SQLite URIs name a file: sqlite:///relative.db or sqlite:////absolute.db (got {uri!r})."
            )
        path = rest[1:]  # sqlite:///x.db -> x.db ; sqlite:////abs/x.db -> /abs/x.db
        path, _, query = path.partition("?")
        options, _ = _take_options(query, "sqlite", uri)
        if path in ("", ":memory:"):
            raise ConfigError(
                "In-memory SQLite is not supported: worker processes would each see their own database. "
                "Name a file, e.g. sqlite:///aiotrack.db."
            )
        return StoreURI("sqlite", os.path.abspath(path), uri, options)
    if scheme in _PG_SCHEMES:
        base, _, query = rest.partition("?")
        options, query = _take_options(query, "postgresql", uri)
        return StoreURI("postgresql", "postgresql://" + base + (f"?{query}" if query else ""), uri, options)
    raise ConfigError(f"Unsupported backend store URI {uri!r}. Supported: {SUPPORTED}.")
