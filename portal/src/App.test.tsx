import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import type { MePublic } from "./api/types";
import { AuthProvider } from "./auth/AuthContext";

const ORG = "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b";

function me(opts: { sys?: boolean; role?: "org_admin" | "org_user" | null }): MePublic {
  const user = { id: "u1", email: "ada@example.com", name: "Ada", is_system_admin: Boolean(opts.sys) };
  return {
    user,
    is_system_admin: Boolean(opts.sys),
    memberships: opts.role ? [{ org_id: ORG, org_name: "acme", role: opts.role, joined_at: "2026-01-02T10:00:00Z" }] : [],
    session_expires_at: null,
  };
}

const zero = { requests: 0, input_tokens: 0, output_tokens: 0, total_tokens: 0, cost: "0" };
const key = {
  id: "k1",
  org_id: ORG,
  name: "ci-pipeline",
  prefix: "ias-AbCdEfGh",
  owner: { id: "u2", email: "dev@example.com" },
  status: "active",
  created_at: "2026-11-01T10:00:00Z",
  last_used_at: null,
  expires_at: null,
  revoked_at: null,
};

type Handler = (url: URL, init: RequestInit) => [number, unknown];

function json(status: number, body: unknown): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

let routes: Record<string, Handler>;
const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
  const url = new URL(String(input), "http://portal.test");
  const handler = routes[`${init.method ?? "GET"} ${url.pathname}`];
  if (!handler) return json(404, { error: { code: "not_found", message: `no mock for ${url.pathname}` } });
  const [status, body] = handler(url, init);
  return json(status, body);
});

function signedInAs(who: MePublic) {
  routes["GET /api/auth/me"] = () => [200, who];
  routes["GET /api/org"] = () => [200, { data: [{ id: ORG, name: "acme", status: "active", monthly_token_limit: null, created_at: "", updated_at: "" }], count: 1, next_cursor: null }];
}

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider>
        <App />
      </AuthProvider>
    </MemoryRouter>,
  );
}

