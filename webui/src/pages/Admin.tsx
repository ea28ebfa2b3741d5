import { useMemo, useState } from 'preact/hooks';
import {
  type AdminRoute,
  adminHash,
  authApi,
  GRANTABLE,
  isOwnGrant,
  isUserRole,
  RESOURCE_TYPES,
  type Me,
  type Role,
  type User,
  useMe,
  WORKSPACE_GRANTABLE,
} from '../lib/auth';
import { ErrorBox, Modal, Spinner, Tabs, navigate, useAction, useAsync } from '../components/common';

// The admin page, #/admin?tab=users|roles|grants[&user=<name>]: users, the 3.x RBAC roles, and
// each user's own grants. Everything is MLflow's auth API; the server refuses non-admins anyway.

export function AdminPage({ route }: { route: AdminRoute }) {
  const me = useMe();
  if (me === undefined)
    return (
      <div class="page">
        <Spinner />
      </div>
    );
  if (me === null)
    return (
      <div class="page">
        <h1>Administration</h1>
        <p class="notice">This server runs without authentication (no --app-name basic-auth): there are no users to administer.</p>
      </div>
    );
  if (!me.administers)
    return (
      <div class="page">
        <h1>Administration</h1>
        <p class="notice" role="alert">
          Admins only: you are signed in as <b>{me.username}</b>, who is not an administrator.
        </p>
      </div>
    );
  return (
    <div class="page admin-page">
      <div class="page-head">
        <h1>Administration</h1>
      </div>
      <Tabs
        tabs={[
          ['users', 'Users'],
          ['roles', 'Roles'],
          ['grants', 'Grants'],
        ]}
        active={route.tab}
        onChange={(tab) => navigate(adminHash({ tab }), true)}
      />
      {route.tab === 'users' ? <UsersTab me={me} /> : route.tab === 'roles' ? <RolesTab /> : <GrantsTab user={route.user} />}
    </div>
  );
}

function PermissionSelect({
  value,
  onChange,
  label,
  options = GRANTABLE,
}: {
  value: string;
  onChange: (v: string) => void;
  label: string;
  options?: string[];
}) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
      {options.map((p) => (
        <option key={p} value={p}>
          {p}
        </option>
      ))}
    </select>
  );
}

// ---------------------------------------------------------------------- users

