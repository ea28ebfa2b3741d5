"""Where artifacts live, as `mlflow server` decides it, and which locations clients may name.

* The default artifact root (``--default-artifact-root``): ``mlflow-artifacts:/`` when serving
  artifacts, MLflow's ``./mlruns`` made absolute otherwise; a relative local root given by the
  user is made absolute against the working directory, as MLflow does. Experiments get
  ``<root>/<experiment_id>`` and runs ``<experiment location>/<run_id>/artifacts``, so the client
  picks the same upload path as against `mlflow server`: ``mlflow-artifacts:/...`` goes through
  this server's proxy (``/api/2.0/mlflow-artifacts/artifacts/...``), other roots are written by
  the client directly.
* :class:`ArtifactLocations` refuses experiment ``artifact_location`` values that point outside
  the configured roots (the default root; the proxied destination; ``mlflow-artifacts:/`` when
  serving) or at other hosts. This is stricter than MLflow, which lets a client create an
  experiment whose local artifact_location is any writable directory. (Model-version sources
  follow their own policy, in ``services/registry.py``.) The path rules themselves live in
  :mod:`aiotrack.artifacts.locations`.
* :meth:`ArtifactLocations.resolve_run_root` maps a run's ``artifact_uri`` to the repository
  that holds it and the path inside that repository, for the run-artifact endpoints.
"""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

from aiotrack.artifacts import repository_for_uri
from aiotrack.artifacts.base import ArtifactRepository
from aiotrack.artifacts.locations import Location, UnsafeLocation, local_path, parse_location, relative_path, scheme
from aiotrack.config import Settings
from aiotrack.errors import invalid

MLFLOW_ARTIFACTS = "mlflow-artifacts"
PROXY_ROUTE = "/api/2.0/mlflow-artifacts/artifacts"
_PROXY_ROOT = Location(MLFLOW_ARTIFACTS, "", ())


def resolve_default_artifact_root(settings: Settings) -> str:
    """The default artifact root as MLflow records it: a relative local root made absolute."""
    root = settings.effective_default_artifact_root
    local = local_path(root)
    if local is None:
        return root
    if scheme(root) != "file":
        return os.path.abspath(local)
    return root if local.startswith("/") else "file://" + os.path.abspath(local)


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
        default_scheme = scheme(self.default_root)
        self.default_repo: ArtifactRepository | None = None
        if default_scheme != MLFLOW_ARTIFACTS and (local_path(self.default_root) is not None or default_scheme == "s3"):
            self.default_repo = repository_for_uri(self.default_root)
        self._default_loc = parse_location(self.default_root) if default_scheme != MLFLOW_ARTIFACTS else None
        self._destination_loc = parse_location(self.destination) if self.serve_artifacts else None
        self._roots = [r for r in (self._default_loc, self._destination_loc) if r is not None]
        if self.serve_artifacts:
            self._roots.append(_PROXY_ROOT)

    def repositories(self) -> list[ArtifactRepository]:
        return [r for r in (self.proxy, self.default_repo) if r is not None]

    # ------------------------------------------------------------------ checks

    def _describe(self) -> str:
        roots = []
        if self._default_loc is not None:
            roots.append(self.default_root)
        if self.serve_artifacts:
            roots += ["mlflow-artifacts:/", self.destination]
        return ", ".join(roots)

    def check_artifact_location(self, location: str) -> str:
        """For experiments/create: the location to record (a relative local path made absolute),
        or INVALID_PARAMETER_VALUE when it points outside the roots or at another host."""
        what = "artifact location"
        try:
            loc = parse_location(location)
        except UnsafeLocation:
            raise invalid(f"Invalid {what} '{location}': it contains a path traversal or illegal characters.") from None
        if loc.scheme == MLFLOW_ARTIFACTS and not self.serve_artifacts:
            raise invalid(
                f"Invalid {what} '{location}': this server runs with --no-serve-artifacts, so "
                "mlflow-artifacts: locations cannot be served."
            )
        if loc.scheme == MLFLOW_ARTIFACTS and loc.netloc:
            raise invalid(f"Invalid {what} '{location}': it points at another host ({loc.netloc}).")
        if loc.scheme in ("http", "https"):
            raise invalid(
                f"Invalid {what} '{location}': artifact locations on other hosts are not accepted; "
                "use an mlflow-artifacts:/ location."
            )
        if not any(loc.within(root) for root in self._roots):
            raise invalid(
                f"Invalid {what} '{location}': it is outside the configured artifact roots ({self._describe()})."
            )
        if loc.scheme == "file":
            canonical = "/" + loc.path
            return "file://" + canonical if scheme(location) == "file" else canonical
        return location

    # ------------------------------------------------------------------ resolution

    def resolve_run_root(self, artifact_uri: str) -> tuple[ArtifactRepository, str] | None:
        """(repository, path in it) holding a run's artifacts, or None when this server cannot
        reach them (a location outside its roots, or proxied while not serving)."""
        try:
            loc = parse_location(artifact_uri)
        except UnsafeLocation:
            return None
        if loc.scheme in ("http", "https"):
            # An http(s) proxied root: the path after the mlflow-artifacts route, on any host,
            # is read from this server's destination (as MLflow does).
            path = urlsplit(artifact_uri).path
            if self.proxy is None or PROXY_ROUTE + "/" not in path:
                return None
            return self.proxy, relative_path(unquote(path.split(PROXY_ROUTE + "/", 1)[1]))
        if loc.scheme == MLFLOW_ARTIFACTS:
            if self.proxy is None or loc.netloc:
                return None
            return self.proxy, loc.path
        if self.default_repo is not None and self._default_loc is not None and loc.within(self._default_loc):
            return self.default_repo, loc.relative_to(self._default_loc)
        if self.proxy is not None and self._destination_loc is not None and loc.within(self._destination_loc):
            return self.proxy, loc.relative_to(self._destination_loc)
        return None
