import { Suspense, useEffect, useState } from "react";
import { NavLink, Outlet, useLocation, useNavigate } from "react-router";
import { permissionsFor, useAuth, useMe } from "../auth/AuthContext";
import { roleLabel } from "../lib/format";
import { OrgDirectoryProvider, useOrgDirectory } from "./OrgDirectory";
import { Loading } from "./ui";

const ORG_SECTIONS = ["usage", "keys", "users", "budget", "audit"] as const;

/** The org sections, and which of them this user may open in the given org. */
function orgLinks(me: ReturnType<typeof useMe>, orgId: string) {
  const p = permissionsFor(me, orgId);
  return [
    { to: `/org/${orgId}/usage`, label: "Usage", show: p.viewUsage },
    { to: `/org/${orgId}/keys`, label: "API keys", show: p.manageOwnKeys || p.manageAllKeys },
    { to: `/org/${orgId}/users`, label: "Users", show: p.manageUsers },
    { to: `/org/${orgId}/budget`, label: "Budget", show: p.setBudget },
    { to: `/org/${orgId}/audit`, label: "Audit log", show: p.viewAudit },
  ].filter((l) => l.show);
}

/** Where the org switcher goes: the same section in the other org, when the role there allows it. */
export function switchTarget(me: ReturnType<typeof useMe>, pathname: string, orgId: string): string {
  const section = pathname.match(/^\/org\/[^/]+\/([^/?#]+)/)?.[1];
  const allowed = orgLinks(me, orgId).map((l) => l.to);
  const wanted = section && (ORG_SECTIONS as readonly string[]).includes(section) ? `/org/${orgId}/${section}` : null;
  return wanted && allowed.includes(wanted) ? wanted : `/org/${orgId}/usage`;
}

function OrgSwitcher({ currentOrgId }: { currentOrgId: string | undefined }) {
  const me = useMe();
  const { orgs, loading } = useOrgDirectory();
  const navigate = useNavigate();
  const location = useLocation();
  if (orgs.length === 0 && !loading) return null;
  return (
    <div className="org-switcher">
      <label htmlFor="org-switcher">Current organisation</label>
      <select
        id="org-switcher"
        value={currentOrgId ?? ""}
        onChange={(e) => {
          if (e.target.value) navigate(switchTarget(me, location.pathname, e.target.value));
        }}
      >
        {!currentOrgId && <option value="">Choose…</option>}
        {currentOrgId && !orgs.some((o) => o.id === currentOrgId) && <option value={currentOrgId}>(this organisation)</option>}
        {orgs.map((o) => (
          <option key={o.id} value={o.id}>
            {`${o.name}${o.status === "disabled" ? " (disabled)" : ""}${o.role ? ` · ${roleLabel(o.role)}` : ""}`}
          </option>
        ))}
      </select>
    </div>
  );
}

function Shell() {
  const me = useMe();
  const { signOut } = useAuth();
  const { orgs, find } = useOrgDirectory();
  const navigate = useNavigate();
  const location = useLocation();
  const routeOrgId = location.pathname.match(/^\/org\/([^/]+)/)?.[1];
  const [menuOpen, setMenuOpen] = useState(false);
  const [lastOrgId, setLastOrgId] = useState<string | undefined>(routeOrgId);

  useEffect(() => {
    if (routeOrgId) setLastOrgId(routeOrgId);
  }, [routeOrgId]);
  useEffect(() => setMenuOpen(false), [location.pathname]);

  const orgId = routeOrgId ?? lastOrgId ?? (me.is_system_admin ? undefined : orgs[0]?.id);
  const org = orgId ? find(orgId) : undefined;
  const links = orgId ? orgLinks(me, orgId) : [];
  const role = me.is_system_admin ? "system_admin" : orgId ? permissionsFor(me, orgId).role : null;

  async function onSignOut() {
    await signOut();
    navigate("/login", { replace: true });
  }

  return (
    <div className="app">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="IAS portal home">
          <span className="brand-mark" aria-hidden="true">
            IAS
          </span>
          <span className="brand-text">Inference-as-a-Service</span>
        </NavLink>
        <OrgSwitcher currentOrgId={orgId} />
        <div className="user-menu">
          <span className="user-name" title={me.user.email}>
            {me.user.name || me.user.email}
            {role && <span className="role-tag">{roleLabel(role)}</span>}
          </span>
          <button type="button" className="btn btn-small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
        <button
          type="button"
          className="btn btn-small menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="sidebar"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
      </header>
      <div className="layout">
        <nav id="sidebar" className={`sidebar${menuOpen ? " open" : ""}`} aria-label="Main">
          {orgId && links.length > 0 && (
            <div className="nav-group">
              <h2 className="nav-heading">{org?.name ?? "Organisation"}</h2>
              <ul>
                {links.map((l) => (
                  <li key={l.to}>
                    <NavLink to={l.to}>{l.label}</NavLink>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {me.is_system_admin && (
            <div className="nav-group">
              <h2 className="nav-heading">System</h2>
              <ul>
                <li>
                  <NavLink to="/system/usage">Global usage</NavLink>
                </li>
                <li>
                  <NavLink to="/system/orgs">Organisations</NavLink>
                </li>
                <li>
                  <NavLink to="/system/models">Model mappings</NavLink>
                </li>
                <li>
                  <NavLink to="/system/audit">Audit log (all)</NavLink>
                </li>
              </ul>
            </div>
          )}
          <div className="nav-group">
            <h2 className="nav-heading">Account</h2>
            <ul>
              <li>
                <NavLink to="/me/usage">My usage</NavLink>
              </li>
              <li>
                <NavLink to="/account/password">Change password</NavLink>
              </li>
            </ul>
          </div>
        </nav>
        <main id="main" tabIndex={-1}>
          <Suspense fallback={<Loading />}>
            <Outlet />
          </Suspense>
        </main>
      </div>
    </div>
  );
}

/** The signed-in frame: header, org switcher, navigation, the page. */
export function Layout() {
  const me = useMe();
  return (
    <OrgDirectoryProvider me={me}>
      <Shell />
    </OrgDirectoryProvider>
  );
}
