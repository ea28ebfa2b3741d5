import { useMe } from '../lib/auth';

// With `--app-name basic-auth` the browser signs in with HTTP Basic (its own prompt, on the first
// request that answers 401) and this shows who is signed in (admins also get the Admin link in the
// top bar, main.tsx). Without auth the route does not exist (404) and nothing is shown.
export function CurrentUser() {
  const me = useMe();
  if (!me) return null;
  return (
    <span class="current-user" title={me.is_admin ? 'Signed in as an administrator' : 'Signed in'}>
      {me.username}
      {me.is_admin ? <span class="badge">admin</span> : null}
    </span>
  );
}
