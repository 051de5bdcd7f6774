import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiError, setUnauthorizedListener } from "../api/client";
import { getMe, logout as apiLogout } from "../api/endpoints";
import type { MePublic, OrgRole } from "../api/types";

/** What the portal knows about the signed-in user. */
export interface AuthState {
  /** undefined while the first /api/auth/me is in flight; null when signed out. */
  me: MePublic | null | undefined;
  error: unknown;
  refresh: () => Promise<MePublic | null>;
  signOut: () => Promise<void>;
  /** Forget the session locally (it ended on the server). */
  clear: () => void;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<MePublic | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);

  const refresh = useCallback(async () => {
    try {
      const value = await getMe();
      setMe(value);
      setError(null);
      return value;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        setMe(null);
        setError(null);
        return null;
      }
      setError(e);
      setMe((prev) => (prev === undefined ? null : prev));
      return null;
    }
  }, []);

  const clear = useCallback(() => setMe(null), []);

  const signOut = useCallback(async () => {
    try {
      await apiLogout();
    } catch {
      // the session may be gone already: signed out either way
    }
    setMe(null);
  }, []);

  useEffect(() => {
    void refresh();
    setUnauthorizedListener(() => setMe(null));
    return () => setUnauthorizedListener(null);
  }, [refresh]);

  const value = useMemo(() => ({ me, error, refresh, signOut, clear }), [me, error, refresh, signOut, clear]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error("useAuth outside AuthProvider");
  return ctx;
}

export function useMe(): MePublic {
  const { me } = useAuth();
  if (!me) throw new Error("useMe needs a signed-in user");
  return me;
}

/** The caller's effective powers in one organisation (shared/PERMISSIONS.md). */
export interface OrgPermissions {
  role: OrgRole | null;
  isSystemAdmin: boolean;
  isMember: boolean;
  viewUsage: boolean;
  manageUsers: boolean;
  setBudget: boolean;
  /** The org's rate limits (within the ceiling). */
  setRateLimits: boolean;
  /** The ceiling of the org's rate limits. */
  setRateLimitCeiling: boolean;
  /** The org's budget alerts: thresholds, webhook, its secret; this month's alerts. */
  manageBudgetAlerts: boolean;
  createKey: boolean;
  manageOwnKeys: boolean;
  manageAllKeys: boolean;
  viewAudit: boolean;
}

/**
 * The permission matrix as the portal applies it (to hide what a role cannot do; the API
 * refuses it anyway). A System Admin's "no" cells are prohibitions even when they are also a
 * member of the org (ias_serve/domain/policy.py): no key creation, no "own keys".
 */
export function permissionsFor(me: Pick<MePublic, "is_system_admin" | "memberships">, orgId: string): OrgPermissions {
  const membership = me.memberships.find((m) => m.org_id === orgId);
  const role = membership?.role ?? null;
  const sys = me.is_system_admin;
  const admin = role === "org_admin";
  const member = role !== null;
  return {
    role,
    isSystemAdmin: sys,
    isMember: member,
    viewUsage: sys || member,
    manageUsers: sys || admin,
    setBudget: sys || admin,
    setRateLimits: sys || admin,
    setRateLimitCeiling: sys,
    manageBudgetAlerts: sys || admin,
    createKey: !sys && member,
    manageOwnKeys: !sys && member,
    manageAllKeys: sys || admin,
    viewAudit: sys || admin,
  };
}
