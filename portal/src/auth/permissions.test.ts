import { describe, expect, it } from "vitest";
import { permissionsFor } from "./AuthContext";

const ORG = "o1";
const OTHER = "o2";
const m = (role: "org_admin" | "org_user") => [{ org_id: ORG, org_name: "acme", role, joined_at: "" }];

describe("permissionsFor (shared/PERMISSIONS.md)", () => {
  it("Org User: own keys and usage only", () => {
    const p = permissionsFor({ is_system_admin: false, memberships: m("org_user") }, ORG);
    expect(p).toMatchObject({
      viewUsage: true,
      createKey: true,
      manageOwnKeys: true,
      manageAllKeys: false,
      manageUsers: false,
      setBudget: false,
      setRateLimits: false,
      setRateLimitCeiling: false,
      manageBudgetAlerts: false,
      viewAudit: false,
    });
  });
  it("Org Admin: everything of the own org", () => {
    const p = permissionsFor({ is_system_admin: false, memberships: m("org_admin") }, ORG);
    expect(p).toMatchObject({ viewUsage: true, createKey: true, manageOwnKeys: true, manageAllKeys: true, manageUsers: true, setBudget: true, viewAudit: true });
    expect(p).toMatchObject({ setRateLimits: true, setRateLimitCeiling: false, manageBudgetAlerts: true });
  });
  it("nothing in another org", () => {
    const p = permissionsFor({ is_system_admin: false, memberships: m("org_admin") }, OTHER);
    expect(Object.entries(p).filter(([k, v]) => k !== "role" && v === true)).toEqual([]);
  });
  it("System Admin: any org, but never creates keys, even as a member", () => {
    for (const memberships of [[], m("org_admin")]) {
      const p = permissionsFor({ is_system_admin: true, memberships }, ORG);
      expect(p).toMatchObject({ viewUsage: true, manageAllKeys: true, manageUsers: true, setBudget: true, viewAudit: true, createKey: false, manageOwnKeys: false });
      expect(p).toMatchObject({ setRateLimits: true, setRateLimitCeiling: true, manageBudgetAlerts: true });
    }
  });
});
