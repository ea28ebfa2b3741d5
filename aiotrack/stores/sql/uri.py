"""Backend store URIs: parse what users already have in their MLflow configs, refuse the rest."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

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


@dataclass(frozen=True)
class StoreURI:
    kind: str  # "sqlite" | "postgresql"
    target: str  # the file path, or an asyncpg DSN
    original: str

    def redacted(self) -> str:
        """The URI without its password, for logs and banners."""
        parts = urlsplit(self.original)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
            return parts._replace(netloc=netloc).geturl()
        return self.original


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
        path = path.split("?", 1)[0]
        if path in ("", ":memory:"):
            raise ConfigError(
                "In-memory SQLite is not supported: worker processes would each see their own database. "
                "Name a file, e.g. sqlite:///aiotrack.db."
            )
        return StoreURI("sqlite", os.path.abspath(path), uri)
    if scheme in _PG_SCHEMES:
        return StoreURI("postgresql", "postgresql://" + rest, uri)
    raise ConfigError(f"Unsupported backend store URI {uri!r}. Supported: {SUPPORTED}.")
