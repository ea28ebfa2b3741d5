// The auth API (`--app-name basic-auth`): MLflow 3.17's users, roles and grants endpoints, and
// aiotrack's two for one resource's grants. The browser signs in with HTTP Basic and resends the
// credentials itself: nothing here keeps a password beyond the request that carries it.
import { useEffect, useState } from 'preact/hooks';
import { AIOTRACK, MLFLOW, request, type Query } from './api';

const MLFLOW3 = 'ajax-api/3.0/mlflow/';

export type Me = { id: number; username: string; is_admin: boolean; administers?: boolean };
export type RolePermission = { id: number; role_id: number; resource_type: string; resource_pattern: string; permission: string };
export type Role = { id: number; name: string; workspace: string; description: string | null; permissions: RolePermission[] };
export type User = Me & { roles?: Role[] };
export type PermissionRow = { role_id: number; role_name: string; workspace: string; resource_type: string; resource_pattern: string; permission: string };
export type ResourceGrant = { user_id: number; username: string; is_admin: boolean; permission: string };
export type ResourceType = 'experiment' | 'registered_model' | 'prompt';

/** What a per-resource grant may hold (the server's RESOURCE_GRANTABLE; it refuses anything else). */
export const GRANTABLE = ['READ', 'USE', 'EDIT', 'MANAGE', 'DENY'];
export const WORKSPACE_GRANTABLE = ['USE', 'MANAGE'];
export const RESOURCE_TYPES: [ResourceType, string][] = [
  ['experiment', 'Experiment'],
  ['registered_model', 'Registered model'],
  ['prompt', 'Prompt'],
];
/** A user's own grants live in a hidden per-user role (`__user_<id>__`), as in MLflow. */
export const isUserRole = (roleName: string) => roleName.startsWith('__user_');
export const isOwnGrant = (row: PermissionRow) => isUserRole(row.role_name);

const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt';

/** Which grants govern a registry entry: prompts have their own (the server's rule, by the same tag). */
export function registryResourceType(tags: { key: string; value: string }[] | undefined): ResourceType {
  return (tags || []).some((t) => t.key === IS_PROMPT_TAG && t.value === 'true') ? 'prompt' : 'registered_model';
}

// The admin page's address: #/admin?tab=users|roles|grants[&user=<name>].
export type AdminRoute = { tab: string; user: string };

export function parseAdminHash(hash: string): AdminRoute | null {
  const m = /^#\/admin(?:\/)?(?:\?(.*))?$/.exec(hash);
  if (!m) return null;
  const p = new URLSearchParams(m[1] || '');
  const tab = p.get('tab');
  return { tab: tab === 'roles' || tab === 'grants' ? tab : 'users', user: p.get('user') || '' };
}

export function adminHash(r: Partial<AdminRoute>): string {
  const p = new URLSearchParams();
  if (r.tab && r.tab !== 'users') p.set('tab', r.tab);
  if (r.user) p.set('user', r.user);
  const q = p.toString();
  return '#/admin' + (q ? '?' + q : '');
}

const v2 = <T>(path: string, method = 'GET', body?: unknown, query?: Query) => request<T>(MLFLOW + path, { method, body, query });
const v3 = <T>(path: string, method = 'GET', body?: unknown, query?: Query) => request<T>(MLFLOW3 + path, { method, body, query });

export const authApi = {
  current: () => v2<{ user: Me }>('users/current').then((r) => r.user),
  listUsers: () => v2<{ users: User[] }>('users/list').then((r) => r.users),
  createUser: (username: string, password: string) => v2<{ user: Me }>('users/create', 'POST', { username, password }),
  deleteUser: (username: string) => v2('users/delete', 'DELETE', { username }),
  setAdmin: (username: string, is_admin: boolean) => v2('users/update-admin', 'PATCH', { username, is_admin }),
  setPassword: (username: string, password: string, current_password?: string) =>
    v2('users/update-password', 'PATCH', { username, password, ...(current_password ? { current_password } : {}) }),
  userPermissions: (username: string) => v3<{ is_admin: boolean; permissions: PermissionRow[] }>('users/permissions/list', 'GET', undefined, { username }),
  permissionOf: (username: string, resource_type: string, resource_id: string) =>
    v3<{ allowed: boolean; permission: string }>('users/permissions/get', 'GET', undefined, { username, resource_type, resource_id }),
  grant: (username: string, resource_type: string, resource_id: string, permission: string) =>
    v3('users/permissions/grant', 'POST', { username, resource_type, resource_id, permission }),
  revoke: (username: string, resource_type: string, resource_id: string) => v3('users/permissions/revoke', 'POST', { username, resource_type, resource_id }),
  // aiotrack's: one resource's grants, and changing one in place
  resourceGrants: (resource_type: string, resource_id: string) =>
    request<{ default_permission: string; permissions: ResourceGrant[] }>(AIOTRACK + 'permissions/list', { query: { resource_type, resource_id } }),
  changeGrant: (username: string, resource_type: string, resource_id: string, permission: string) =>
    request(AIOTRACK + 'permissions/update', { method: 'PATCH', body: { username, resource_type, resource_id, permission } }),
  // roles (MLflow 3.x RBAC)
  listRoles: () => v3<{ roles: Role[] }>('roles/list').then((r) => r.roles),
  createRole: (name: string, description: string) =>
    v3<{ role: Role }>('roles/create', 'POST', { name, workspace: 'default', description: description || null }),
  updateRole: (role_id: number, name: string, description: string) => v3('roles/update', 'PATCH', { role_id, name, description }),
  deleteRole: (role_id: number) => v3('roles/delete', 'DELETE', { role_id }),
  addRolePermission: (role_id: number, resource_type: string, resource_pattern: string, permission: string) =>
    v3('roles/permissions/add', 'POST', { role_id, resource_type, resource_pattern, permission }),
  updateRolePermission: (role_permission_id: number, permission: string) => v3('roles/permissions/update', 'PATCH', { role_permission_id, permission }),
  removeRolePermission: (role_permission_id: number) => v3('roles/permissions/remove', 'DELETE', { role_permission_id }),
  roleUsers: (role_id: number) =>
    v3<{ assignments: { id: number; user_id: number; role_id: number }[] }>('roles/users/list', 'GET', undefined, { role_id }).then((r) => r.assignments),
  assign: (username: string, role_id: number) => v3('roles/assign', 'POST', { username, role_id }),
  unassign: (username: string, role_id: number) => v3('roles/unassign', 'DELETE', { username, role_id }),
};

// The signed-in user, asked once per page load; null: no auth on this server (the route is 404).
// `administers`: what the server's admin rules let through, the admin flag or a role's workspace-wide
// MANAGE grant (an administrator of everything by a role).
let mePromise: Promise<Me | null> | null = null;
export function loadMe(): Promise<Me | null> {
  if (!mePromise)
    mePromise = authApi.current().then(
      async (user) => {
        if (user.is_admin) return { ...user, administers: true };
        const mine = await v3<{ permissions: PermissionRow[] }>('users/current/permissions').catch(() => ({ permissions: [] }));
        const administers = mine.permissions.some((p) => p.resource_type === 'workspace' && p.resource_pattern === '*' && p.permission === 'MANAGE');
        return { ...user, administers };
      },
      () => null,
    );
  return mePromise;
}

/** The signed-in user; undefined while asking, null on a server without auth. */
export function useMe(): Me | null | undefined {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  useEffect(() => {
    let live = true;
    loadMe().then((m) => live && setMe(m));
    return () => {
      live = false;
    };
  }, []);
  return me;
}
