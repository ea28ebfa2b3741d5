import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { parseRoute, type Route } from './lib/url';
import { ExperimentsPage } from './pages/Experiments';
import { RunsPage } from './pages/Runs';
import { RunPage } from './pages/Run';
import { ComparePage } from './pages/Compare';
import { ModelsPage, ModelPage, VersionPage } from './pages/Models';
import { LoggedModelPage } from './pages/LoggedModels';
import { TracePage } from './pages/Traces';
import { CurrentUser } from './components/CurrentUser';
import { AdminPage } from './pages/Admin';
import { parseAdminHash, type AdminRoute, useMe } from './lib/auth';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const f = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return route;
}

// The admin page's address (#/admin?tab=..) is the admin page's own (pages/Admin.tsx).
function useAdminRoute(): AdminRoute | null {
  const [admin, setAdmin] = useState(() => parseAdminHash(location.hash));
  useEffect(() => {
    const f = () => setAdmin(parseAdminHash(location.hash));
    window.addEventListener('hashchange', f);
    return () => window.removeEventListener('hashchange', f);
  }, []);
  return admin;
}

function App() {
  const route = useRoute();
  const admin = useAdminRoute();
  const me = useMe();
  const section = admin ? 'admin' : route.page === 'models' || route.page === 'model' || route.page === 'version' ? 'models' : 'experiments';
  let page: preact.JSX.Element;
  switch (route.page) {
    case 'experiments':
      page = <ExperimentsPage route={route} />;
      break;
    case 'runs':
      page = <RunsPage route={route} key={route.expIds.join(',')} />;
      break;
    case 'run':
      page = <RunPage route={route} key={route.runId} />;
      break;
    case 'compare':
      page = <ComparePage route={route} />;
      break;
    case 'models':
      page = <ModelsPage route={route} />;
      break;
    case 'model':
      page = <ModelPage route={route} key={route.name} />;
      break;
    case 'version':
      page = <VersionPage route={route} key={route.name + '/' + route.version} />;
      break;
    case 'logged-model':
      page = <LoggedModelPage route={route} key={route.modelId} />;
      break;
    case 'trace':
      page = <TracePage expId={route.expId} traceId={route.traceId} key={route.traceId} />;
      break;
    default:
      page = (
        <div class="page">
          <h1>Page not found</h1>
          <p>
            <a href="#/experiments">Go to experiments</a>
          </p>
        </div>
      );
  }
  if (admin) page = <AdminPage route={admin} />;
  return (
    <div class="app">
      <header class="topbar">
        <a class="brand" href="#/experiments">
          <svg width="20" height="20" viewBox="0 0 16 16" aria-hidden="true">
            <rect width="16" height="16" rx="3" fill="#38bdf8" />
            <path d="M3 12l3-4 3 2 4-6" stroke="#0f172a" stroke-width="1.8" fill="none" />
          </svg>
          aiotrack
        </a>
        <nav>
          <a href="#/experiments" class={section === 'experiments' ? 'active' : ''}>
            Experiments
          </a>
          <a href="#/models" class={section === 'models' ? 'active' : ''}>
            Models
          </a>
          {me?.administers && (
            <a href="#/admin" class={section === 'admin' ? 'active' : ''}>
              Admin
            </a>
          )}
        </nav>
        <CurrentUser />
      </header>
      <main>{page}</main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
