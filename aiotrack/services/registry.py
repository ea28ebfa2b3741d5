"""MLflow's model-registry semantics over a RegistryStore: validation, stages, aliases, prompts and
the model-version ``source`` policy.

Source policy (MLflow 3.17's ``_validate_source_run``/``_validate_source_model`` and its host
policy, made stricter where it leaves room; the path rules come from
:mod:`aiotrack.artifacts.locations`). A prompt version's source must be one of MLflow's
placeholders. Any other source is decoded until stable (percent-encoding at any depth) and
refused when it contains a backslash, NUL or another control character; then:

- a local path or ``file:`` URI (on this host): as MLflow, resolved (``..`` and symlinks), and
  accepted when every reading of it (as written, and fully decoded) lies inside the *local*
  artifact directory of the request's run or logged model; relative paths are refused;
- any other source with a ``..`` segment (in any encoding) is refused;
- ``runs:/<run_id>/...``: only together with that ``run_id`` (and no ``model_id``), as MLflow
  checks it; the reference resolves inside the run's artifacts by construction;
- ``models:/<model_id>``: only together with that ``model_id``; ``models:/<name>/<version>`` and
  ``models:/<name>@<alias>`` name a live, non-prompt version of this registry, whose run and
  model ids must match the request's when given; no other ``models:`` form, no host;
- ``mlflow-artifacts:/...`` (no host): inside the artifact location of the request's run or
  logged model;
- any other URI (``s3://``, ``gs://``, ...): inside the run's or model's artifact location, or
  inside one of the server's configured object-store artifact roots; a URI naming any other
  host (``http:``, ``ftp:``, ``mlflow-artifacts://host``, ...) is refused, so the server never
  fetches from an address a client chose.

:meth:`RegistryService.model_version_files_root` is the other half: where a version's files
are, with ``runs:/`` and ``models:/<model_id>`` references resolved to the run's or logged
model's artifact location.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aiotrack.artifacts import locations
from aiotrack.entities import KeyValue, ReadScope, RunInfo
from aiotrack.errors import RESOURCE_DOES_NOT_EXIST, AiotrackError, invalid
from aiotrack.names import (
    IS_PROMPT_TAG,
    MAX_ALIAS_LENGTH,
    MAX_REGISTRY_TAG_KEY_LENGTH,
    MAX_REGISTRY_TAG_VALUE_LENGTH,
    MODEL_VERSIONS_TAG,
    PROMPT_TEXT_TAG,
    SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
)
from aiotrack.services import paging
from aiotrack.services import validation as v
from aiotrack.stores.base import LoggedModelStore, ModelVersionIn, Page, RegistryStore, TrackingStore

PROMPT_SOURCE_PLACEHOLDERS = frozenset({"dummy-source", "prompt-template"})

ALL_STAGES = ("None", "Staging", "Production", "Archived")
ACTIVE_STAGES = ("Staging", "Production")
_CANONICAL = {s.lower(): s for s in ALL_STAGES}


_ALIAS_RE = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS_RE = re.compile(r"^[vV]\d+$")


# --------------------------------------------------------------------------- validation


def validate_model_name(name: object, path: str = "name") -> str:
    if name is None or not isinstance(name, str) or name.strip() == "":
        raise invalid(v.missing_value(path))
    if "/" in name or ":" in name:
        raise invalid(f"Invalid model name '{name}'. Names cannot contain '/' or ':'.")
    if v._path_not_unique(name):
        raise invalid(
            v.invalid_value(
                path,
                name,
                "Names may be treated as files in certain cases, and must not resolve to other names when "
                f"treated as such. This name would resolve to {posixpath.normpath(name)!r}",
            )
        )
    return name


def validate_version(version: object, path: str = "version") -> int:
    if version is None or version == "":
        raise invalid(v.missing_value(path))
    if isinstance(version, bool) or not isinstance(version, (str, int, float)):
        raise invalid(f"Parameter '{path}' must be an integer, got '{version}'.")
    try:
        value = int(version)
    except (TypeError, ValueError):
        raise invalid(f"Parameter '{path}' must be an integer, got '{version}'.") from None
    if not -(2**63) <= value < 2**63:
        raise invalid(f"Parameter '{path}' must be an integer, got '{version}'.")
    return value


def canonical_stage(stage: object) -> str:
    if not isinstance(stage, str) or stage.lower() not in _CANONICAL:
        raise invalid(f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(ALL_STAGES)}.")
    return _CANONICAL[stage.lower()]


def validate_alias(alias: object) -> str:
    if alias is None or alias == "":
        raise invalid("Registered model alias name cannot be empty.")
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
        raise invalid(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )
    if len(alias) > MAX_ALIAS_LENGTH:
        raise invalid(v.exceeds_maximum_length("Registered model alias name", MAX_ALIAS_LENGTH))
    return alias


def validate_alias_not_reserved(alias: str) -> None:
    if alias.lower() == "latest":
        raise invalid("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS_RE.match(alias):
        raise invalid(f"Version alias name '{alias}' is reserved.")


def _tag(key: object, value: object, *, model_version: bool) -> KeyValue:
    key = v.validate_key(key, "key")
    if len(key) > MAX_REGISTRY_TAG_KEY_LENGTH:
        raise invalid(v.exceeds_maximum_length("key", MAX_REGISTRY_TAG_KEY_LENGTH))
    if value is None:
        value = ""  # an unset proto string
    if not isinstance(value, str):
        raise invalid(v.invalid_value("value", value, "Expected a string."))
    if len(value) > MAX_REGISTRY_TAG_VALUE_LENGTH:
        if model_version and key == PROMPT_TEXT_TAG:
            raise invalid(f"Prompt text exceeds max length of {MAX_REGISTRY_TAG_VALUE_LENGTH} characters.")
        raise invalid(v.exceeds_maximum_length("value", MAX_REGISTRY_TAG_VALUE_LENGTH))
    return {"key": key, "value": value}


def _is_prompt_tags(tags: list[KeyValue]) -> bool:
    values = {t["key"]: t["value"] for t in tags}
    return str(values.get(IS_PROMPT_TAG, "false")).lower() == "true"


# --------------------------------------------------------------------------- sources


def _relative_message(source: str) -> str:
    return (
        f"Invalid model version source: '{source}'. If supplying a source as an http, https, local file path, "
        "ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path "
        "references present. Please provide an absolute path."
    )


def _not_identified(source: str, id_name: str) -> AiotrackError:
    return invalid(
        f"Invalid model version source: '{source}'. The {id_name} request parameter must identify the "
        "resource that contains the source."
    )


def _screen_source(source: str) -> str:
    """The source decoded until stable. Refused in any encoding: backslashes, control characters
    and, in a source that is not a local path, '..' segments (a local source is resolved instead,
    as MLflow resolves it, and must then land inside its owner's directory)."""
    try:
        decoded = locations.decode_until_stable(source)
    except locations.UnsafeLocation:
        raise invalid(_relative_message(source)) from None
    if locations.has_control_chars(decoded) or "\\" in decoded:
        raise invalid(_relative_message(source))
    if locations.local_path(source) is None and any(part == ".." for part in decoded.split("/")):
        raise invalid(_relative_message(source))
    return decoded


def _location_or_none(uri: str) -> locations.Location | None:
    try:
        return locations.parse_location(uri)
    except locations.UnsafeLocation:
        return None


def _within(source: str, root: str | None) -> bool:
    """``source`` lies at or below the location ``root`` (both parsed, never resolved)."""
    if not root:
        return False
    src, base = _location_or_none(source), _location_or_none(root)
    return src is not None and base is not None and src.within(base)


def parse_models_uri(uri: str) -> dict[str, Any]:
    """``models:/m-...`` -> {"model_id"}; ``models:/name/version`` -> {"name", "version"};
    ``models:/name@alias`` -> {"name", "alias"}; ``models:/name/stage`` -> {"name", "stage"}."""
    parsed = urlsplit(uri)
    path = parsed.path
    if parsed.netloc or not path.startswith("/") or parsed.query or parsed.fragment:
        raise ValueError(uri)
    body = path.lstrip("/").rstrip("/")
    parts = body.split("/")
    if len(parts) == 1 and "@" in parts[0]:
        name, _, alias = parts[0].rpartition("@")
        if not name or not alias:
            raise ValueError(uri)
        return {"name": name, "alias": alias}
    if len(parts) == 1 and parts[0].startswith("m-"):
        return {"model_id": parts[0]}
    if len(parts) == 2 and parts[0] and parts[1]:
        if parts[1].isdigit():
            return {"name": parts[0], "version": int(parts[1])}
        if parts[1].lower() == "latest" or parts[1].lower() in _CANONICAL:
            return {"name": parts[0], "stage": parts[1]}
    raise ValueError(uri)


def _page_size(max_results: int | None, default: int, limit: int) -> int:
    """A registry search's max_results, with MLflow's registry wording for bad values."""
    if max_results is None:
        return default
    if max_results < 1:
        raise invalid(f"Invalid value for max_results. It must be a positive integer, but got {max_results}")
    if max_results > limit:
        raise invalid(
            f"Invalid value for request parameter max_results. It must be at most {limit}, but got value {max_results}"
        )
    return max_results


class RegistryService:
    def __init__(
        self,
        store: RegistryStore,
        tracking: TrackingStore,
        logged_models: LoggedModelStore,
        artifact_roots: tuple[str, ...] = (),
    ):
        self.store = store
        self.tracking = tracking
        self.logged_models = logged_models
        # The server's own object-store artifact roots (default artifact root, artifacts
        # destination); local and proxied roots only admit sources inside the owner's location.
        self._object_store_roots = tuple(
            loc
            for r in artifact_roots
            if r and locations.local_path(r) is None and locations.scheme(r) != "mlflow-artifacts"
            if (loc := _location_or_none(r)) is not None
        )

    # ------------------------------------------------------------------ registered models

    async def create_registered_model(self, name: str, tags: list[KeyValue], description: str | None) -> dict[str, Any]:
        validate_model_name(name)
        clean = [_tag(t.get("key"), t.get("value"), model_version=False) for t in tags]
        return await self.store.create_registered_model(name, clean, description)

    async def get_registered_model(self, name: str) -> dict[str, Any]:
        return await self.store.get_registered_model(validate_model_name(name))

    async def update_registered_model(self, name: str, description: str | None) -> dict[str, Any]:
        return await self.store.update_registered_model(validate_model_name(name), description)

    async def rename_registered_model(self, name: str, new_name: str | None) -> dict[str, Any]:
        validate_model_name(name)
        if new_name is None or not isinstance(new_name, str) or new_name.strip() == "":
            raise invalid(v.missing_value("new_name"))
        validate_model_name(new_name)
        return await self.store.rename_registered_model(name, new_name)

    async def delete_registered_model(self, name: str) -> None:
        await self.store.delete_registered_model(validate_model_name(name))

    async def search_registered_models(
        self,
        filter_string: str | None,
        max_results: int | None,
        order_by: list[str],
        page_token: str | None,
        scopes: Mapping[str, ReadScope | None] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        max_results = _page_size(
            max_results, SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD
        )
        offset = paging.parse_token(page_token)
        models, more = await self.store.search_registered_models(
            Page(filter_string, order_by, max_results, offset), scopes
        )
        return models, (paging.make_token(offset + max_results) if more else None)

    async def get_latest_versions(self, name: str, stages: list[str]) -> list[dict[str, Any]]:
        validate_model_name(name)
        wanted = [canonical_stage(s) for s in stages] if stages else None
        return await self.store.get_latest_versions(name, wanted)

    async def set_registered_model_tag(self, name: str, key: str, value: str | None) -> None:
        validate_model_name(name)
        tag = _tag(key, value, model_version=False)
        await self.store.set_registered_model_tag(name, tag["key"], tag["value"])

    async def delete_registered_model_tag(self, name: str, key: str) -> None:
        validate_model_name(name)
        v.validate_key(key, "key")
        await self.store.delete_registered_model_tag(name, key)

    # ------------------------------------------------------------------ model versions

    async def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        tags: list[KeyValue],
        run_link: str | None,
        description: str | None,
        model_id: str | None,
    ) -> dict[str, Any]:
        validate_model_name(name)
        if not isinstance(source, str) or not source:
            raise invalid(v.missing_value("source"))
        clean = [_tag(t.get("key"), t.get("value"), model_version=True) for t in tags]
        is_prompt = _is_prompt_tags(clean)
        storage_location = source
        if is_prompt:
            if source not in PROMPT_SOURCE_PLACEHOLDERS:
                raise invalid(f"Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder.")
        else:
            source, run_id, model_id, storage_location = await self._check_source(source, run_id, model_id)
        if not run_id and model_id:
            run_id = (await self._logged_model(model_id, source))["info"].get("source_run_id") or run_id
        mv = await self.store.create_model_version(
            name,
            ModelVersionIn(
                source,
                storage_location,
                run_id=run_id if run_id is not None else "",
                tags=clean,
                run_link=run_link if run_link is not None else "",
                description=description if description is not None else "",
                model_id=model_id,
            ),
        )
        if not is_prompt and model_id:
            await self._record_version_on_model(model_id, name, int(mv["version"]))
        return mv

    async def _record_version_on_model(self, model_id: str, name: str, version: int) -> None:
        """The logged model's ``mlflow.modelVersions`` tag lists its registrations, as MLflow writes it."""
        model = await self.logged_models.get_logged_model(model_id)
        entry = {"name": name, "version": version}
        tags = {t["key"]: t["value"] for t in model["info"].get("tags", [])}
        entries = [entry]
        if existing := tags.get(MODEL_VERSIONS_TAG):
            try:
                parsed = json.loads(existing)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                entries = parsed if entry in parsed else [*parsed, entry]
        await self.logged_models.set_logged_model_tags(
            model_id, [{"key": MODEL_VERSIONS_TAG, "value": json.dumps(entries)}]
        )

    async def _run(self, run_id: str, source: str) -> RunInfo:
        try:
            return await self.tracking.get_run_info(run_id)
        except AiotrackError as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                raise _not_identified(source, "run_id") from None
            raise

    async def _logged_model(self, model_id: str, source: str) -> dict[str, Any]:
        try:
            return await self.logged_models.get_logged_model(model_id)
        except AiotrackError as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                raise _not_identified(source, "model_id") from None
            raise

    async def _owner_root(self, source: str, run_id: str | None, model_id: str | None) -> str | None:
        """The artifact location of the logged model or run the request names (None for neither)."""
        if model_id:
            location: str = (await self._logged_model(model_id, source))["info"]["artifact_uri"]
            return location
        if run_id:
            return (await self._run(run_id, source)).get("artifact_uri", "")
        return None

    async def _check_local_source(self, source: str, decoded: str, run_id: str | None, model_id: str | None) -> None:
        """A local path or file: URI must resolve inside the local artifact directory of the run
        or logged model the request names, read as written and fully decoded."""
        owner_root = await self._owner_root(source, run_id, model_id)
        owner_dir = locations.local_path(owner_root) if owner_root else None
        readings = [locations.local_path(source), locations.local_path(decoded)]
        if (
            owner_dir is None
            or not os.path.isabs(owner_dir)
            or not all(
                p is not None and os.path.isabs(p) and locations.real_path_within(p, owner_dir) for p in readings
            )
        ):
            id_name = "model_id" if model_id else "run_id"
            raise invalid(
                f"Invalid model version source: '{source}'. To use a local path as a model version source, "
                f"the {id_name} request parameter has to be specified and the local path has to be contained "
                f"within the artifact directory of the {'logged model' if model_id else 'run'} specified by "
                f"the {id_name}."
            )

    async def _check_source(
        self, source: str, run_id: str | None, model_id: str | None
    ) -> tuple[str, str | None, str | None, str]:
        """(source, run_id, model_id, storage_location) once the source passes the policy above."""
        decoded = _screen_source(source)
        if locations.local_path(source) is not None:
            await self._check_local_source(source, decoded, run_id, model_id)
            return source, run_id, model_id, source
        kind = locations.scheme(decoded)
        id_name = "model_id" if model_id else "run_id"

        if kind == "models":
            try:
                ref = parse_models_uri(decoded)
            except ValueError:
                raise _not_identified(source, "model_id") from None
            if "model_id" in ref:
                if not model_id or ref["model_id"] != model_id:
                    raise _not_identified(source, "model_id")
                model = await self._logged_model(model_id, source)
                run_id = run_id or model["info"].get("source_run_id") or None
                return source, run_id, model_id, model["info"]["artifact_uri"]
            return await self._registered_source(source, ref, run_id, model_id)

        if kind == "runs":
            # As MLflow: the reference must name the request's run (it then resolves inside that
            # run's artifacts by construction).
            parsed = urlsplit(decoded)
            if model_id or parsed.netloc:
                raise _not_identified(source, id_name)
            source_run = parsed.path.lstrip("/").split("/", 1)[0]
            if not run_id or source_run != run_id:
                raise _not_identified(source, "run_id")
            return source, run_id, model_id, source

        if kind in ("http", "https") or (kind == "mlflow-artifacts" and urlsplit(decoded).netloc):
            raise invalid(
                f"Invalid value for 'source': the '{kind}' scheme addresses a host other than the tracking "
                "server's configured artifact storage, so the server would connect to the host named in the URI."
            )
        owner_root = await self._owner_root(source, run_id, model_id)
        if _within(decoded, owner_root):
            return source, run_id, model_id, source
        if kind == "mlflow-artifacts":
            raise _not_identified(source, id_name)
        loc = _location_or_none(decoded)
        if loc is not None and any(loc.within(root) for root in self._object_store_roots):
            return source, run_id, model_id, source
        raise invalid(
            f"Invalid model version source: '{source}'. A model version source must be a runs:/, models:/ or "
            "mlflow-artifacts:/ URI, or a location inside the artifact location of the run or logged model "
            "named by the request or inside one of this server's artifact roots."
        )

    async def _registered_source(
        self, source: str, ref: dict[str, Any], run_id: str | None, model_id: str | None
    ) -> tuple[str, str | None, str | None, str]:
        """``models:/name/version`` (or ``@alias``, or a stage): a live, non-prompt version here."""
        name = ref["name"]
        try:
            rm = await self.store.get_registered_model(name)
        except AiotrackError as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                raise _not_identified(source, "model_id") from None
            raise
        if any(t["key"] == IS_PROMPT_TAG and str(t["value"]).lower() == "true" for t in rm.get("tags", [])):
            raise invalid(
                f"Invalid model version source: '{source}'. Prompt versions cannot be used as model version sources."
            )
        try:
            if "version" in ref:
                version = ref["version"]
            elif "alias" in ref:
                version = int((await self.store.get_model_version_by_alias(name, ref["alias"]))["version"])
            else:
                stage = ref["stage"]
                latest = await self.store.get_latest_versions(
                    name, None if stage.lower() == "latest" else [canonical_stage(stage)]
                )
                if not latest:
                    raise _not_identified(source, "model_id")
                version = max(int(mv["version"]) for mv in latest)
            target = await self.store.get_model_version_internal(name, version)
        except AiotrackError as exc:
            if exc.error_code == RESOURCE_DOES_NOT_EXIST:
                raise _not_identified(source, "model_id") from None
            raise
        if (run_id is not None and (run_id or "") != (target.get("run_id") or "")) or (
            model_id is not None and (model_id or "") != (target.get("model_id") or "")
        ):
            raise invalid(
                f"Invalid model version source: '{source}'. The run_id and model_id request parameters must "
                "match the referenced model version."
            )
        storage: str = target.get("storage_location") or target["source"]  # source is NOT NULL
        return (
            f"models:/{name}/{target['version']}",
            run_id if run_id is not None else target.get("run_id"),
            model_id if model_id is not None else target.get("model_id"),
            storage,
        )

    async def get_model_version(self, name: str, version: str) -> dict[str, Any]:
        return await self.store.get_model_version(validate_model_name(name), validate_version(version))

    async def update_model_version(self, name: str, version: str, description: str | None) -> dict[str, Any]:
        return await self.store.update_model_version(validate_model_name(name), validate_version(version), description)

    async def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool
    ) -> dict[str, Any]:
        validate_model_name(name)
        number = validate_version(version)
        canonical = canonical_stage(stage)
        if archive_existing_versions and canonical not in ACTIVE_STAGES:
            raise invalid(
                "Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are {list(ACTIVE_STAGES)}"
            )
        return await self.store.transition_model_version_stage(name, number, canonical, archive_existing_versions)

    async def delete_model_version(self, name: str, version: str) -> None:
        await self.store.delete_model_version(validate_model_name(name), validate_version(version))

    async def get_model_version_download_uri(self, name: str | None, version: str | None) -> str:
        return await self.store.get_model_version_download_uri(validate_model_name(name), validate_version(version))

    async def search_model_versions(
        self,
        filter_string: str | None,
        max_results: int | None,
        order_by: list[str],
        page_token: str | None,
        scopes: Mapping[str, ReadScope | None] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        max_results = _page_size(
            max_results, SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD
        )
        offset = paging.parse_token(page_token)
        versions, more = await self.store.search_model_versions(
            Page(filter_string, order_by, max_results, offset), scopes
        )
        return versions, (paging.make_token(offset + max_results) if more else None)

    async def set_model_version_tag(self, name: str, version: str, key: str, value: str | None) -> None:
        validate_model_name(name)
        number = validate_version(version)
        tag = _tag(key, value, model_version=True)
        await self.store.set_model_version_tag(name, number, tag["key"], tag["value"])

    async def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        validate_model_name(name)
        number = validate_version(version)
        v.validate_key(key, "key")
        await self.store.delete_model_version_tag(name, number, key)

    # ------------------------------------------------------------------ aliases

    async def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        validate_model_name(name)
        validate_alias(alias)
        validate_alias_not_reserved(alias)
        await self.store.set_registered_model_alias(name, alias, validate_version(version))

    async def delete_registered_model_alias(self, name: str, alias: str) -> None:
        validate_model_name(name)
        validate_alias(alias)
        await self.store.delete_registered_model_alias(name, alias)

    async def get_model_version_by_alias(self, name: str, alias: str) -> dict[str, Any]:
        validate_model_name(name)
        validate_alias(alias)
        return await self.store.get_model_version_by_alias(name, alias)

    async def model_version_files_root(self, name: str | None, version: str | None) -> str:
        """Where a version's files are, for the UI's get-artifact route: its download URI, with
        ``runs:/<run_id>/<path>`` and ``models:/<model_id>`` references resolved to the run's or
        logged model's artifact location."""
        uri = await self.get_model_version_download_uri(name, version)
        kind = locations.scheme(uri)
        if kind == "runs":
            run_id, _, sub = urlsplit(uri).path.lstrip("/").partition("/")
            root = (await self.tracking.get_run_info(run_id))["artifact_uri"]
            return locations.join_uri(root, locations.relative_path(sub)) if sub else root
        if kind == "models":
            model = await self.logged_models.get_logged_model(urlsplit(uri).path.strip("/"))
            artifact_uri: str = model["info"]["artifact_uri"]
            return artifact_uri
        return uri
