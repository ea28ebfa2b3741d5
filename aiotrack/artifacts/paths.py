"""Artifact path safety: decode until stable, canonicalize, confine to the root.

Every artifact path that arrives from a client (URL path, ``?path=``, a JSON field) goes
through :func:`safe_relative_path` before it reaches a repository. The function answers a
canonical POSIX path relative to the artifact root ('' for the root itself) or raises
MLflow's ``INVALID_PARAMETER_VALUE`` ("Invalid path", HTTP 400).

Refused, in any percent-encoding depth (``%2e%2e``, ``%252e%252e``, ...):

* ``..`` segments (never resolved, always refused), backslashes (``..\\``),
* absolute paths (``/etc``, ``C:``, ``\\\\host``), ``file://`` and any other URI scheme,
* NUL and other control characters, ``#`` (fragment tricks) and ``;`` (path parameters,
  ``..;/``).

:func:`confine` is the second line of defence for local disk: after joining, the real path
(symlinks resolved) must still lie inside the real root, so a symlink pointing outside is
refused too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote

from aiotrack.errors import invalid

INVALID_PATH = "Invalid path"

# Enough for any honest path; an attacker nesting encodings deeper is refused outright.
_MAX_DECODE_ROUNDS = 8
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORBIDDEN_CHARS = ("\\", "#", ";")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def decode_until_stable(value: str) -> str:
    for _ in range(_MAX_DECODE_ROUNDS):
        decoded = unquote(value)
        if decoded == value:
            return value
        value = decoded
    raise invalid(INVALID_PATH)


def safe_relative_path(raw: str | None) -> str:
    """The canonical relative form of ``raw`` ('' for the root), or INVALID_PARAMETER_VALUE."""
    if raw is None:
        return ""
    path = decode_until_stable(raw)
    if _CONTROL.search(path) or any(c in path for c in _FORBIDDEN_CHARS):
        raise invalid(INVALID_PATH)
    # A scheme ("file:", "s3:", "C:") means the caller names a location, not a relative path.
    if _SCHEME.match(path) or path.startswith("/"):
        raise invalid(INVALID_PATH)
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise invalid(INVALID_PATH)
        parts.append(part)
    return "/".join(parts)


def join(base: str, rel: str) -> str:
    """Join two canonical relative paths."""
    if not base:
        return rel
    if not rel:
        return base
    return f"{base}/{rel}"


def confine(root: Path, rel: str) -> Path:
    """The local path for the canonical relative path ``rel`` under ``root``, refusing any path
    whose real location (after resolving symlinks in its existing components) leaves the root."""
    real_root = Path(os.path.realpath(root))
    candidate = real_root.joinpath(*rel.split("/")) if rel else real_root
    real = Path(os.path.realpath(candidate))
    if real != real_root and real_root not in real.parents:
        raise invalid(INVALID_PATH)
    return candidate
