"""The auth store: users, roles, grants and access tokens (tables of migration 0006_auth).

Rows come back as plain dicts in MLflow's JSON shapes (``User``, ``Role``, ``RolePermission``,
``UserRoleAssignment``); password hashes and token digests only ever leave through the methods
that need them for a credential check (``get_credentials``, ``find_token``). Error messages are
MLflow's (``sqlalchemy_store.py``), minus the driver text MLflow appends.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from aiotrack.errors import AiotrackError, IntegrityViolation, already_exists, not_found
from aiotrack.stores.sql.common import change_one, given, marks
from aiotrack.stores.sql.database import Database, Row, Tx

DEFAULT_WORKSPACE = "default"
SYNTHETIC_ROLE_PREFIX = "__user_"

Json = dict[str, Any]


def synthetic_role_name(user_id: int) -> str:
    """The hidden per-user role that carries grants made through users/permissions/grant."""
    return f"{SYNTHETIC_ROLE_PREFIX}{user_id}__"


def _user(row: Row) -> Json:
    return {"id": int(row[0]), "username": row[1], "is_admin": bool(row[2])}


def _role_permission(row: Row) -> Json:
    return {
        "id": int(row[0]),
        "role_id": int(row[1]),
        "resource_type": row[2],
        "resource_pattern": row[3],
        "permission": row[4],
    }


_RP_COLUMNS = "id, role_id, resource_type, resource_pattern, permission"


def _user_not_found(username: str) -> AiotrackError:
    return not_found(f"User with username={username} not found")


def _role_not_found(role_id: int) -> AiotrackError:
    return not_found(f"Role with id={role_id} not found")


def _role_permission_not_found(role_permission_id: int) -> AiotrackError:
    return not_found(f"Role permission with id={role_permission_id} not found")


async def _add_permission(tx: Tx, values: tuple[int, str, str, str], *, replace: bool, taken: str) -> Row:
    """Insert one (role_id, resource_type, resource_pattern, permission) grant and return its row
    (:data:`_RP_COLUMNS`). A grant of the role on that resource already is ``already_exists(taken)``,
    unless ``replace``: then its permission is overwritten."""
    conflict = "DO UPDATE SET permission = excluded.permission" if replace else "DO NOTHING"
    row = await tx.fetchrow(
        "INSERT INTO auth_role_permissions (role_id, resource_type, resource_pattern, permission) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (role_id, resource_type, resource_pattern) {conflict} RETURNING {_RP_COLUMNS}",
        values,
    )
    if row is None:
        raise already_exists(taken)
    return row


class SqlAuthStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ users

    async def has_users(self) -> bool:
        return await self.db.fetchrow("SELECT 1 FROM auth_users LIMIT 1") is not None

    async def create_user(self, username: str, password_hash: str, is_admin: bool = False) -> Json:
        try:
            async with self.db.transaction() as tx:
                row = await tx.fetchrow(
                    "INSERT INTO auth_users (username, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING RETURNING id, username, is_admin",
                    (username, password_hash, int(is_admin), int(time.time() * 1000)),
                )
        except IntegrityViolation:
            row = None
        if row is None:
            raise already_exists(f"User (username={username}) already exists.")
        return _user(row)

    async def get_user(self, username: str) -> Json:
        row = await self.db.fetchrow("SELECT id, username, is_admin FROM auth_users WHERE username = ?", (username,))
        if row is None:
            raise _user_not_found(username)
        return _user(row)

    async def get_credentials(self, username: str) -> tuple[Json, str] | None:
        """The user and their password hash, for a credential check; None for an unknown user."""
        row = await self.db.fetchrow(
            "SELECT id, username, is_admin, password_hash FROM auth_users WHERE username = ?", (username,)
        )
        return None if row is None else (_user(row), row[3])

    async def list_users_with_roles(self) -> list[Json]:
        users = [_user(r) for r in await self.db.fetch("SELECT id, username, is_admin FROM auth_users ORDER BY id")]
        roles_by_user: dict[int, list[Json]] = {}
        rows = await self.db.fetch("SELECT user_id, role_id FROM auth_user_roles ORDER BY id")
        roles = {r["id"]: r for r in await self._roles_with_permissions({int(r[1]) for r in rows})}
        for user_id, role_id in rows:
            if int(role_id) in roles:
                roles_by_user.setdefault(int(user_id), []).append(roles[int(role_id)])
        return [{**u, "roles": roles_by_user.get(u["id"], [])} for u in users]

    async def update_user(
        self, username: str, *, password_hash: str | None = None, is_admin: bool | None = None
    ) -> None:
        sets, params = given(
            [("password_hash = ?", password_hash), ("is_admin = ?", None if is_admin is None else int(is_admin))]
        )
        async with self.db.transaction() as tx:
            if not sets:
                changed = 1 if await tx.fetchrow("SELECT 1 FROM auth_users WHERE username = ?", (username,)) else 0
            else:
                changed = await tx.execute(
                    f"UPDATE auth_users SET {', '.join(sets)} WHERE username = ?", (*params, username)
                )
        if not changed:
            raise _user_not_found(username)

    async def delete_user(self, username: str) -> None:
        async with self.db.transaction() as tx:
            row = await tx.fetchrow("SELECT id FROM auth_users WHERE username = ?", (username,))
            if row is None:
                raise _user_not_found(username)
            user_id = int(row[0])
            # The per-user roles go with the user (their grants cascade); tokens and role
            # assignments cascade from the user row.
            await tx.execute("DELETE FROM auth_roles WHERE name = ?", (synthetic_role_name(user_id),))
            await tx.execute("DELETE FROM auth_users WHERE id = ?", (user_id,))

    # ------------------------------------------------------------------ grants

    async def grants_for_user(self, user_id: int) -> list[tuple[str, str, str]]:
        """(resource_type, resource_pattern, permission) of every role the user holds."""
        rows = await self.db.fetch(
            "SELECT rp.resource_type, rp.resource_pattern, rp.permission FROM auth_user_roles ur "
            "JOIN auth_role_permissions rp ON rp.role_id = ur.role_id WHERE ur.user_id = ?",
            (user_id,),
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def _synthetic_role(self, tx: Tx, user_id: int) -> int:
        name = synthetic_role_name(user_id)
        await tx.execute(
            "INSERT INTO auth_roles (name, workspace, description) VALUES (?, ?, NULL) ON CONFLICT DO NOTHING",
            (name, DEFAULT_WORKSPACE),
        )
        row = await tx.fetchrow("SELECT id FROM auth_roles WHERE workspace = ? AND name = ?", (DEFAULT_WORKSPACE, name))
        assert row is not None
        role_id = int(row[0])
        await tx.execute(
            "INSERT INTO auth_user_roles (user_id, role_id) VALUES (?, ?) ON CONFLICT DO NOTHING", (user_id, role_id)
        )
        return role_id

    async def grant_user_permission(
        self,
        user_id: int,
        username: str,
        resource_type: str,
        resource_id: str,
        permission: str,
        *,
        replace: bool = False,
    ) -> None:
        """One grant on the user's per-user role. An existing grant on the same resource is an
        error (MLflow's contract) unless ``replace`` (the creator's MANAGE, set after a create)."""
        async with self.db.transaction() as tx:
            role_id = await self._synthetic_role(tx, user_id)
            await _add_permission(
                tx,
                (role_id, resource_type, resource_id, permission),
                replace=replace,
                taken=f"Permission for user={username} on resource_type={resource_type}, "
                f"resource_id={resource_id} already exists.",
            )

    async def revoke_user_permission(self, user_id: int, username: str, resource_type: str, resource_id: str) -> None:
        await self._change_user_grant(
            "DELETE FROM auth_role_permissions", (), user_id, username, resource_type, resource_id
        )

    async def update_user_permission(
        self, user_id: int, username: str, resource_type: str, resource_id: str, permission: str
    ) -> None:
        """Change an existing per-user grant in one statement (no window without a grant)."""
        await self._change_user_grant(
            "UPDATE auth_role_permissions SET permission = ?",
            (permission,),
            user_id,
            username,
            resource_type,
            resource_id,
        )

    async def _change_user_grant(
        self, statement: str, params: tuple[str, ...], user_id: int, username: str, resource_type: str, resource_id: str
    ) -> None:
        """``statement`` (a DELETE or an UPDATE of auth_role_permissions, with its ``params``) on the
        user's per-user grant on one resource; there being none is not-found."""
        async with self.db.transaction() as tx:
            await change_one(
                tx,
                f"{statement} WHERE resource_type = ? AND resource_pattern = ? "
                "AND role_id IN (SELECT id FROM auth_roles WHERE workspace = ? AND name = ?)",
                (*params, resource_type, resource_id, DEFAULT_WORKSPACE, synthetic_role_name(user_id)),
                not_found(
                    f"Permission for user={username} on resource_type={resource_type}, "
                    f"resource_id={resource_id} not found."
                ),
            )

    async def list_resource_grants(self, resource_type: str, resource_id: str) -> list[Json]:
        """The per-user grants on one resource (exactly that id, not ``*``): who holds which
        permission, by user name. Named roles' grants are listed by the roles API."""
        rows = await self.db.fetch(
            "SELECT u.id, u.username, u.is_admin, rp.permission, r.name FROM auth_role_permissions rp "
            "JOIN auth_roles r ON r.id = rp.role_id "
            "JOIN auth_user_roles ur ON ur.role_id = r.id "
            "JOIN auth_users u ON u.id = ur.user_id "
            "WHERE rp.resource_type = ? AND rp.resource_pattern = ? AND r.workspace = ? "
            "AND r.name LIKE '\\_\\_user\\_%' ESCAPE '\\' ORDER BY u.username",
            (resource_type, resource_id, DEFAULT_WORKSPACE),
        )
        return [
            {"user_id": int(r[0]), "username": r[1], "is_admin": bool(r[2]), "permission": r[3]}
            for r in rows
            if r[4] == synthetic_role_name(int(r[0]))  # the user's own role, not one assigned to another
        ]

    async def delete_grants_for_resource(self, resource_types: Sequence[str], resource_id: str) -> None:
        """Per-user grants on a deleted resource go with it (a later resource of that name must not
        inherit them); grants of named roles are the admin's and stay."""
        marks = ", ".join("?" for _ in resource_types)
        async with self.db.transaction() as tx:
            await tx.execute(
                f"DELETE FROM auth_role_permissions WHERE resource_type IN ({marks}) AND resource_pattern = ? "
                "AND role_id IN (SELECT id FROM auth_roles WHERE name LIKE '\\_\\_user\\_%' ESCAPE '\\')",
                (*resource_types, resource_id),
            )

    async def rename_grants_for_resource(self, resource_types: Sequence[str], old: str, new: str) -> None:
        marks = ", ".join("?" for _ in resource_types)
        async with self.db.transaction() as tx:
            await tx.execute(
                f"UPDATE auth_role_permissions SET resource_pattern = ? WHERE resource_type IN ({marks}) "
                "AND resource_pattern = ?",
                (new, *resource_types, old),
            )

    # ------------------------------------------------------------------ roles

    async def _roles_with_permissions(self, role_ids: Iterable[int]) -> list[Json]:
        ids = sorted(set(role_ids))
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        roles = await self.db.fetch(
            f"SELECT id, name, workspace, description FROM auth_roles WHERE id IN ({marks}) ORDER BY id", ids
        )
        perms = await self.db.fetch(
            f"SELECT {_RP_COLUMNS} FROM auth_role_permissions WHERE role_id IN ({marks}) ORDER BY id", ids
        )
        by_role: dict[int, list[Json]] = {}
        for p in perms:
            by_role.setdefault(int(p[1]), []).append(_role_permission(p))
        return [
            {
                "id": int(r[0]),
                "name": r[1],
                "workspace": r[2],
                "description": r[3],
                "permissions": by_role.get(int(r[0]), []),
            }
            for r in roles
        ]

    async def create_role(self, name: str, workspace: str, description: str | None) -> Json:
        try:
            async with self.db.transaction() as tx:
                row = await tx.fetchrow(
                    "INSERT INTO auth_roles (name, workspace, description) VALUES (?, ?, ?) "
                    "ON CONFLICT DO NOTHING RETURNING id",
                    (name, workspace, description),
                )
        except IntegrityViolation:
            row = None
        if row is None:
            raise already_exists(f"Role (name={name}, workspace={workspace}) already exists.")
        return await self.get_role(int(row[0]))

    async def get_role(self, role_id: int) -> Json:
        roles = await self._roles_with_permissions([role_id])
        if not roles:
            raise _role_not_found(role_id)
        return roles[0]

    async def list_roles(self, workspaces: Sequence[str] | None = None) -> list[Json]:
        """Named roles (the per-user ones are an implementation detail MLflow hides too)."""
        sql = "SELECT id FROM auth_roles WHERE name NOT LIKE '\\_\\_user\\_%' ESCAPE '\\'"
        params: list[Any] = []
        if workspaces:
            sql += f" AND workspace IN ({marks(len(workspaces))})"
            params += list(workspaces)
        return await self._roles_with_permissions(int(r[0]) for r in await self.db.fetch(sql, params))

    async def update_role(self, role_id: int, name: str | None, description: str | None) -> Json:
        role = await self.get_role(role_id)
        try:
            async with self.db.transaction() as tx:
                if name is not None:
                    await tx.execute("UPDATE auth_roles SET name = ? WHERE id = ?", (name, role_id))
                if description is not None:
                    await tx.execute("UPDATE auth_roles SET description = ? WHERE id = ?", (description, role_id))
        except IntegrityViolation:
            raise already_exists(f"Role with name={name} already exists in workspace={role['workspace']}") from None
        return await self.get_role(role_id)

    async def delete_role(self, role_id: int) -> None:
        async with self.db.transaction() as tx:
            if not await tx.execute("DELETE FROM auth_roles WHERE id = ?", (role_id,)):
                raise _role_not_found(role_id)

    async def add_role_permission(
        self, role_id: int, resource_type: str, resource_pattern: str, permission: str
    ) -> Json:
        await self.get_role(role_id)
        async with self.db.transaction() as tx:
            row = await _add_permission(
                tx,
                (role_id, resource_type, resource_pattern, permission),
                replace=False,
                taken=f"Role permission (role_id={role_id}, resource_type={resource_type}, "
                f"resource_pattern={resource_pattern}) already exists.",
            )
        return _role_permission(row)

    async def get_role_permission(self, role_permission_id: int) -> Json:
        row = await self.db.fetchrow(
            f"SELECT {_RP_COLUMNS} FROM auth_role_permissions WHERE id = ?", (role_permission_id,)
        )
        if row is None:
            raise _role_permission_not_found(role_permission_id)
        return _role_permission(row)

    async def remove_role_permission(self, role_permission_id: int) -> None:
        async with self.db.transaction() as tx:
            if not await tx.execute("DELETE FROM auth_role_permissions WHERE id = ?", (role_permission_id,)):
                raise _role_permission_not_found(role_permission_id)

    async def list_role_permissions(self, role_id: int) -> list[Json]:
        return list((await self.get_role(role_id))["permissions"])

    async def update_role_permission(self, role_permission_id: int, permission: str) -> Json:
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                f"UPDATE auth_role_permissions SET permission = ? WHERE id = ? RETURNING {_RP_COLUMNS}",
                (permission, role_permission_id),
            )
        if row is None:
            raise _role_permission_not_found(role_permission_id)
        return _role_permission(row)

    async def assign_role(self, user_id: int, role_id: int) -> Json:
        await self.get_role(role_id)
        try:
            async with self.db.transaction() as tx:
                row = await tx.fetchrow(
                    "INSERT INTO auth_user_roles (user_id, role_id) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING id",
                    (user_id, role_id),
                )
        except IntegrityViolation:  # the user was deleted meanwhile
            raise not_found(f"User with id={user_id} not found") from None
        if row is None:
            raise already_exists(f"User role assignment (user_id={user_id}, role_id={role_id}) already exists")
        return {"id": int(row[0]), "user_id": user_id, "role_id": role_id}

    async def unassign_role(self, user_id: int, role_id: int) -> None:
        async with self.db.transaction() as tx:
            if not await tx.execute(
                "DELETE FROM auth_user_roles WHERE user_id = ? AND role_id = ?", (user_id, role_id)
            ):
                raise not_found(f"User role assignment (user_id={user_id}, role_id={role_id}) not found")

    async def list_user_roles(self, user_id: int) -> list[Json]:
        rows = await self.db.fetch("SELECT role_id FROM auth_user_roles WHERE user_id = ?", (user_id,))
        return await self._roles_with_permissions(int(r[0]) for r in rows)

    async def list_role_users(self, role_id: int) -> list[Json]:
        await self.get_role(role_id)
        rows = await self.db.fetch(
            "SELECT id, user_id, role_id FROM auth_user_roles WHERE role_id = ? ORDER BY id", (role_id,)
        )
        return [{"id": int(r[0]), "user_id": int(r[1]), "role_id": int(r[2])} for r in rows]

    # ------------------------------------------------------------------ access tokens

    async def create_token(self, user_id: int, name: str, digest: str, expires_at: int | None) -> Json:
        now = int(time.time() * 1000)
        async with self.db.transaction() as tx:
            row = await tx.fetchrow(
                "INSERT INTO auth_tokens (user_id, name, token_digest, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (user_id, name, digest, now, expires_at),
            )
        assert row is not None
        return {"id": int(row[0]), "name": name, "created_at": now, "expires_at": expires_at}

    async def find_token(self, digest: str) -> tuple[Json, int | None, int] | None:
        """The token's user, expiry (ms) and id, or None."""
        row = await self.db.fetchrow(
            "SELECT u.id, u.username, u.is_admin, t.expires_at, t.id FROM auth_tokens t "
            "JOIN auth_users u ON u.id = t.user_id WHERE t.token_digest = ?",
            (digest,),
        )
        return None if row is None else (_user(row), None if row[3] is None else int(row[3]), int(row[4]))

    async def list_tokens(self, user_id: int) -> list[Json]:
        rows = await self.db.fetch(
            "SELECT id, name, created_at, expires_at FROM auth_tokens WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [
            {"id": int(r[0]), "name": r[1], "created_at": int(r[2]), "expires_at": None if r[3] is None else int(r[3])}
            for r in rows
        ]

    async def delete_token(self, user_id: int, token_id: int) -> None:
        async with self.db.transaction() as tx:
            if not await tx.execute("DELETE FROM auth_tokens WHERE id = ? AND user_id = ?", (token_id, user_id)):
                raise not_found(f"Access token with id={token_id} not found")
