"""The model registry over SQL (migration 0002), written once for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiotrack.entities import KeyValue
from aiotrack.errors import AiotrackError, already_exists, invalid, not_found
from aiotrack.names import IS_PROMPT_TAG
from aiotrack.stores.base import ModelVersionIn, Page, RegistryStore
from aiotrack.stores.sql import registry_search
from aiotrack.stores.sql.common import chunks, key_values_by, keyed_statements, marks, now_ms, search_page
from aiotrack.stores.sql.database import Database, Row, Tx
from aiotrack.stores.sql.registry_search import Scopes

STAGE_NONE = "None"
STAGE_ARCHIVED = "Archived"
STAGE_DELETED_INTERNAL = "Deleted_Internal"

RM_COLUMNS = (
    "registered_models.name, registered_models.creation_time, registered_models.last_updated_time, "
    "registered_models.description"
)
# The columns of a model-version row, in the order _model_version() reads them and the bulk
# loads of `aiotrack import` (bulk.REGISTRY_TABLES) write them.
MV_FIELDS = (
    "name",
    "version",
    "creation_time",
    "last_updated_time",
    "description",
    "user_id",
    "current_stage",
    "source",
    "storage_location",
    "run_id",
    "run_link",
    "status",
    "status_message",
    "model_id",
)
MV_COLUMNS = ", ".join(f"model_versions.{f}" for f in MV_FIELDS)


def _model_version(row: Row, tags: list[Any] | None = None, aliases: list[Any] | None = None) -> dict[str, Any]:
    """MLflow's ModelVersion proto JSON: unset (NULL) fields are left out, the version is a string."""
    (
        name,
        version,
        creation_time,
        last_updated_time,
        description,
        user_id,
        current_stage,
        source,
        _storage_location,
        run_id,
        run_link,
        status,
        status_message,
        _model_id,
    ) = row
    mv: dict[str, Any] = {"name": name, "version": str(version)}
    if creation_time is not None:
        mv["creation_timestamp"] = creation_time
    if last_updated_time is not None:
        mv["last_updated_timestamp"] = last_updated_time
    for key, value in (
        ("description", description),
        ("user_id", user_id),
        ("current_stage", current_stage),
        ("source", source),
        ("run_id", run_id),
        ("run_link", run_link),
        ("status", status),
    ):
        if value is not None:
            mv[key] = value
    mv.update(
        (key, value)
        for key, value in (("status_message", status_message), ("tags", tags), ("aliases", aliases))
        if value
    )
    return mv


def _registered_model(row: Row, latest: list[Any], tags: list[Any], aliases: list[Any]) -> dict[str, Any]:
    """MLflow's RegisteredModel proto JSON: a NULL creation time and empty fields are left out."""
    name, creation_time, last_updated_time, description = row
    rm: dict[str, Any] = {"name": name}
    if creation_time is not None:
        rm["creation_timestamp"] = creation_time
    optional = (
        ("last_updated_timestamp", last_updated_time),
        ("description", description),
        ("latest_versions", latest),
        ("tags", tags),
        ("aliases", aliases),
    )
    rm.update((key, value) for key, value in optional if value)
    return rm


# (set, delete) of the values that hang off a model or a version by key.
_SET_RM_TAG, _DELETE_RM_TAG = keyed_statements("registered_model_tags", ("name", "key"), "value")
_SET_MV_TAG, _DELETE_MV_TAG = keyed_statements("model_version_tags", ("name", "version", "key"), "value")
_SET_ALIAS, _DELETE_ALIAS = keyed_statements("registered_model_aliases", ("name", "alias"), "version")


def _rm_not_found(name: str) -> AiotrackError:
    return not_found(f"Registered Model with name={name} not found")


def _mv_not_found(name: str, version: object) -> Exception:
    return not_found(f"Model Version (name={name}, version={version}) not found")


