"""Where artifacts live, as `mlflow server` decides it, and which locations clients may name.

* The default artifact root (``--default-artifact-root``): ``mlflow-artifacts:/`` when serving
  artifacts, MLflow's ``./mlruns`` made absolute otherwise; a relative local root given by the
  user is made absolute against the working directory, as MLflow does. Experiments get
  ``<root>/<experiment_id>`` and runs ``<experiment location>/<run_id>/artifacts``, so the client
  picks the same upload path as against `mlflow server`: ``mlflow-artifacts:/...`` goes through
  this server's proxy (``/api/2.0/mlflow-artifacts/artifacts/...``), other roots are written by
  the client directly.
* :class:`ArtifactLocations` refuses experiment ``artifact_location`` values and model-version
  sources that point outside the configured roots (the default root; the proxied destination;
  ``mlflow-artifacts:/`` when serving) or at other hosts. This is stricter than MLflow, which
  lets a client create an experiment whose local artifact_location is any writable directory.
* :meth:`ArtifactLocations.resolve_run_root` maps a run's ``artifact_uri`` to the repository
  that holds it and the path inside that repository, for the run-artifact endpoints.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from aiotrack.artifacts import local_path_of, repository_for_uri
from aiotrack.artifacts.base import ArtifactRepository
from aiotrack.artifacts.paths import INVALID_PATH, safe_relative_path
from aiotrack.config import Settings
from aiotrack.errors import AiotrackError, invalid

MLFLOW_ARTIFACTS = "mlflow-artifacts"
PROXY_ROUTE = "/api/2.0/mlflow-artifacts/artifacts"
# MLflow's placeholder sources for prompt versions: not locations, nothing to confine.
_NON_LOCATION_SCHEMES = frozenset({"runs", "models", "prompts"})


def resolve_default_artifact_root(settings: Settings) -> str:
    root = settings.effective_default_artifact_root
    parts = urlsplit(root)
    if parts.scheme == "":
        return os.path.abspath(root)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and not parts.path.startswith("/"):
        return "file://" + os.path.abspath(unquote(parts.path))
    return root


@dataclass(frozen=True)
class _Loc:
    scheme: str
    netloc: str
    parts: tuple[str, ...]

    def within(self, root: _Loc) -> bool:
        return self.scheme == root.scheme and self.netloc == root.netloc and self.parts[: len(root.parts)] == root.parts


def _normalize(uri: str) -> _Loc:
    """A location's (scheme, host, path segments), decoded until stable; '..', control characters
    and fragments are refused outright (never resolved)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        raise invalid(INVALID_PATH)
    local = local_path_of(uri)
    parts = urlsplit(uri)
    if parts.fragment or parts.query or "#" in uri:
        raise invalid(f"Invalid artifact location '{uri}': a location has no query or fragment.")
    if local is not None:
        raw_path = unquote(parts.path) if parts.scheme == "file" else uri
        scheme, netloc = "file", ""
    else:
        raw_path, scheme, netloc = parts.path, parts.scheme.lower(), parts.netloc.lower()
    # Decode every segment until stable and refuse traversal in any encoding.
    decoded = raw_path
    for _ in range(8):
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    else:
        raise invalid(INVALID_PATH)
    if "\\" in decoded or ";" in decoded or "\x00" in decoded:
        raise invalid(INVALID_PATH)
    segs = [s for s in decoded.split("/") if s not in ("", ".")]
    if ".." in segs:
        raise invalid(INVALID_PATH)
    if local is not None and not decoded.startswith("/"):
        segs = [s for s in os.getcwd().split("/") if s] + segs
    return _Loc(scheme, netloc, tuple(segs))


