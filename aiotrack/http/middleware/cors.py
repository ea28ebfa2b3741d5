"""Cross-origin requests: which origins may call the API, a pure decision plus thin wiring.

Two halves:

1. CORS response headers and preflight (OPTIONS) answers come from aiohttp-cors, configured for
   every route with an origin table that asks :func:`is_allowed_origin` (aiohttp-cors itself only
   compares exact strings, which cannot express "localhost on any port").
2. :func:`origin_middleware` refuses state-changing requests (POST, PUT, DELETE, PATCH) whose
   ``Origin`` is not allowed, with 403 and MLflow's message: a browser sends a cross-site "simple"
   request (a form POST) without asking first, so headers alone do not stop it. Requests without an
   ``Origin`` header (the mlflow client, curl) are not cross-site and pass. ``Origin: null``
   (sandboxed frames, file:// pages) is never allowed unless ``--cors-allowed-origins '*'``.
   MLflow checks this on /api/ and /ajax-api/ paths only; aiotrack checks every path, since every
   state-changing route it serves is an API route anyway.

Origins are compared parsed (scheme, host, port), never as text globs over the whole header:
``--cors-allowed-origins`` entries are ``scheme://host[:port]`` where the host may hold ``*``
wildcards (``https://*.example.com``) and the port may be ``*``; an entry without a port means the
scheme's default port. The default allows http(s) origins on localhost, 127.0.0.1 and [::1] on
any port, like MLflow. ``*`` allows every origin without credentials (MLflow's behaviour).
"""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp_cors
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_cors.urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

from aiotrack.errors import PERMISSION_DENIED, AiotrackError, ConfigError
from aiotrack.http.middleware.hosts import parse_host_header

log = logging.getLogger("aiotrack.security")

CORS_BLOCKED_MSG = "Cross-origin request blocked"
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
CORS_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_HOST_PATTERN = re.compile(r"^[a-z0-9_*?.-]+$|^\[[0-9a-f:.]+\]$")


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # lowercase; IPv6 without brackets
    port: int


def parse_origin(value: str | None) -> Origin | None:
    """Parse an Origin header; None for a missing, ``null`` or malformed one.

    Strict: ``scheme://host[:port]`` and nothing else, the host part parsed by the same rules as
    a Host header (middleware/hosts.py), so ``http://[::1].evil.com`` or ``http://local host``
    is malformed, never read as ``[::1]`` or ``local``."""
    if not value or value.strip().lower() == "null":
        return None
    scheme, sep, netloc = value.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _DEFAULT_PORTS:
        return None
    if netloc.endswith("/"):
        netloc = netloc[:-1]
    if not netloc or any(c in netloc for c in "/?#@\\"):
        return None
    host = parse_host_header(netloc)
    if host is None:
        return None
    return Origin(scheme, host.name, host.port if host.port is not None else _DEFAULT_PORTS[scheme])


@dataclass(frozen=True)
class OriginRule:
    scheme: str
    host: str  # may hold wildcards
    port: int | None  # None: any port

    def matches(self, origin: Origin) -> bool:
        if origin.scheme != self.scheme:
            return False
        if self.port is not None and origin.port != self.port:
            return False
        if "*" in self.host or "?" in self.host:
            return fnmatch.fnmatchcase(origin.host, self.host)
        return origin.host == self.host


@dataclass(frozen=True)
class OriginPolicy:
    allow_all: bool
    rules: tuple[OriginRule, ...]

    def describe(self) -> str:
        if self.allow_all:
            return "any origin (*), without credentials"
        extra = [r for r in self.rules if r not in _LOCAL_RULES]
        listed = ", ".join(f"{r.scheme}://{r.host}" + (f":{r.port}" if r.port is not None else ":*") for r in extra)
        return "localhost origins on any port" + (f", {listed}" if listed else "")


_LOCAL_RULES = tuple(OriginRule(s, h, None) for s in ("http", "https") for h in _LOCAL_HOSTS)


def _parse_rule(entry: str) -> OriginRule:
    bad = ConfigError(
        f"--cors-allowed-origins: {entry!r} is not an origin: use scheme://host[:port], e.g. "
        "https://app.example.com, https://*.example.com, http://10.0.0.5:3000, or '*'."
    )
    m = re.match(r"^(https?)://([^/?#]+)$", entry.strip().lower().rstrip("/"))
    if not m:
        raise bad
    scheme, netloc = m.groups()
    port: int | None = _DEFAULT_PORTS[scheme]
    host = netloc
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
    else:
        host, sep, rest = netloc.partition(":")
        rest = sep + rest
    if rest:
        if rest == ":*":
            port = None
        elif re.match(r"^:[0-9]{1,5}$", rest):
            port = int(rest[1:])
        else:
            raise bad
    if not host or not _HOST_PATTERN.match(host):
        raise bad
    return OriginRule(scheme, host.strip("[]"), port)


def origin_policy(cors_allowed_origins: str | None) -> OriginPolicy:
    """Parse --cors-allowed-origins; raise ConfigError on an entry that is not an origin."""
    entries = [e.strip() for e in (cors_allowed_origins or "").split(",") if e.strip()]
    if "*" in entries:
        return OriginPolicy(True, ())
    return OriginPolicy(False, _LOCAL_RULES + tuple(_parse_rule(e) for e in entries))


def is_allowed_origin(policy: OriginPolicy, header: str | None) -> bool:
    if policy.allow_all:
        return True
    origin = parse_origin(header)
    return origin is not None and any(rule.matches(origin) for rule in policy.rules)


def should_block(policy: OriginPolicy, method: str, origin_header: str | None) -> bool:
    """The decision: refuse a state-changing request from a disallowed origin."""
    if origin_header is None or method.upper() not in STATE_CHANGING_METHODS:
        return False
    return not is_allowed_origin(policy, origin_header)


def origin_middleware(policy: OriginPolicy) -> Middleware:
    @web.middleware
    async def check_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if should_block(policy, request.method, origin):
            log.warning("Blocked cross-origin %s %s from %r", request.method, request.path, origin)
            raise AiotrackError(CORS_BLOCKED_MSG, PERMISSION_DENIED)
        return await handler(request)

    return check_origin


class _OriginTable(Mapping[str, Any]):
    """aiohttp-cors looks origins up in a mapping; this one answers by the policy."""

    def __init__(self, policy: OriginPolicy, options: aiohttp_cors.ResourceOptions):
        self._policy = policy
        self._options = options

    def __getitem__(self, origin: str) -> aiohttp_cors.ResourceOptions:
        if origin != "*" and is_allowed_origin(self._policy, origin):
            return self._options
        raise KeyError(origin)

    def __contains__(self, origin: object) -> bool:
        return isinstance(origin, str) and origin != "*" and is_allowed_origin(self._policy, origin)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 1  # never "empty": aiohttp-cors refuses every preflight for an empty table

    def __bool__(self) -> bool:
        return True


def setup_cors(app: web.Application, policy: OriginPolicy) -> None:
    """Enable CORS headers and preflight answers on every route registered so far."""
    # aiohttp_cors has no type hints
    options = aiohttp_cors.ResourceOptions(  # type: ignore[no-untyped-call]
        allow_credentials=not policy.allow_all,
        expose_headers="*",
        allow_headers="*",
        allow_methods=list(CORS_METHODS),
        max_age=600,
    )
    adapter = ResourcesUrlDispatcherRouterAdapter(app.router, _OriginTable(policy, options))
    cors = aiohttp_cors.CorsConfig(app, router_adapter=adapter)
    for resource in list(app.router.resources()):
        if any(route.method == "OPTIONS" for route in resource):
            continue
        cors.add(resource)