beforeEach(() => {
  routes = {};
  routes[`GET /api/org/${ORG}/key`] = () => [200, { data: [key], count: 1, next_cursor: null }];
  routes[`GET /analytics/org/${ORG}`] = () => [
    200,
    {
      org_id: ORG,
      name: "acme",
      period: { from: "2026-10-30", to: "2026-11-28", days: 30 },
      totals: { ...zero, requests: 3, input_tokens: 1000, output_tokens: 234567, total_tokens: 235567, cost: "0.5" },
      mine: zero,
      by_model: [],
      by_user: [],
      daily: [],
      budget: { period: "2026-11", limit: 500000000, used: 235567, cost: "0.5", remaining: 499764433, percent: 0.05 },
    },
  ];
  fetchMock.mockClear();
  vi.stubGlobal("fetch", fetchMock);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("routing and roles", () => {
  it("sends a signed-out visitor to the login page", async () => {
    routes["GET /api/auth/me"] = () => [401, { error: { code: "unauthorized", message: "no session" } }];
    renderAt(`/org/${ORG}/keys`);
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in" })).toBeInTheDocument();
  });

  it("signs in and goes back to the page asked for", async () => {
    let signedIn = false;
    routes["GET /api/auth/me"] = () => (signedIn ? [200, me({ role: "org_user" })] : [401, { error: { code: "unauthorized", message: "no session" } }]);
    routes["POST /api/auth/login"] = (_u, init) => {
      const body = JSON.parse(String(init.body));
      if (body.password !== "correct horse battery") return [401, { error: { code: "invalid_credentials", message: "wrong e-mail address or password" } }];
      signedIn = true;
      return [200, { token: "iass_x", expires_at: "", user: me({}).user }];
    };
    const user = userEvent.setup();
    renderAt(`/org/${ORG}/usage`);
    await user.type(await screen.findByLabelText("Email address"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "nope");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("wrong e-mail address or password");
    await user.clear(screen.getByLabelText("Password"));
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Usage" })).toBeInTheDocument();
    expect((await screen.findAllByText("235,567")).length).toBeGreaterThan(0);
    expect(screen.getAllByText("500M").length).toBeGreaterThan(0);
  });

  it("Org User: own keys and a create form, no admin pages", async () => {
    signedInAs(me({ role: "org_user" }));
    renderAt(`/org/${ORG}/keys`);
    expect(await screen.findByRole("heading", { level: 1, name: "API keys" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Create key" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).getByRole("link", { name: "Usage" })).toBeInTheDocument();
    for (const hidden of ["Users", "Budget", "Audit log", "Organisations", "Model mappings"]) {
      expect(within(nav).queryByRole("link", { name: hidden })).not.toBeInTheDocument();
    }
    await screen.findByText("ci-pipeline");
    const keyCall = fetchMock.mock.calls.find(([u]) => String(u).startsWith(`/api/org/${ORG}/key`));
    expect(String(keyCall?.[0])).toContain("owner=me");
    expect(screen.queryByRole("columnheader", { name: "Owner" })).not.toBeInTheDocument();
  });

  it("Org User: the users page is not offered", async () => {
    signedInAs(me({ role: "org_user" }));
    renderAt(`/org/${ORG}/users`);
    expect(await screen.findByRole("heading", { level: 1, name: "Not available" })).toBeInTheDocument();
  });

  it("Org Admin: admin pages in the navigation, all keys of the org with owners, or only their own", async () => {
    signedInAs(me({ role: "org_admin" }));
    const user = userEvent.setup();
    renderAt(`/org/${ORG}/keys`);
    const nav = await screen.findByRole("navigation", { name: "Main" });
    for (const shown of ["Users", "Budget", "Audit log"]) expect(within(nav).getByRole("link", { name: shown })).toBeInTheDocument();
    expect(within(nav).queryByRole("link", { name: "Organisations" })).not.toBeInTheDocument();
    expect(await screen.findByRole("columnheader", { name: "Owner" })).toBeInTheDocument();
    expect(await screen.findByText("dev@example.com")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Create key" })).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText("Show"), "mine");
    expect(screen.queryByRole("columnheader", { name: "Owner" })).not.toBeInTheDocument();
    const last = fetchMock.mock.calls.filter(([u]) => String(u).startsWith(`/api/org/${ORG}/key`)).at(-1);
    expect(String(last?.[0])).toContain("owner=me");
  });

  it("System Admin: every key with its owner, revoke, but no key creation", async () => {
    signedInAs(me({ sys: true }));
    renderAt(`/org/${ORG}/keys`);
    expect(await screen.findByRole("heading", { level: 1, name: "API keys" })).toBeInTheDocument();
    expect(await screen.findByText("ci-pipeline")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Create key" })).not.toBeInTheDocument();
    expect(screen.getByRole("columnheader", { name: "Owner" })).toBeInTheDocument();
    expect(within(screen.getByRole("row", { name: /ci-pipeline/ })).getByRole("button", { name: "Revoke" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Main" });
    expect(within(nav).getByRole("link", { name: "Organisations" })).toBeInTheDocument();
    expect(within(nav).getByRole("link", { name: "Model mappings" })).toBeInTheDocument();
  });

  it("revokes after confirmation, with the CSRF header, and refetches without a page reload", async () => {
    signedInAs(me({ role: "org_user" }));
    document.cookie = "ias_csrf=csrf-abc; path=/";
    let revoked = false;
    routes[`GET /api/org/${ORG}/key`] = () => [200, { data: [{ ...key, status: revoked ? "revoked" : "active" }], count: 1, next_cursor: null }];
    routes[`DELETE /api/org/${ORG}/key/k1`] = (_u, init) => {
      expect((init.headers as Record<string, string>)["X-CSRF-Token"]).toBe("csrf-abc");
      revoked = true;
      return [200, { ...key, status: "revoked" }];
    };
    const user = userEvent.setup();
    renderAt(`/org/${ORG}/keys`);
    await user.click(within(await screen.findByRole("row", { name: /ci-pipeline/ })).getByRole("button", { name: "Revoke" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Revoke key" }));
    expect(await screen.findByText("revoked")).toBeInTheDocument();
    expect(revoked).toBe(true);
    expect(screen.queryByRole("button", { name: "Revoke" })).not.toBeInTheDocument();
    document.cookie = "ias_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
  });

  it("creates a key and shows it once", async () => {
    signedInAs(me({ role: "org_user" }));
    routes[`POST /api/org/${ORG}/key`] = (_u, init) => [201, { ...key, ...JSON.parse(String(init.body)), key: "ias-AbCdEfGhSECRETSECRET" }];
    const user = userEvent.setup();
    renderAt(`/org/${ORG}/keys`);
    await user.type(await screen.findByLabelText("Key name"), "notebook");
    await user.click(screen.getByRole("button", { name: "Create key" }));
    expect(await screen.findByTestId("new-key")).toHaveTextContent("ias-AbCdEfGhSECRETSECRET");
    await user.click(screen.getByRole("button", { name: "I have copied the key" }));
    expect(screen.queryByTestId("new-key")).not.toBeInTheDocument();
    expect(screen.queryByText(/SECRETSECRET/)).not.toBeInTheDocument();
  });
});