class SqlRegistryStore(RegistryStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()

    # ------------------------------------------------------------------ helpers

    async def _require_model(self, name: str, tx: Tx | None = None) -> Row:
        src = tx or self.db
        row = await src.fetchrow(f"SELECT {RM_COLUMNS} FROM registered_models WHERE name = ?", (name,))
        if row is None:
            raise _rm_not_found(name)
        return row

    async def _version_row(self, name: str, version: int, tx: Tx | None = None) -> Row:
        src = tx or self.db
        row = await src.fetchrow(
            f"SELECT {MV_COLUMNS} FROM model_versions WHERE name = ? AND version = ? AND current_stage <> ?",
            (name, version, STAGE_DELETED_INTERNAL),
        )
        if row is None:
            raise _mv_not_found(name, version)
        return row

    async def _write_child(self, name: str, version: int | None, sql: str, params: Sequence[Any]) -> None:
        """One statement on a row that hangs off the registered model ``name`` (``version`` None)
        or off one of its versions, in a transaction that first makes sure that owner exists."""
        async with self.db.transaction() as tx:
            if version is None:
                await self._require_model(name, tx)
            else:
                await self._version_row(name, version, tx)
            await tx.execute(sql, params)

    async def _hydrate_versions(self, rows: Sequence[Row], tx: Tx | None = None) -> list[dict[str, Any]]:
        """Model versions with their tags and aliases, in a fixed number of queries."""
        if not rows:
            return []
        src = tx or self.db
        keys = [(r[0], r[1]) for r in rows]
        names = sorted({r[0] for r in rows})
        tags: dict[tuple[Any, ...], list[Any]] = {}
        aliases: dict[tuple[Any, ...], list[Any]] = {}
        for chunk in chunks(names):
            for name, version, key, value in await src.fetch(
                f"SELECT name, version, key, value FROM model_version_tags WHERE name IN ({marks(len(chunk))}) "
                "ORDER BY name, version, key",
                chunk,
            ):
                tags.setdefault((name, version), []).append({"key": key, "value": value})
            for name, alias, version in await src.fetch(
                f"SELECT name, alias, version FROM registered_model_aliases WHERE name IN ({marks(len(chunk))}) "
                "ORDER BY name, alias",
                chunk,
            ):
                aliases.setdefault((name, version), []).append(alias)
        return [_model_version(r, tags.get(k), aliases.get(k)) for r, k in zip(rows, keys, strict=True)]

    async def _search(
        self, build: Callable[..., tuple[str, list[Any]]], columns: str, page: Page, scopes: Scopes
    ) -> tuple[list[Row], bool]:
        """A page of registered models or versions (``build`` is the registry_search query);
        ``scopes``: what a basic-auth caller may read, filtered in the SQL."""
        return await search_page(
            self.db,
            build,
            page,
            columns=columns,
            scopes=scopes,
        )

    async def _hydrate_models(self, rows: Sequence[Row], tx: Tx | None = None) -> list[dict[str, Any]]:
        if not rows:
            return []
        src = tx or self.db
        names = [r[0] for r in rows]
        tags = await key_values_by(
            src,
            "SELECT name, key, value FROM registered_model_tags WHERE name IN ({in_list}) ORDER BY name, key",
            names,
        )
        aliases: dict[str, list[Any]] = {}
        latest_rows: dict[str, list[Any]] = {}
        for chunk in chunks(names):
            in_list = marks(len(chunk))
            for name, alias, version in await src.fetch(
                f"SELECT name, alias, version FROM registered_model_aliases WHERE name IN ({in_list}) "
                "ORDER BY name, alias",
                chunk,
            ):
                aliases.setdefault(name, []).append({"alias": alias, "version": str(version)})
            # The newest live version per (model, stage); stages in the order their first version
            # appears, as MLflow builds latest_versions.
            for row in await src.fetch(
                f"SELECT {MV_COLUMNS} FROM model_versions JOIN ("
                "SELECT name AS n, current_stage AS s, MAX(version) AS v, MIN(version) AS first_v "
                f"FROM model_versions WHERE name IN ({in_list}) AND current_stage <> ? GROUP BY name, current_stage"
                ") latest ON model_versions.name = latest.n AND model_versions.version = latest.v "
                "ORDER BY model_versions.name, latest.first_v",
                (*chunk, STAGE_DELETED_INTERNAL),
            ):
                latest_rows.setdefault(row[0], []).append(row)
        all_latest = [r for name in names for r in latest_rows.get(name, [])]
        hydrated = await self._hydrate_versions(all_latest, tx)
        latest: dict[str, list[Any]] = {}
        for mv in hydrated:
            latest.setdefault(mv["name"], []).append(mv)
        return [_registered_model(r, latest.get(r[0], []), tags.get(r[0], []), aliases.get(r[0], [])) for r in rows]

    # ------------------------------------------------------------------ registered models

    async def create_registered_model(
        self, name: str, tags: Sequence[KeyValue], description: str | None
    ) -> dict[str, Any]:
        now = now_ms()
        async with self.db.transaction() as tx:
            created = await tx.fetchrow(
                "INSERT INTO registered_models (name, creation_time, last_updated_time, description) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING name",
                (name, now, now, description),
            )
            if created is None:
                existing = await tx.fetchrow(
                    "SELECT 1 FROM registered_model_tags WHERE name = ? AND key = ?", (name, IS_PROMPT_TAG)
                )
                new_is_prompt = any(t["key"] == IS_PROMPT_TAG for t in tags)
                old_entity = "Prompt" if existing else "Registered Model"
                new_entity = "Prompt" if new_is_prompt else "Registered Model"
                if old_entity != new_entity:
                    raise already_exists(
                        f"Tried to create a {new_entity.lower()} with name {name!r}, but the name is already "
                        f"taken by a {old_entity.lower()}. MLflow does not allow creating a model and a prompt "
                        "with the same name."
                    )
                raise already_exists(f"{new_entity} (name={name}) already exists.")
            pairs = {t["key"]: t["value"] for t in tags}
            if pairs:
                await tx.executemany(
                    "INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)",
                    [(name, k, v) for k, v in pairs.items()],
                )
            row = await self._require_model(name, tx)
            return (await self._hydrate_models([row], tx))[0]

    async def get_registered_model(self, name: str) -> dict[str, Any]:
        row = await self._require_model(name)
        return (await self._hydrate_models([row]))[0]

    async def is_prompt(self, name: str) -> bool:
        row = await self.db.fetchrow(
            "SELECT EXISTS (SELECT 1 FROM registered_model_tags t WHERE t.name = m.name AND t.key = ? "
            "AND t.value = 'true') FROM registered_models m WHERE m.name = ?",
            (IS_PROMPT_TAG, name),
        )
        if row is None:
            raise _rm_not_found(name)
        return bool(row[0])

    async def update_registered_model(self, name: str, description: str | None) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE registered_models SET description = ?, last_updated_time = ? WHERE name = ?",
                (description, now_ms(), name),
            )
            if not changed:
                raise _rm_not_found(name)
            row = await self._require_model(name, tx)
            return (await self._hydrate_models([row], tx))[0]

    async def rename_registered_model(self, name: str, new_name: str) -> dict[str, Any]:
        now = now_ms()
        async with self.db.transaction() as tx:
            await self._require_model(name, tx)
            if new_name != name and await tx.fetchrow("SELECT 1 FROM registered_models WHERE name = ?", (new_name,)):
                raise already_exists(f"Registered Model (name={new_name}) already exists.")
            # Versions, tags and aliases follow through ON UPDATE CASCADE.
            await tx.execute(
                "UPDATE registered_models SET name = ?, last_updated_time = ? WHERE name = ?", (new_name, now, name)
            )
            await tx.execute("UPDATE model_versions SET last_updated_time = ? WHERE name = ?", (now, new_name))
            row = await self._require_model(new_name, tx)
            return (await self._hydrate_models([row], tx))[0]

    async def delete_registered_model(self, name: str) -> None:
        async with self.db.transaction() as tx:
            # Children go through ON DELETE CASCADE; delete them explicitly too so that the
            # result does not depend on a connection's foreign-key setting.
            await self._require_model(name, tx)
            await tx.execute("DELETE FROM model_version_tags WHERE name = ?", (name,))
            await tx.execute("DELETE FROM registered_model_aliases WHERE name = ?", (name,))
            await tx.execute("DELETE FROM model_versions WHERE name = ?", (name,))
            await tx.execute("DELETE FROM registered_model_tags WHERE name = ?", (name,))
            await tx.execute("DELETE FROM registered_models WHERE name = ?", (name,))

    async def search_registered_models(self, page: Page, scopes: Scopes = None) -> tuple[list[dict[str, Any]], bool]:
        rows, more = await self._search(registry_search.registered_models_query, RM_COLUMNS, page, scopes)
        return await self._hydrate_models(rows), more

    async def get_latest_versions(self, name: str, stages: list[str] | None) -> list[dict[str, Any]]:
        model = await self.get_registered_model(name)
        latest: list[dict[str, Any]] = model.get("latest_versions", [])
        if stages:
            wanted = set(stages)
            latest = [mv for mv in latest if mv.get("current_stage") in wanted]
        return latest

    async def set_registered_model_tag(self, name: str, key: str, value: str | None) -> None:
        await self._write_child(name, None, _SET_RM_TAG, (name, key, value))

    async def delete_registered_model_tag(self, name: str, key: str) -> None:
        await self._write_child(name, None, _DELETE_RM_TAG, (name, key))

    # ------------------------------------------------------------------ model versions

    async def create_model_version(self, name: str, version_in: ModelVersionIn) -> dict[str, Any]:
        now = now_ms()
        async with self.db.transaction() as tx:
            # Updating the model row first also locks it (PostgreSQL), so concurrent creators of
            # versions of one model take turns and never compute the same number.
            changed = await tx.execute("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (now, name))
            if not changed:
                raise _rm_not_found(name)
            row = await tx.fetchrow("SELECT MAX(version) FROM model_versions WHERE name = ?", (name,))
            assert row is not None  # an aggregate returns one row
            version = (row[0] or 0) + 1
            await tx.execute(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, "
                "user_id, current_stage, source, storage_location, run_id, run_link, status, status_message, "
                "model_id) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, 'READY', NULL, ?)",
                (
                    name,
                    version,
                    now,
                    now,
                    version_in.description,
                    STAGE_NONE,
                    version_in.source,
                    version_in.storage_location,
                    version_in.run_id,
                    version_in.run_link,
                    version_in.model_id,
                ),
            )
            pairs = {t["key"]: t["value"] for t in version_in.tags}
            if pairs:
                await tx.executemany(
                    "INSERT INTO model_version_tags (name, version, key, value) VALUES (?, ?, ?, ?)",
                    [(name, version, k, v) for k, v in pairs.items()],
                )
            mv_row = await self._version_row(name, version, tx)
            return (await self._hydrate_versions([mv_row], tx))[0]

    async def get_model_version(self, name: str, version: int) -> dict[str, Any]:
        row = await self._version_row(name, version)
        return (await self._hydrate_versions([row]))[0]

    async def get_model_version_internal(self, name: str, version: int) -> dict[str, Any]:
        row = await self._version_row(name, version)
        mv = _model_version(row)
        fields = dict(zip(MV_FIELDS, row, strict=True))
        mv["storage_location"] = fields["storage_location"]
        mv["model_id"] = fields["model_id"]
        return mv

    async def update_model_version(self, name: str, version: int, description: str | None) -> dict[str, Any]:
        async with self.db.transaction() as tx:
            await self._version_row(name, version, tx)
            await tx.execute(
                "UPDATE model_versions SET description = ?, last_updated_time = ? WHERE name = ? AND version = ?",
                (description, now_ms(), name, version),
            )
            row = await self._version_row(name, version, tx)
            return (await self._hydrate_versions([row], tx))[0]

    async def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool
    ) -> dict[str, Any]:
        now = now_ms()
        async with self.db.transaction() as tx:
            await self._version_row(name, version, tx)
            if archive_existing_versions:
                await tx.execute(
                    "UPDATE model_versions SET current_stage = ?, last_updated_time = ? "
                    "WHERE name = ? AND version <> ? AND current_stage = ?",
                    (STAGE_ARCHIVED, now, name, version, stage),
                )
            await tx.execute(
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ? WHERE name = ? AND version = ?",
                (stage, now, name, version),
            )
            await tx.execute("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (now, name))
            row = await self._version_row(name, version, tx)
            return (await self._hydrate_versions([row], tx))[0]

    async def delete_model_version(self, name: str, version: int) -> None:
        now = now_ms()
        async with self.db.transaction() as tx:
            await self._version_row(name, version, tx)
            await tx.execute("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (now, name))
            await tx.execute("DELETE FROM registered_model_aliases WHERE name = ? AND version = ?", (name, version))
            # MLflow keeps the row, redacted, so the number is not reused; tags stay too.
            await tx.execute(
                "UPDATE model_versions SET current_stage = ?, last_updated_time = ?, description = NULL, "
                "user_id = NULL, source = 'REDACTED-SOURCE-PATH', storage_location = NULL, "
                "run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK', status_message = NULL, model_id = NULL "
                "WHERE name = ? AND version = ?",
                (STAGE_DELETED_INTERNAL, now, name, version),
            )

    async def get_model_version_download_uri(self, name: str, version: int) -> str:
        fields = dict(zip(MV_FIELDS, await self._version_row(name, version), strict=True))
        uri: str = fields["storage_location"] or fields["source"]
        return uri

    async def search_model_versions(self, page: Page, scopes: Scopes = None) -> tuple[list[dict[str, Any]], bool]:
        rows, more = await self._search(registry_search.model_versions_query, MV_COLUMNS, page, scopes)
        return await self._hydrate_versions(rows), more

    async def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        await self._write_child(name, version, _SET_MV_TAG, (name, version, key, value))

    async def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        await self._write_child(name, version, _DELETE_MV_TAG, (name, version, key))

    # ------------------------------------------------------------------ aliases

    async def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        await self._write_child(name, version, _SET_ALIAS, (name, alias, version))

    async def delete_registered_model_alias(self, name: str, alias: str) -> None:
        await self._write_child(name, None, _DELETE_ALIAS, (name, alias))

    async def get_model_version_by_alias(self, name: str, alias: str) -> dict[str, Any]:
        if alias.lower() == "latest":
            await self._require_model(name)
            row = await self.db.fetchrow(
                f"SELECT {MV_COLUMNS} FROM model_versions WHERE name = ? AND current_stage <> ? "
                "ORDER BY version DESC LIMIT 1",
                (name, STAGE_DELETED_INTERNAL),
            )
            if row is None:
                raise not_found(f"Latest version not found for model {name}.")
            return (await self._hydrate_versions([row]))[0]
        await self._require_model(name)
        found = await self.db.fetchrow(
            "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias)
        )
        if found is None:
            raise invalid(f"Registered model alias {alias} not found.")
        return await self.get_model_version(name, found[0])
