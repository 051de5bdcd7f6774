import { lazy, type ReactNode } from "react";
import { Navigate, Route, Routes, useLocation, useParams } from "react-router";
import { permissionsFor, useAuth, type OrgPermissions } from "./auth/AuthContext";
import { Layout } from "./components/Layout";
import { ErrorMessage, Loading, PageHeader } from "./components/ui";
import { AuditPage } from "./pages/AuditPage";
import { BudgetPage } from "./pages/BudgetPage";
import { InvitePage } from "./pages/InvitePage";
import { KeysPage } from "./pages/KeysPage";
import { LoginPage } from "./pages/LoginPage";
import { LogoutPage } from "./pages/LogoutPage";
import { ModelsPage } from "./pages/ModelsPage";
import { OrgsPage } from "./pages/OrgsPage";
import { PasswordPage } from "./pages/PasswordPage";
import { UsersPage } from "./pages/UsersPage";

// the dashboards (and the charting library) load on first use: the sign-in page stays small
const OrgUsagePage = lazy(() => import("./pages/OrgUsagePage").then((m) => ({ default: m.OrgUsagePage })));
const MyUsagePage = lazy(() => import("./pages/MyUsagePage").then((m) => ({ default: m.MyUsagePage })));
const SystemUsagePage = lazy(() => import("./pages/SystemUsagePage").then((m) => ({ default: m.SystemUsagePage })));

/** Signed-in pages: wait for /api/auth/me, else go to the login page (and come back after). */
function RequireAuth({ children }: { children: ReactNode }) {
  const { me, error, refresh } = useAuth();
  const location = useLocation();
  if (me === undefined) return <Loading label="Checking your session…" />;
  if (me === null) {
    if (error) {
      return (
        <main className="center-page">
          <ErrorMessage error={error} onRetry={() => void refresh()} />
        </main>
      );
    }
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}

export function NotAllowed({ what }: { what: string }) {
  return (
    <>
      <PageHeader title="Not available" />
      <p>Your role does not give access to {what} in this organisation.</p>
    </>
  );
}

/** An org page, shown only when the caller's role allows it (the API refuses it anyway). */
function OrgPage({ allow, what, children }: { allow: (p: OrgPermissions) => boolean; what: string; children: (orgId: string) => ReactNode }) {
  const { orgId = "" } = useParams();
  const { me } = useAuth();
  if (!me) return null;
  const p = permissionsFor(me, orgId);
  if (!allow(p)) return <NotAllowed what={what} />;
  return <>{children(orgId)}</>;
}

function SystemOnly({ children }: { children: ReactNode }) {
  const { me } = useAuth();
  if (!me?.is_system_admin) {
    return (
      <>
        <PageHeader title="Not available" />
        <p>Only System Admins can open this page.</p>
      </>
    );
  }
  return <>{children}</>;
}

/** `/`: the first page that fits the user. */
function Home() {
  const { me } = useAuth();
  if (!me) return null;
  if (me.is_system_admin) return <Navigate to="/system/usage" replace />;
  const first = [...me.memberships].sort((a, b) => a.org_name.localeCompare(b.org_name))[0];
  if (first) return <Navigate to={`/org/${first.org_id}/usage`} replace />;
  return <Navigate to="/me/usage" replace />;
}

function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p>There is no page at this address.</p>
    </>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/logout" element={<LogoutPage />} />
      <Route path="/invite/:token" element={<InvitePage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<Home />} />
        <Route path="/account/password" element={<PasswordPage />} />
        <Route path="/me/usage" element={<MyUsagePage />} />
        <Route path="/org/:orgId" element={<Navigate to="usage" replace />} />
        <Route
          path="/org/:orgId/usage"
          element={<OrgPage allow={(p) => p.viewUsage} what="the usage dashboard">{(id) => <OrgUsagePage orgId={id} />}</OrgPage>}
        />
        <Route
          path="/org/:orgId/keys"
          element={<OrgPage allow={(p) => p.manageOwnKeys || p.manageAllKeys} what="API keys">{(id) => <KeysPage orgId={id} />}</OrgPage>}
        />
        <Route
          path="/org/:orgId/users"
          element={<OrgPage allow={(p) => p.manageUsers} what="user management">{(id) => <UsersPage orgId={id} />}</OrgPage>}
        />
        <Route
          path="/org/:orgId/budget"
          element={<OrgPage allow={(p) => p.setBudget} what="the budget">{(id) => <BudgetPage orgId={id} />}</OrgPage>}
        />
        <Route
          path="/org/:orgId/audit"
          element={<OrgPage allow={(p) => p.viewAudit} what="the audit log">{(id) => <AuditPage orgId={id} />}</OrgPage>}
        />
        <Route path="/system" element={<Navigate to="/system/usage" replace />} />
        <Route path="/system/usage" element={<SystemOnly><SystemUsagePage /></SystemOnly>} />
        <Route path="/system/orgs" element={<SystemOnly><OrgsPage /></SystemOnly>} />
        <Route path="/system/models" element={<SystemOnly><ModelsPage /></SystemOnly>} />
        <Route path="/system/audit" element={<SystemOnly><AuditPage /></SystemOnly>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
