"""Host header check (DNS-rebinding protection): a pure decision plus a thin middleware.

The decision compares *parsed* names, never text patterns over the raw header:

- The Host header is split into a host and an optional port (``[v6]:port`` understood); a header
  that is not a plain host name, IPv4 address or bracketed IPv6 address is refused.
- The default (no ``--allowed-hosts``) accepts ``localhost``, ``0.0.0.0``, loopback addresses and
  private IP *addresses* (10/8, 172.16/12, 192.168/16, fc00::/7), each on any port. Only real IP
  literals count: ``10.evil.com``, ``192.168.attacker.net`` or ``10.0.0.1.nip.io`` are names an
  attacker controls, which MLflow's ``10.*`` glob lets through; here they are refused.
- ``--allowed-hosts`` replaces the default, like MLflow: a comma list of host names (``*`` and
  ``?`` wildcards within the name: ``*.example.com``), IPv4 patterns (``10.1.*`` matches IPv4
  addresses only, never names), CIDR networks (``10.0.0.0/8``, ``fd00::/8``), or ``*`` (anything).
  An entry without a port matches that host on any port or none; ``host:port`` requires that port.
- ``/health`` and ``/version`` (under the static prefix) are exempt, so load balancers can probe.

A refusal is 403 with MLflow's message, in MLflow's error JSON shape (the error middleware,
outermost, renders it).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import logging
import re
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from aiotrack.errors import PERMISSION_DENIED, AiotrackError, ConfigError

log = logging.getLogger("aiotrack.security")

INVALID_HOST_MSG = "Invalid Host header - possible DNS rebinding attack detected"

EXEMPT_PATHS = ("/health", "/version")

_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "fc00::/7",
        "0.0.0.0/32",
    )
)
_LOCAL_NAMES = frozenset({"localhost"})

_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
_NAME_PATTERN = re.compile(r"^[a-z0-9_*?.-]+$")
_IPV4_PATTERN = re.compile(r"^[0-9*?.]+$")
_PORT = re.compile(r"^[0-9]{1,5}$")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class HostName:
    """A parsed Host header: a lowercase name or an IP address, and the port if one was given."""

    name: str  # lowercase, no brackets, no trailing dot
    ip: IPAddress | None
    port: int | None


def parse_host_header(value: str | None) -> HostName | None:
    """Split a Host header into host and port; None when it is missing or malformed."""
    if not value:
        return None
    value = value.strip().lower()
    port: str | None = None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                return None
            port = rest[1:]
        try:
            ip: IPAddress | None = ipaddress.IPv6Address(host)
        except ValueError:
            return None
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep:
            host = value
        else:
            port = port_text
        if ":" in host:  # an unbracketed IPv6 address is not a valid Host header
            return None
        if host.endswith("."):
            host = host[:-1]
        try:
            ip = ipaddress.IPv4Address(host)
        except ValueError:
            ip = None
            if not _NAME.match(host) or len(host) > 253:
                return None
    port_number: int | None = None
    if port is not None:
        if not _PORT.match(port) or not 0 < int(port) < 65536:
            return None
        port_number = int(port)
    return HostName(host if ip is None else str(ip), ip, port_number)


def is_private_address(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in _PRIVATE_NETWORKS)


@dataclass(frozen=True)
class HostRule:
    """One --allowed-hosts entry."""

    kind: str  # "name" | "ipv4-pattern" | "network"
    pattern: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    port: int | None  # None: any port (or none)

    def matches(self, host: HostName) -> bool:
        if self.port is not None and host.port != self.port:
            return False
        if self.kind == "network":
            net = self.network
            return net is not None and host.ip is not None and host.ip.version == net.version and host.ip in net
        if self.kind == "ipv4-pattern":
            return isinstance(host.ip, ipaddress.IPv4Address) and fnmatch.fnmatchcase(host.name, self.pattern)
        if host.ip is not None:
            return host.name == self.pattern  # an IP written literally in the list
        return fnmatch.fnmatchcase(host.name, self.pattern)


@dataclass(frozen=True)
class HostPolicy:
    allow_all: bool
    rules: tuple[HostRule, ...]  # empty: the default (local and private addresses)

    @property
    def is_default(self) -> bool:
        return not self.allow_all and not self.rules

    def describe(self) -> str:
        if self.allow_all:
            return "any host (*)"
        if self.is_default:
            return "localhost, loopback and private IP addresses (default)"
        return ", ".join(r.pattern + (f":{r.port}" if r.port is not None else "") for r in self.rules)


def _parse_rule(entry: str) -> HostRule:
    raw = entry.strip().lower()
    bad = ConfigError(
        f"--allowed-hosts: {entry.strip()!r} is not a host name, host:port, IPv4 pattern, IP network "
        "or '*' (examples: mlflow.example.com, *.example.com, mlflow.example.com:443, 10.0.0.0/8)."
    )
    if "/" in raw:
        try:
            return HostRule("network", raw, ipaddress.ip_network(raw, strict=False), None)
        except ValueError:
            raise bad from None
    port: int | None = None
    host = raw
    if raw.startswith("["):
        end = raw.find("]")
        if end < 0:
            raise bad
        host, rest = raw[1:end], raw[end + 1 :]
        if rest and rest != ":*":
            if not rest.startswith(":") or not _PORT.match(rest[1:]):
                raise bad
            port = int(rest[1:])
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError:
            raise bad from None
        return HostRule("network", str(ip), ipaddress.ip_network(ip), port)
    if raw.count(":") == 1:
        host, port_text = raw.split(":")
        if port_text != "*":
            if not _PORT.match(port_text):
                raise bad
            port = int(port_text)
    elif ":" in raw:
        try:  # a bare IPv6 address
            ip = ipaddress.IPv6Address(raw)
        except ValueError:
            raise bad from None
        return HostRule("network", str(ip), ipaddress.ip_network(ip), None)
    host = host.rstrip(".")
    if not host:
        raise bad
    if _IPV4_PATTERN.match(host) and any(c.isdigit() for c in host):
        if "*" in host or "?" in host:
            return HostRule("ipv4-pattern", host, None, port)
        try:
            return HostRule("name", str(ipaddress.IPv4Address(host)), None, port)
        except ValueError:
            raise bad from None
    if not _NAME_PATTERN.match(host):
        raise bad
    return HostRule("name", host, None, port)


def host_policy(allowed_hosts: str | None) -> HostPolicy:
    """Parse --allowed-hosts; raise ConfigError on an entry that is not a host."""
    entries = [e.strip() for e in (allowed_hosts or "").split(",") if e.strip()]
    if "*" in entries:
        return HostPolicy(True, ())
    return HostPolicy(False, tuple(_parse_rule(e) for e in entries))


def is_allowed_host(policy: HostPolicy, header: str | None) -> bool:
    """The decision: may a request with this Host header be served?"""
    if policy.allow_all:
        return True
    host = parse_host_header(header)
    if host is None:
        return False
    if policy.is_default:
        if host.ip is not None:
            return is_private_address(host.ip)
        return host.name in _LOCAL_NAMES
    return any(rule.matches(host) for rule in policy.rules)


def is_exempt(path: str, prefix: str) -> bool:
    return any(path == prefix + p for p in EXEMPT_PATHS)


DECISION_CACHE_SIZE = 1024


def host_middleware(policy: HostPolicy, prefix: str) -> Middleware:
    # Parsing a Host header and testing it against networks costs more than the rest of a small
    # request's middleware chain; clients send few distinct values, so remember the decisions.
    decided: dict[str | None, bool] = {}

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not is_exempt(request.path, prefix):
            header = request.headers.get("Host")
            allowed = decided.get(header)
            if allowed is None:
                allowed = is_allowed_host(policy, header)
                if len(decided) >= DECISION_CACHE_SIZE:
                    decided.clear()
                decided[header] = allowed
            if not allowed:
                log.warning("Rejected request with invalid Host header: %r", header)
                raise AiotrackError(INVALID_HOST_MSG, PERMISSION_DENIED)
        return await handler(request)

    return check_host