// A workspace admin (the workspace-wide MANAGE grant, not the admin flag) may create users but, as in
// MLflow, neither change anyone's admin flag, delete a user nor set another user's password: the
// server refuses those (403), so the page does not offer them.
function UsersTab({ me: self }: { me: Me }) {
  const me = self.username;
  const superAdmin = self.is_admin;
  const users = useAsync(() => authApi.listUsers(), []);
  const [err, act] = useAction(users.reload);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [resetting, setResetting] = useState<string | null>(null);
  return (
    <section class="card">
      <h2>Create a user</h2>
      <form
        class="row"
        aria-label="Create user"
        onSubmit={(e) => {
          e.preventDefault();
          act(authApi.createUser(name.trim(), password)).then((ok) => {
            setPassword(''); // never kept once sent
            if (ok) setName('');
          });
        }}
      >
        <input
          aria-label="New user name"
          placeholder="User name"
          required
          autoComplete="off"
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        <input
          aria-label="New user password"
          placeholder="Password"
          type="password"
          required
          autoComplete="new-password"
          value={password}
          onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
        />
        <button class="primary" type="submit">
          Create user
        </button>
      </form>
      <ErrorBox error={err || users.error} />
      {!users.data ? (
        <Spinner />
      ) : (
        <table class="grid" aria-label="Users">
          <thead>
            <tr>
              <th>User</th>
              <th>Admin</th>
              <th>Roles</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.data.map((u) => (
              <tr key={u.username} data-user={u.username}>
                <td class="strong">{u.username}</td>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`${u.username} is an admin`}
                    checked={u.is_admin}
                    disabled={u.username === me || !superAdmin}
                    title={
                      !superAdmin ? 'Only an admin user may change the admin flag' : u.username === me ? 'Another admin must change your own admin flag' : ''
                    }
                    onChange={(e) => {
                      const on = (e.target as HTMLInputElement).checked;
                      users.setData((users.data || []).map((x) => (x.username === u.username ? { ...x, is_admin: on } : x)));
                      act(authApi.setAdmin(u.username, on)).then((ok) => ok || users.reload());
                    }}
                  />
                </td>
                <td>
                  {(u.roles || [])
                    .filter((r) => !isUserRole(r.name))
                    .map((r) => (
                      <span class="pill" key={r.id}>
                        {r.name}
                      </span>
                    ))}
                </td>
                <td>
                  <div class="row">
                    <a href={adminHash({ tab: 'grants', user: u.username })}>Grants</a>
                    {(superAdmin || u.username === me) && <button onClick={() => setResetting(u.username)}>Reset password</button>}
                    {superAdmin && u.username !== me && (
                      <button
                        class="danger"
                        onClick={() =>
                          confirm(`Delete user "${u.username}"? Their grants and access tokens go with them.`) && act(authApi.deleteUser(u.username))
                        }
                      >
                        Delete
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {resetting && <ResetPassword username={resetting} self={resetting === me} onClose={() => setResetting(null)} />}
    </section>
  );
}

function ResetPassword({ username, self, onClose }: { username: string; self: boolean; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [current, setCurrent] = useState('');
  const [err, setErr] = useState<Error>();
  const [done, setDone] = useState(false);
  return (
    <Modal title={`Reset the password of ${username}`} onClose={onClose}>
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          setErr(undefined);
          authApi
            .setPassword(username, password, self ? current : undefined)
            .then(() => setDone(true), setErr)
            .finally(() => {
              setPassword('');
              setCurrent('');
            });
        }}
      >
        {self && (
          <label>
            Your current password
            <input type="password" required autoComplete="current-password" value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} />
          </label>
        )}
        <label>
          New password
          <input
            type="password"
            aria-label="New password"
            required
            autoComplete="new-password"
            value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        <ErrorBox error={err} />
        {done && <p class="notice">Password changed.{self ? ' Your browser will ask you to sign in again.' : ''}</p>}
        <div class="row end">
          <button type="button" onClick={onClose}>
            {done ? 'Close' : 'Cancel'}
          </button>
          {!done && (
            <button class="primary" type="submit">
              Set password
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}

// ---------------------------------------------------------------------- roles

function RolesTab() {
  const roles = useAsync(() => authApi.listRoles(), []);
  const users = useAsync(() => authApi.listUsers(), []);
  const [err, setErr] = useState<Error>();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  return (
    <>
      <section class="card">
        <h2>Create a role</h2>
        <form
          class="row"
          aria-label="Create role"
          onSubmit={(e) => {
            e.preventDefault();
            setErr(undefined);
            authApi.createRole(name.trim(), description.trim()).then(() => {
              setName('');
              setDescription('');
              roles.reload();
            }, setErr);
          }}
        >
          <input aria-label="Role name" placeholder="Role name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <input
            aria-label="Role description"
            placeholder="Description (optional)"
            class="grow"
            value={description}
            onInput={(e) => setDescription((e.target as HTMLInputElement).value)}
          />
          <button class="primary" type="submit">
            Create role
          </button>
        </form>
        <ErrorBox error={err || roles.error} />
      </section>
      {!roles.data || !users.data ? (
        <Spinner />
      ) : roles.data.length === 0 ? (
        <p class="muted">No roles yet.</p>
      ) : (
        roles.data.map((r) => <RoleCard key={r.id} role={r} users={users.data || []} onChange={roles.reload} />)
      )}
    </>
  );
}

function RoleCard({ role, users, onChange }: { role: Role; users: User[]; onChange: () => void }) {
  const members = useAsync(() => authApi.roleUsers(role.id), [role.id]);
  const [err, setErr] = useState<Error>();
  const [editing, setEditing] = useState(false);
  const [type, setType] = useState('experiment');
  const [pattern, setPattern] = useState('');
  const [perm, setPerm] = useState('READ');
  const [assignee, setAssignee] = useState('');
  const byId = useMemo(() => new Map(users.map((u) => [u.id, u.username])), [users]);
  const memberNames = (members.data || []).map((a) => byId.get(a.user_id) || `#${a.user_id}`);
  const act = (p: Promise<unknown>, reloadMembers = false) => {
    setErr(undefined);
    return p.then(
      () => {
        if (reloadMembers) members.reload();
        else onChange();
        return true;
      },
      (e) => {
        setErr(e);
        return false;
      },
    );
  };
  const options = type === 'workspace' ? WORKSPACE_GRANTABLE : GRANTABLE;
  return (
    <section class="card role-card" data-role={role.name} aria-label={`Role ${role.name}`}>
      <div class="card-head">
        <h2>{role.name}</h2>
        <div class="row">
          <span class="muted small">{role.description}</span>
          <button onClick={() => setEditing(true)}>Edit</button>
          <button class="danger" onClick={() => confirm(`Delete role "${role.name}"?`) && act(authApi.deleteRole(role.id))}>
            Delete
          </button>
        </div>
      </div>
      {editing && <EditRole role={role} onClose={() => setEditing(false)} onDone={onChange} />}
      <h3>Permissions</h3>
      <table class="grid" aria-label={`Permissions of ${role.name}`}>
        <thead>
          <tr>
            <th>Resource type</th>
            <th>Resource</th>
            <th>Permission</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {role.permissions.map((p) => (
            <tr key={p.id}>
              <td>{p.resource_type}</td>
              <td>
                <code>{p.resource_pattern}</code>
              </td>
              <td>
                <PermissionSelect
                  label={`Permission on ${p.resource_type} ${p.resource_pattern}`}
                  value={p.permission}
                  options={p.resource_type === 'workspace' ? WORKSPACE_GRANTABLE : GRANTABLE}
                  onChange={(v) => act(authApi.updateRolePermission(p.id, v))}
                />
              </td>
              <td>
                <button class="danger" onClick={() => act(authApi.removeRolePermission(p.id))}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        class="row"
        aria-label={`Add a permission to ${role.name}`}
        onSubmit={(e) => {
          e.preventDefault();
          act(authApi.addRolePermission(role.id, type, type === 'workspace' ? '*' : pattern.trim(), perm)).then((ok) => ok && setPattern(''));
        }}
      >
        <select
          aria-label="Resource type"
          value={type}
          onChange={(e) => {
            const t = (e.target as HTMLSelectElement).value;
            setType(t);
            if (t === 'workspace' && !WORKSPACE_GRANTABLE.includes(perm)) setPerm('USE');
          }}
        >
          {RESOURCE_TYPES.map(([t, label]) => (
            <option key={t} value={t}>
              {label}
            </option>
          ))}
          <option value="workspace">Workspace (everything)</option>
        </select>
        {type !== 'workspace' && (
          <input
            aria-label="Resource id or *"
            placeholder={type === 'experiment' ? 'Experiment id, or *' : 'Name, or *'}
            required
            value={pattern}
            onInput={(e) => setPattern((e.target as HTMLInputElement).value)}
          />
        )}
        <PermissionSelect label="Permission" value={perm} options={options} onChange={setPerm} />
        <button type="submit">Add permission</button>
      </form>
      <h3>Members</h3>
      <div class="row">
        {memberNames.length === 0 && <span class="muted">nobody</span>}
        {memberNames.map((n) => (
          <span class="pill member" key={n}>
            {n}
            <button class="icon" aria-label={`Unassign ${n}`} onClick={() => act(authApi.unassign(n, role.id), true)}>
              ×
            </button>
          </span>
        ))}
      </div>
      <form
        class="row"
        aria-label={`Assign ${role.name}`}
        onSubmit={(e) => {
          e.preventDefault();
          if (assignee) act(authApi.assign(assignee, role.id), true).then((ok) => ok && setAssignee(''));
        }}
      >
        <select aria-label="User to assign" value={assignee} onChange={(e) => setAssignee((e.target as HTMLSelectElement).value)}>
          <option value="">Choose a user…</option>
          {users
            .filter((u) => !memberNames.includes(u.username))
            .map((u) => (
              <option key={u.username} value={u.username}>
                {u.username}
              </option>
            ))}
        </select>
        <button type="submit" disabled={!assignee}>
          Assign
        </button>
      </form>
      <ErrorBox error={err || members.error} />
    </section>
  );
}

function EditRole({ role, onClose, onDone }: { role: Role; onClose: () => void; onDone: () => void }) {
  const [name, setName] = useState(role.name);
  const [description, setDescription] = useState(role.description || '');
  const [err, setErr] = useState<Error>();
  return (
    <Modal title={`Edit role ${role.name}`} onClose={onClose}>
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          authApi.updateRole(role.id, name.trim(), description).then(() => {
            onDone();
            onClose();
          }, setErr);
        }}
      >
        <label>
          Name
          <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Description
          <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </label>
        <ErrorBox error={err} />
        <div class="row end">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button class="primary" type="submit">
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}

// ---------------------------------------------------------------------- one user's grants

function GrantsTab({ user }: { user: string }) {
  const users = useAsync(() => authApi.listUsers(), []);
  const rows = useAsync(() => (user ? authApi.userPermissions(user) : Promise.resolve(null)), [user]);
  const [err, act] = useAction(rows.reload);
  const [type, setType] = useState('experiment');
  const [id, setId] = useState('');
  const [perm, setPerm] = useState('READ');

  const own = (rows.data?.permissions || []).filter(isOwnGrant);
  const viaRoles = (rows.data?.permissions || []).filter((r) => !isOwnGrant(r));
  return (
    <section class="card">
      <div class="row">
        <label>
          User{' '}
          <select aria-label="User" value={user} onChange={(e) => navigate(adminHash({ tab: 'grants', user: (e.target as HTMLSelectElement).value }), true)}>
            <option value="">Choose a user…</option>
            {(users.data || []).map((u) => (
              <option key={u.username} value={u.username}>
                {u.username}
              </option>
            ))}
          </select>
        </label>
        {rows.data?.is_admin && <span class="pill">admin: may do everything</span>}
      </div>
      <ErrorBox error={err || users.error || rows.error} />
      {user && rows.data && (
        <>
          <h3>Grants of {user}</h3>
          <table class="grid" aria-label={`Grants of ${user}`}>
            <thead>
              <tr>
                <th>Resource type</th>
                <th>Resource</th>
                <th>Permission</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {own.map((g) => (
                <tr key={g.resource_type + '/' + g.resource_pattern} data-resource={g.resource_pattern}>
                  <td>{g.resource_type}</td>
                  <td>
                    <code>{g.resource_pattern}</code>
                  </td>
                  <td>
                    <PermissionSelect
                      label={`Permission on ${g.resource_type} ${g.resource_pattern}`}
                      value={g.permission}
                      onChange={(v) => {
                        if (rows.data) rows.setData({ ...rows.data, permissions: rows.data.permissions.map((x) => (x === g ? { ...x, permission: v } : x)) });
                        act(authApi.changeGrant(user, g.resource_type, g.resource_pattern, v));
                      }}
                    />
                  </td>
                  <td>
                    <button class="danger" onClick={() => act(authApi.revoke(user, g.resource_type, g.resource_pattern))}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
              {own.length === 0 && (
                <tr>
                  <td colSpan={4} class="muted">
                    No grants of their own.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          <form
            class="row"
            aria-label={`Grant to ${user}`}
            onSubmit={(e) => {
              e.preventDefault();
              act(authApi.grant(user, type, id.trim(), perm)).then((ok) => ok && setId(''));
            }}
          >
            <select aria-label="Resource type" value={type} onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
              {RESOURCE_TYPES.map(([t, label]) => (
                <option key={t} value={t}>
                  {label}
                </option>
              ))}
            </select>
            <input
              aria-label="Resource id"
              placeholder={type === 'experiment' ? 'Experiment id' : 'Name'}
              required
              value={id}
              onInput={(e) => setId((e.target as HTMLInputElement).value)}
            />
            <PermissionSelect label="Permission" value={perm} onChange={setPerm} />
            <button class="primary" type="submit">
              Grant
            </button>
          </form>
          {viaRoles.length > 0 && (
            <>
              <h3>Through roles</h3>
              <table class="grid" aria-label={`Role grants of ${user}`}>
                <tbody>
                  {viaRoles.map((g) => (
                    <tr key={g.role_id + '/' + g.resource_type + '/' + g.resource_pattern}>
                      <td>
                        <a href={adminHash({ tab: 'roles' })}>{g.role_name}</a>
                      </td>
                      <td>{g.resource_type}</td>
                      <td>
                        <code>{g.resource_pattern}</code>
                      </td>
                      <td>{g.permission}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </section>
  );
}
