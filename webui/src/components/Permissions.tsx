import { useEffect, useState } from 'preact/hooks';
import { authApi, GRANTABLE, type ResourceGrant, type ResourceType, useMe } from '../lib/auth';
import { ErrorBox, Modal, Spinner } from './common';

/**
 * Whether the signed-in user may manage (grant on) the resource: admins always, others with
 * MANAGE. False on a server without auth and while unknown, so READ and EDIT users never see the
 * editor (the server refuses them its calls anyway).
 */
export function useCanManage(resourceType: ResourceType, resourceId: string): boolean {
  const me = useMe();
  const [can, setCan] = useState(false);
  useEffect(() => {
    setCan(false);
    if (!me) return;
    if (me.administers) {
      setCan(true);
      return;
    }
    let live = true;
    authApi
      .permissionOf(me.username, resourceType, resourceId)
      .then((r) => live && setCan(r.permission === 'MANAGE'))
      .catch(() => live && setCan(false));
    return () => {
      live = false;
    };
  }, [me, resourceType, resourceId]);
  return can;
}

/** A "Permissions" button for a page's header, shown only to those who may manage the resource. */
export function PermissionsButton({ resourceType, resourceId }: { resourceType: ResourceType; resourceId: string }) {
  const can = useCanManage(resourceType, resourceId);
  const [open, setOpen] = useState(false);
  if (!can) return null;
  return (
    <>
      <button onClick={() => setOpen(true)}>Permissions</button>
      {open && (
        <Modal title="Permissions" onClose={() => setOpen(false)}>
          <PermissionsEditor resourceType={resourceType} resourceId={resourceId} />
        </Modal>
      )}
    </>
  );
}

/** Who holds which permission on one resource; grant to a user by name, change, revoke. */
export function PermissionsEditor({ resourceType, resourceId }: { resourceType: ResourceType; resourceId: string }) {
  const [grants, setGrants] = useState<ResourceGrant[] | null>(null);
  const [fallback, setFallback] = useState('');
  const [users, setUsers] = useState<string[]>([]);
  const [err, setErr] = useState<Error>();
  const [tick, setTick] = useState(0);
  const [name, setName] = useState('');
  const [perm, setPerm] = useState('READ');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    authApi.resourceGrants(resourceType, resourceId).then((r) => {
      setGrants(r.permissions);
      setFallback(r.default_permission);
    }, setErr);
  }, [resourceType, resourceId, tick]);
  useEffect(() => {
    authApi.listUsers().then((us) => setUsers(us.map((u) => u.username)), setErr);
  }, []);
  const act = (p: Promise<unknown>) => {
    setErr(undefined);
    setBusy(true);
    return p
      .then(
        () => {
          setTick((t) => t + 1);
          return true;
        },
        (e) => {
          setErr(e);
          return false;
        },
      )
      .finally(() => setBusy(false));
  };
  const listId = `perm-users-${resourceType}`;
  return (
    <div class="permissions-editor" aria-label="Permissions editor">
      <p class="muted small">
        {resourceType === 'experiment' ? 'Experiment' : resourceType === 'prompt' ? 'Prompt' : 'Registered model'} <code>{resourceId}</code>. Users without a
        grant here have the server's default, <b>{fallback || '…'}</b>; roles and admins may give more.
      </p>
      {grants === null && !err ? (
        <Spinner />
      ) : (
        <table class="grid" aria-label="Grants">
          <thead>
            <tr>
              <th>User</th>
              <th>Permission</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {(grants || []).map((g) => (
              <tr key={g.username} data-user={g.username}>
                <td>
                  {g.username}
                  {g.is_admin ? <span class="pill gray">admin</span> : null}
                </td>
                <td>
                  <select
                    aria-label={`Permission of ${g.username}`}
                    value={g.permission}
                    disabled={busy}
                    onChange={(e) => {
                      const to = (e.target as HTMLSelectElement).value;
                      setGrants((grants || []).map((x) => (x.username === g.username ? { ...x, permission: to } : x)));
                      act(authApi.changeGrant(g.username, resourceType, resourceId, to));
                    }}
                  >
                    {GRANTABLE.map((p) => (
                      <option key={p} value={p}>
                        {p}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <button class="danger" disabled={busy} onClick={() => act(authApi.revoke(g.username, resourceType, resourceId))}>
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
            {grants && grants.length === 0 && (
              <tr>
                <td colSpan={3} class="muted">
                  No user has a grant of their own on this resource.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          const who = name.trim();
          if (!who) return;
          act(authApi.grant(who, resourceType, resourceId, perm)).then((ok) => ok && setName(''));
        }}
      >
        <input
          aria-label="User name"
          placeholder="User name"
          list={listId}
          required
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        <datalist id={listId}>
          {users.map((u) => (
            <option key={u} value={u} />
          ))}
        </datalist>
        <select aria-label="Permission to grant" value={perm} onChange={(e) => setPerm((e.target as HTMLSelectElement).value)}>
          {GRANTABLE.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
        <button class="primary" type="submit" disabled={busy}>
          Grant
        </button>
      </form>
      <ErrorBox error={err} />
    </div>
  );
}
