import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { listOrgs } from "../api/endpoints";
import type { MePublic, OrgRole, Status } from "../api/types";

export interface OrgChoice {
  id: string;
  name: string;
  status?: Status;
  role: OrgRole | null;
}

interface OrgDirectoryState {
  orgs: OrgChoice[];
  loading: boolean;
  error: unknown;
  reload: () => void;
  find: (id: string) => OrgChoice | undefined;
}

const Ctx = createContext<OrgDirectoryState | null>(null);

const MAX_PAGES = 10;

/** The organisations the org switcher offers: every org for a System Admin, else the memberships. */
export function OrgDirectoryProvider({ me, children }: { me: MePublic; children: ReactNode }) {
  const [all, setAll] = useState<OrgChoice[] | null>(null);
  const [loading, setLoading] = useState(me.is_system_admin);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!me.is_system_admin) return;
    const ctrl = new AbortController();
    setLoading(true);
    (async () => {
      const out: OrgChoice[] = [];
      let cursor: string | null | undefined = null;
      for (let i = 0; i < MAX_PAGES; i++) {
        const page = await listOrgs({ limit: 500, cursor }, ctrl.signal);
        for (const o of page.data) {
          const m = me.memberships.find((x) => x.org_id === o.id);
          out.push({ id: o.id, name: o.name, status: o.status, role: m?.role ?? null });
        }
        cursor = page.next_cursor;
        if (!cursor) break;
      }
      return out;
    })()
      .then((orgs) => {
        if (!ctrl.signal.aborted) {
          setAll(orgs);
          setError(null);
        }
      })
      .catch((e) => !ctrl.signal.aborted && setError(e))
      .finally(() => !ctrl.signal.aborted && setLoading(false));
    return () => ctrl.abort();
  }, [me, tick]);

  const reload = useCallback(() => setTick((t) => t + 1), []);

  const orgs = useMemo<OrgChoice[]>(() => {
    if (me.is_system_admin) return all ?? [];
    return me.memberships
      .map((m) => ({ id: m.org_id, name: m.org_name, role: m.role }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }, [me, all]);

  const find = useCallback((id: string) => orgs.find((o) => o.id === id), [orgs]);
  const value = useMemo(() => ({ orgs, loading, error, reload, find }), [orgs, loading, error, reload, find]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useOrgDirectory(): OrgDirectoryState {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("useOrgDirectory outside OrgDirectoryProvider");
  return ctx;
}
