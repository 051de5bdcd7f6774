import { describe, expect, it } from "vitest";
import type { MePublic } from "../api/types";
import { switchTarget } from "./Layout";

const me: MePublic = {
  user: { id: "u1", email: "ada@example.com", name: "Ada", is_system_admin: false },
  is_system_admin: false,
  memberships: [
    { org_id: "a", org_name: "alpha", role: "org_admin", joined_at: "" },
    { org_id: "b", org_name: "beta", role: "org_user", joined_at: "" },
  ],
  session_expires_at: null,
};

describe("org switcher target", () => {
  it("keeps the section when the role in the other org allows it", () => {
    expect(switchTarget(me, "/org/a/keys", "b")).toBe("/org/b/keys");
    expect(switchTarget(me, "/org/b/keys", "a")).toBe("/org/a/keys");
    expect(switchTarget(me, "/org/b/usage", "a")).toBe("/org/a/usage");
  });
  it("falls back to the dashboard otherwise", () => {
    expect(switchTarget(me, "/org/a/users", "b")).toBe("/org/b/usage");
    expect(switchTarget(me, "/org/a/audit", "b")).toBe("/org/b/usage");
    expect(switchTarget(me, "/system/orgs", "a")).toBe("/org/a/usage");
  });
});
