"""URI and path safety: the one home for every rule about where a path or URI points.

Everything that turns a client's path or URI into a location goes through this module: the
artifact path guard (:func:`relative_path`, :func:`confine`), the configured roots and the
experiment ``artifact_location`` check (``services/artifact_uris.py``), and the model-version
source policy (``services/registry.py``). Its pieces:

* :func:`decode_until_stable` percent-decodes at most :data:`MAX_DECODE_ROUNDS` times; a value
  still changing after that is refused (no honest path nests encodings that deep).
* :func:`scheme` and :func:`local_path`: a URI's scheme, and the filesystem path of a plain path
  or a ``file:`` URI on this host (``file://otherhost/...`` is not local; a drive letter is local
  only on Windows).
* :func:`relative_path`: the canonical relative form of a client's artifact path, refusing, in
  any encoding depth, ``..`` segments, backslashes, absolute paths and drive letters, any URI
  scheme, NUL and other control characters, ``#`` and ``;``, and segments over
  :data:`MAX_SEGMENT_BYTES` bytes (a filesystem name limit).
* :func:`parse_location` and :meth:`Location.within`: a URI as (scheme, host, path segments),
  decoded and with ``..`` refused, and the "at or below a root" test on those segments.
* :func:`real_path_within` and :func:`confine`: the local-disk test after resolving symlinks and
  ``..`` (the real path must lie inside the real root).
* :func:`join` (relative paths) and :func:`join_uri` (MLflow's ``append_to_uri_path``).

Refusals raise :class:`UnsafeLocation`, an ``INVALID_PARAMETER_VALUE`` error saying "Invalid
path"; callers that owe the client another wording (the registry's) catch it and say theirs.
Nothing here does I/O except the ``realpath`` calls of :func:`real_path_within` and
:func:`confine`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aiotrack.errors import INVALID_PARAMETER_VALUE, AiotrackError

INVALID_PATH = "Invalid path"
# Enough for any honest path; a value nesting encodings deeper is refused outright.
MAX_DECODE_ROUNDS = 8
# The longest file name Linux, macOS and Windows filesystems accept (ext4, APFS, NTFS: 255).
MAX_SEGMENT_BYTES = 255

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORBIDDEN_IN_RELATIVE = ("\\", "#", ";")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


class UnsafeLocation(AiotrackError):
    """A path or URI that is refused: 400 INVALID_PARAMETER_VALUE."""

    def __init__(self, message: str = INVALID_PATH):
        super().__init__(message, INVALID_PARAMETER_VALUE)


def decode_until_stable(value: str) -> str:
    """``value`` percent-decoded until decoding changes nothing, at most MAX_DECODE_ROUNDS times."""
    for _ in range(MAX_DECODE_ROUNDS):
        decoded = unquote(value)
        if decoded == value:
            return value
        value = decoded
    raise UnsafeLocation()


def has_control_chars(value: str) -> bool:
    return _CONTROL.search(value) is not None


def scheme(uri: str) -> str:
    """The URI's scheme in lower case ('' for a plain path). A drive letter reads as a
    one-letter scheme; :func:`local_path` decides whether that is local (Windows only)."""
    match = _SCHEME.match(uri)
    return match.group(1).lower() if match else ""


def local_path(uri: str) -> str | None:
    """The filesystem path named by a plain path or a ``file:`` URI on this host (its path
    percent-decoded once, as a URI's path is), not made absolute; None for any other URI."""
    kind = scheme(uri)
    if kind == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            return None
        return unquote(parts.path)
    if kind == "" or (len(kind) == 1 and os.name == "nt"):
        return uri
    return None


def _check_segments(segments: list[str]) -> None:
    if any(len(s.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES for s in segments):
        raise UnsafeLocation(f"Invalid path: a path segment is longer than {MAX_SEGMENT_BYTES} bytes.")


def relative_path(raw: str | None) -> str:
    """The canonical relative form of a client's artifact path ('' for the root), or
    :class:`UnsafeLocation`. A scheme (``file:``, ``s3:``, ``C:``) or a leading ``/`` means the
    client names a location, not a path under the root, and is refused."""
    if raw is None:
        return ""
    path = decode_until_stable(raw)
    if has_control_chars(path) or any(c in path for c in _FORBIDDEN_IN_RELATIVE):
        raise UnsafeLocation()
    if _SCHEME.match(path) or path.startswith("/"):
        raise UnsafeLocation()
    parts = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise UnsafeLocation()
        parts.append(part)
    _check_segments(parts)
    return "/".join(parts)


@dataclass(frozen=True)
class Location:
    """A URI as scheme, host and path segments; local paths are ``file`` with no host and
    absolute segments."""

    scheme: str
    netloc: str
    parts: tuple[str, ...]

    def within(self, root: Location) -> bool:
        """At or below ``root``: same scheme and host, ``root``'s segments a prefix of ours."""
        return self.scheme == root.scheme and self.netloc == root.netloc and self.parts[: len(root.parts)] == root.parts

    def relative_to(self, root: Location) -> str:
        """The path below ``root`` (call only when :meth:`within` holds)."""
        return "/".join(self.parts[len(root.parts) :])

    @property
    def path(self) -> str:
        return "/".join(self.parts)


def parse_location(uri: str) -> Location:
    """``uri`` as a :class:`Location`, decoded until stable. Refused (never resolved): ``..``
    segments, backslashes, ``;``, control characters, a query or fragment. A relative local path
    is made absolute against the working directory."""
    if has_control_chars(uri) or "#" in uri:
        raise UnsafeLocation()
    parts = urlsplit(uri)
    if parts.query:
        raise UnsafeLocation()
    local = local_path(uri)
    if local is not None:
        raw_path, kind, netloc = local, "file", ""
    else:
        raw_path, kind, netloc = parts.path, parts.scheme.lower(), parts.netloc.lower()
    decoded = decode_until_stable(raw_path)
    if has_control_chars(decoded) or "\\" in decoded or ";" in decoded:
        raise UnsafeLocation()
    segments = [s for s in decoded.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise UnsafeLocation()
    if local is not None and not decoded.startswith("/"):
        segments = [s for s in os.getcwd().split("/") if s] + segments
    return Location(kind, netloc, tuple(segments))


def real_path_within(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether ``path``, with ``..`` and symlinks resolved, is ``root`` (resolved) or below it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def confine(root: Path, rel: str) -> Path:
    """The local path for the canonical relative path ``rel`` under ``root``; refused when its
    real location (symlinks in its existing components resolved) leaves the real root."""
    real_root = Path(os.path.realpath(root))
    candidate = real_root.joinpath(*rel.split("/")) if rel else real_root
    if not real_path_within(candidate, real_root):
        raise UnsafeLocation()
    return candidate


def join(base: str, rel: str) -> str:
    """Join two canonical relative paths."""
    if not base:
        return rel
    if not rel:
        return base
    return f"{base}/{rel}"


def join_uri(root: str, *tail: str) -> str:
    """MLflow's ``append_to_uri_path``: ``mlflow-artifacts:/`` + ``2`` -> ``mlflow-artifacts:/2``,
    ``s3://b/p/`` + ``x`` -> ``s3://b/p/x``."""
    rest = "/".join(t.strip("/") for t in tail if t)
    if not root:
        return rest
    if not rest:
        return root
    if root.endswith(":/") or root.endswith(":///"):
        return root + rest
    return root.rstrip("/") + "/" + rest
