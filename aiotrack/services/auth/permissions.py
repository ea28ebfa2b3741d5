"""MLflow's permission levels and how a user's grants resolve on one resource.

READ < USE < EDIT < MANAGE, with NO_PERMISSIONS (nothing) and DENY (an explicit veto that wins
over any positive grant it meets). A grant is (resource_type, resource_pattern, permission);
the pattern is a resource id (experiment id, registered-model or prompt name) or ``*``.

Resolution on (type, id), as MLflow 3.17 does it with workspaces off:
1. admins, and holders of the workspace-admin grant (workspace, *, MANAGE): MANAGE;
2. the grants matching the id or ``*``: DENY if any is DENY, else the highest;
3. no grant: the configured default permission; a positive grant never resolves below it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiotrack.entities import ReadScope
from aiotrack.errors import invalid


@dataclass(frozen=True)
class Permission:
    name: str
    rank: int
    can_read: bool
    can_use: bool
    can_update: bool
    can_delete: bool
    can_manage: bool


READ = Permission("READ", 1, True, False, False, False, False)
USE = Permission("USE", 2, True, True, False, False, False)
EDIT = Permission("EDIT", 3, True, True, True, False, False)
MANAGE = Permission("MANAGE", 4, True, True, True, True, True)
NO_PERMISSIONS = Permission("NO_PERMISSIONS", 0, False, False, False, False, False)
DENY = Permission("DENY", -1, False, False, False, False, False)

PERMISSIONS: dict[str, Permission] = {p.name: p for p in (READ, USE, EDIT, MANAGE, NO_PERMISSIONS, DENY)}

# The actions a route can require, named after MLflow's capabilities.
ACTIONS = ("read", "use", "update", "delete", "manage")

EXPERIMENT = "experiment"
REGISTERED_MODEL = "registered_model"
PROMPT = "prompt"
WORKSPACE = "workspace"
# The resource types aiotrack has. MLflow's others (scorers, gateway objects, MCP servers, and the
# wildcard-only sub-resource tiers) name things aiotrack does not serve; a grant on them would
# protect nothing, so it is refused rather than stored.
RESOURCE_TYPES = (EXPERIMENT, REGISTERED_MODEL, PROMPT)
ROLE_RESOURCE_TYPES = (*RESOURCE_TYPES, WORKSPACE)
RESOURCE_GRANTABLE = ("READ", "USE", "EDIT", "MANAGE", "DENY")
WORKSPACE_GRANTABLE = ("USE", "MANAGE")

Grant = tuple[str, str, str]  # resource_type, resource_pattern, permission


def allows(permission: Permission, action: str) -> bool:
    return bool(getattr(permission, f"can_{action}"))


def get_permission(name: object) -> Permission:
    if not isinstance(name, str) or name not in PERMISSIONS:
        raise invalid(f"Invalid permission '{name}'. Valid permissions are: {tuple(PERMISSIONS)}")
    return PERMISSIONS[name]


def validate_grant(resource_type: object, resource_pattern: object, permission: object, *, role: bool) -> None:
    """A grant that may be stored: a known type, a non-empty pattern, a permission legal for it."""
    types = ROLE_RESOURCE_TYPES if role else RESOURCE_TYPES
    if not isinstance(resource_type, str) or resource_type not in types:
        raise invalid(f"Invalid resource type '{resource_type}'. Valid resource types are: {tuple(sorted(types))}")
    if not isinstance(resource_pattern, str) or not resource_pattern:
        raise invalid("Parameter 'resource_pattern' must be a non-empty string.")
    get_permission(permission)
    if resource_type == WORKSPACE:
        if resource_pattern != "*":
            raise invalid(
                f"Invalid resource_pattern '{resource_pattern}' for resource_type='workspace'. "
                "This resource type supports only wildcard ('*') grants."
            )
        if permission not in WORKSPACE_GRANTABLE:
            raise invalid(
                f"Invalid permission '{permission}' for resource_type='workspace'. "
                f"Workspace-wide grants accept only: {WORKSPACE_GRANTABLE}."
            )
    elif permission not in RESOURCE_GRANTABLE:
        raise invalid(
            f"Invalid permission '{permission}' for resource_type='{resource_type}'. "
            f"Resource-level grants accept only: {tuple(sorted(RESOURCE_GRANTABLE))}."
        )


def is_workspace_admin(grants: Iterable[Grant]) -> bool:
    return any(t == WORKSPACE and p == "*" and perm == MANAGE.name for t, p, perm in grants)


def fold(grants: Iterable[Grant], resource_type: str, resource_id: str) -> Permission | None:
    """The grants that match (type, id): DENY if any denies, else the highest; None if none match."""
    best: Permission | None = None
    for t, pattern, name in grants:
        if t != resource_type or (pattern != "*" and pattern != resource_id):
            continue
        perm = PERMISSIONS.get(name, NO_PERMISSIONS)
        if perm is DENY:
            return DENY
        if best is None or perm.rank > best.rank:
            best = perm
    return best


def resolve(grants: Iterable[Grant], resource_type: str, resource_id: str, default: Permission) -> Permission:
    grants = tuple(grants)
    if is_workspace_admin(grants):
        return MANAGE
    found = fold(grants, resource_type, resource_id)
    if found is None:
        return default
    if found in (DENY, NO_PERMISSIONS):
        return found
    return found if found.rank >= default.rank else default


EVERYTHING = ReadScope()
NOTHING = ReadScope(allow=frozenset())


def read_scope(grants: Iterable[Grant], resource_type: str, default: Permission) -> ReadScope:
    """The resources of ``resource_type`` the grants let one read, the same rule as ``resolve``."""
    grants = tuple(grants)
    if is_workspace_admin(grants):
        return EVERYTHING
    own = [(p, PERMISSIONS.get(n, NO_PERMISSIONS)) for t, p, n in grants if t == resource_type]
    wildcard = fold(grants, resource_type, "*") if any(p == "*" for p, _ in own) else None
    if wildcard is DENY:
        return NOTHING
    # What an id without a grant of its own resolves to: the wildcard grant, else the default.
    base = default if wildcard is None else (wildcard if wildcard.rank >= default.rank else default)
    ids = {p for p, _ in own if p != "*"}
    if base.can_read:
        return ReadScope(deny=frozenset(i for i in ids if not resolve(grants, resource_type, i, default).can_read))
    return ReadScope(allow=frozenset(i for i in ids if resolve(grants, resource_type, i, default).can_read))