class ArtifactLocations:
    """The configured artifact roots, the repositories behind them, and the location checks."""

    def __init__(self, settings: Settings):
        self.serve_artifacts = settings.serve_artifacts
        self.default_root = resolve_default_artifact_root(settings)
        self.destination = settings.artifacts_destination
        # Repositories are built here (URIs checked, ConfigError early) and started by the app.
        self.proxy: ArtifactRepository | None = repository_for_uri(self.destination) if self.serve_artifacts else None
        # Whether the client may send (and fetch) proxied artifacts in parts: server-info says so,
        # as MLflow does for a multipart-capable destination (S3).
        self.multipart_enabled: bool = self.proxy is not None and self.proxy.supports_multipart
        default_scheme = urlsplit(self.default_root).scheme
        self.default_repo: ArtifactRepository | None = None
        if default_scheme != MLFLOW_ARTIFACTS and (
            local_path_of(self.default_root) is not None or default_scheme == "s3"
        ):
            self.default_repo = repository_for_uri(self.default_root)
        self._roots: list[_Loc] = []
        if default_scheme != MLFLOW_ARTIFACTS:
            self._roots.append(_normalize(self.default_root))
        if self.serve_artifacts:
            self._roots.append(_Loc(MLFLOW_ARTIFACTS, "", ()))
            self._roots.append(_normalize(self.destination))

    def repositories(self) -> list[ArtifactRepository]:
        return [r for r in (self.proxy, self.default_repo) if r is not None]

    # ------------------------------------------------------------------ checks

    def _check(self, uri: str, what: str) -> None:
        try:
            loc = _normalize(uri)
        except AiotrackError:
            raise invalid(f"Invalid {what} '{uri}': it contains a path traversal or illegal characters.") from None
        if loc.scheme == MLFLOW_ARTIFACTS and not self.serve_artifacts:
            raise invalid(
                f"Invalid {what} '{uri}': this server runs with --no-serve-artifacts, so "
                "mlflow-artifacts: locations cannot be served."
            )
        if loc.scheme == MLFLOW_ARTIFACTS and loc.netloc:
            raise invalid(f"Invalid {what} '{uri}': it points at another host ({loc.netloc}).")
        if loc.scheme in ("http", "https"):
            raise invalid(
                f"Invalid {what} '{uri}': artifact locations on other hosts are not accepted; "
                "use an mlflow-artifacts:/ location."
            )
        if not any(loc.within(root) for root in self._roots):
            raise invalid(f"Invalid {what} '{uri}': it is outside the configured artifact roots ({self._describe()}).")

    def _describe(self) -> str:
        roots = []
        if urlsplit(self.default_root).scheme != MLFLOW_ARTIFACTS:
            roots.append(self.default_root)
        if self.serve_artifacts:
            roots += ["mlflow-artifacts:/", self.destination]
        return ", ".join(roots)

    def check_artifact_location(self, location: str) -> str:
        """For experiments/create: the location to record (a relative local path made absolute),
        or INVALID_PARAMETER_VALUE when it points outside the roots or at another host."""
        self._check(location, "artifact location")
        local = local_path_of(location)
        if local is not None:
            canonical = "/" + "/".join(_normalize(location).parts)
            return "file://" + canonical if urlsplit(location).scheme == "file" else canonical
        return location

    def check_model_version_source(self, source: str) -> None:
        """For model-versions/create: a source naming a storage location must lie inside the
        configured roots. ``runs:/``, ``models:/`` and ``prompts:/`` sources are references the
        registry resolves (and validates) itself, and pass through."""
        scheme = urlsplit(source).scheme.lower()
        if scheme in _NON_LOCATION_SCHEMES:
            return
        self._check(source, "model version source")

    # ------------------------------------------------------------------ resolution

    def resolve_run_root(self, artifact_uri: str) -> tuple[ArtifactRepository, str] | None:
        """(repository, path in it) holding a run's artifacts, or None when this server cannot
        reach them (a location outside its roots, or proxied while not serving)."""
        try:
            loc = _normalize(artifact_uri)
        except AiotrackError:
            return None
        parts = urlsplit(artifact_uri)
        if parts.scheme in ("http", "https") and PROXY_ROUTE + "/" in parts.path:
            # An http(s) proxied root: the path after the mlflow-artifacts route, on any host,
            # is read from this server's destination (as MLflow does).
            tail = unquote(parts.path.split(PROXY_ROUTE + "/", 1)[1])
            return (self.proxy, safe_relative_path(tail)) if self.proxy is not None else None
        if loc.scheme == MLFLOW_ARTIFACTS:
            if self.proxy is None or loc.netloc:
                return None
            return self.proxy, "/".join(loc.parts)
        if self.default_repo is not None:
            root = _normalize(self.default_root)
            if loc.within(root):
                return self.default_repo, "/".join(loc.parts[len(root.parts) :])
        if self.proxy is not None:
            root = _normalize(self.destination)
            if loc.within(root):
                return self.proxy, "/".join(loc.parts[len(root.parts) :])
        return None


def join_artifact_path(base: str, rel: str) -> str:
    return posixpath.join(base, rel) if base and rel else (base or rel)
