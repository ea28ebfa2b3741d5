import { useEffect, useState } from 'preact/hooks';
import { get } from '../lib/api';

type Me = { username: string; is_admin: boolean };

// With `--app-name basic-auth` the browser signs in with HTTP Basic (its own prompt, on the first
// request that answers 401) and this shows who is signed in. Without auth the route does not exist
// (404) and nothing is shown.
export function CurrentUser() {
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => {
    get<{ user: Me }>('users/current')
      .then((r) => setMe(r.user))
      .catch(() => setMe(null));
  }, []);
  if (!me) return null;
  return (
    <span class="current-user" title={me.is_admin ? 'Signed in as an administrator' : 'Signed in'}>
      {me.username}
      {me.is_admin ? <span class="badge">admin</span> : null}
    </span>
  );
}
