import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { type Call, fakeApi, json } from "../test/fakeApi";
import type { BudgetAlertPublic, BudgetAlertsPublic, MePublic } from "../api/types";
import { AuthProvider } from "../auth/AuthContext";
import { OrgDirectoryProvider } from "../components/OrgDirectory";
import { BudgetAlertsForm, BudgetAlertsSection, budgetAlertFailure, parseThresholdsInput, parseWebhookInput } from "./BudgetAlertsSection";
import { BudgetPage } from "./BudgetPage";

const ORG = "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b";
const PATH = `/api/org/${ORG}/budget/alerts`;
const HOOK = "https://hooks.acme.example/ias";
const SECRET = "whsec_0123456789abcdef0123456789abcdef";

function alert(over: Partial<BudgetAlertPublic> = {}): BudgetAlertPublic {
  return {
    id: "a1",
    period: "2026-12",
    threshold: 80,
    used_tokens: 820000,
    limit_tokens: 1000000,
    created_at: "2026-12-03T10:00:00Z",
    email_status: "delivered",
    webhook_status: "failed",
    attempts: 3,
    last_error: "HTTP 502 from the receiver",
    ...over,
  };
}

function settings(over: Partial<BudgetAlertsPublic> = {}): BudgetAlertsPublic {
  return {
    org_id: ORG,
    thresholds: [50, 80, 100],
    webhook_url: null,
    webhook_secret_set: false,
    alerts: [],
    updated_at: "2026-12-01T08:00:00Z",
    updated_by: "u1",
    ...over,
  };
}

let calls: Call[];
let answers: Record<string, () => Response>;

beforeEach(() => {
  ({ calls, answers } = fakeApi({ [`GET ${PATH}`]: () => json(200, settings()) }));
});

afterEach(() => {
  vi.unstubAllGlobals();
});

/** The PUT answers `put` (plus `extra`, e.g. a new secret); later GETs answer `put` without it. */
function putAnswers(put: BudgetAlertsPublic, extra: Record<string, unknown> = {}) {
  answers[`PUT ${PATH}`] = () => {
    answers[`GET ${PATH}`] = () => json(200, put);
    return json(200, { ...put, ...extra });
  };
}

describe("BudgetAlertsSection", () => {
  it("shows the settings and this month's alerts with their statuses", async () => {
    answers[`GET ${PATH}`] = () =>
      json(200, settings({ webhook_url: HOOK, webhook_secret_set: true, alerts: [alert(), alert({ id: "a0", threshold: 50, used_tokens: 500100, webhook_status: "delivered", attempts: 1, last_error: null })] }));
    render(<BudgetAlertsSection orgId={ORG} />);
    const form = await screen.findByRole("form", { name: "Alert settings" });
    expect(within(form).getByLabelText("Thresholds (%)")).toHaveValue("50, 80, 100");
    expect(within(form).getByLabelText("Webhook URL")).toHaveValue(HOOK);
    expect(screen.getByText(/Alerts at 50%, 80%, 100% of the monthly budget/)).toBeInTheDocument();
    expect(screen.getByText(/signing secret set/)).toBeInTheDocument();
    const table = screen.getByRole("table", { name: "This month's alerts" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    const first = within(rows[0]).getAllByRole("cell").map((td) => td.textContent);
    expect(first.slice(1)).toEqual(["80%", "820,000 of 1,000,000 tokens (82%)", "delivered", "failed", "3", "HTTP 502 from the receiver"]);
    expect(within(rows[1]).getAllByRole("cell")[6]).toHaveTextContent("–");
    expect(screen.getByRole("button", { name: "Rotate secret" })).toBeInTheDocument();
    // nothing here may match the browser test's /Save/ button of the budget page
    expect(screen.queryByRole("button", { name: /Save/ })).not.toBeInTheDocument();
  });

  it("says when there are no alerts and offers no rotation without a webhook", async () => {
    render(<BudgetAlertsSection orgId={ORG} />);
    expect(await screen.findByText("No alerts this month.")).toBeInTheDocument();
    expect(screen.getByText(/No webhook: e-mail to the organisation's admins only/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Rotate secret" })).not.toBeInTheDocument();
    expect(screen.queryByTestId("webhook-secret")).not.toBeInTheDocument();
  });

  it("sends thresholds and the webhook URL, and shows the new secret once", async () => {
    const user = userEvent.setup();
    const after = settings({ thresholds: [50, 90], webhook_url: HOOK, webhook_secret_set: true });
    putAnswers(after, { webhook_secret: SECRET });
    const { unmount } = render(<BudgetAlertsSection orgId={ORG} />);
    const form = await screen.findByRole("form", { name: "Alert settings" });
    const thresholds = within(form).getByLabelText("Thresholds (%)");
    await user.clear(thresholds);
    await user.type(thresholds, "90, 50%");
    await user.type(within(form).getByLabelText("Webhook URL"), ` ${HOOK} `);
    await user.click(within(form).getByRole("button", { name: "Set alerts" }));
    expect(await screen.findByText("Alerts saved.")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PUT")).toEqual({ method: "PUT", path: PATH, body: { thresholds: [50, 90], webhook_url: HOOK } });
    const panel = screen.getByRole("region", { name: "New webhook secret" });
    expect(within(panel).getByTestId("webhook-secret")).toHaveTextContent(SECRET);
    expect(within(panel).getByText(/not be shown again/)).toBeInTheDocument();
    expect(within(panel).getByRole("button", { name: "Copy" })).toBeInTheDocument();
    expect(await screen.findByText(/signing secret set/)).toBeInTheDocument(); // reloaded
    await user.click(within(panel).getByRole("button", { name: "I have copied the secret" }));
    expect(screen.queryByTestId("webhook-secret")).not.toBeInTheDocument();
    // the GET never carries it: a fresh page does not show it
    unmount();
    render(<BudgetAlertsSection orgId={ORG} />);
    expect(await screen.findByRole("form", { name: "Alert settings" })).toBeInTheDocument();
    expect(screen.queryByText(SECRET)).not.toBeInTheDocument();
  });

  it("rotates the secret after confirmation, keeping the settings", async () => {
    const user = userEvent.setup();
    const current = settings({ thresholds: [80], webhook_url: HOOK, webhook_secret_set: true });
    answers[`GET ${PATH}`] = () => json(200, current);
    putAnswers(current, { webhook_secret: SECRET });
    render(<BudgetAlertsSection orgId={ORG} />);
    await user.click(await screen.findByRole("button", { name: "Rotate secret" }));
    const dialog = screen.getByRole("dialog", { name: "Rotate the webhook secret?" });
    await user.click(within(dialog).getByRole("button", { name: "Rotate" }));
    expect(await screen.findByTestId("webhook-secret")).toHaveTextContent(SECRET);
    expect(screen.getByText("Secret rotated.")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ thresholds: [80], webhook_url: HOOK, rotate_secret: true });
  });

  it("shows an API refusal under the field it names", async () => {
    const user = userEvent.setup();
    answers[`PUT ${PATH}`] = () =>
      json(400, {
        error: { code: "invalid_request", message: "webhook_url: the host does not resolve", details: [{ loc: ["body", "webhook_url"], msg: "bad host" }] },
      });
    render(<BudgetAlertsSection orgId={ORG} />);
    const form = await screen.findByRole("form", { name: "Alert settings" });
    const url = within(form).getByLabelText("Webhook URL");
    await user.type(url, "https://nowhere.invalid/x");
    await user.click(within(form).getByRole("button", { name: "Set alerts" }));
    expect(await within(form).findByText(/the host does not resolve/)).toBeInTheDocument();
    expect(url).toHaveAttribute("aria-invalid", "true");
    expect(url).toHaveValue("https://nowhere.invalid/x");
    expect(within(form).getByLabelText("Thresholds (%)")).toHaveAttribute("aria-invalid", "false");
    expect(screen.queryByText("Alerts saved.")).not.toBeInTheDocument();
    expect(screen.queryByTestId("webhook-secret")).not.toBeInTheDocument();
  });

  it("shows a refusal that names no field in the form", async () => {
    const user = userEvent.setup();
    answers[`PUT ${PATH}`] = () => json(403, { error: { code: "permission_denied", message: "Org Admins and System Admins only" } });
    render(<BudgetAlertsSection orgId={ORG} />);
    const form = await screen.findByRole("form", { name: "Alert settings" });
    await user.click(within(form).getByRole("button", { name: "Set alerts" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("Org Admins and System Admins only");
  });

  it("shows a failed load with a retry", async () => {
    const user = userEvent.setup();
    answers[`GET ${PATH}`] = () => json(503, { error: { code: "unavailable", message: "database unavailable" } });
    render(<BudgetAlertsSection orgId={ORG} />);
    expect(await screen.findByRole("alert")).toHaveTextContent("database unavailable");
    answers[`GET ${PATH}`] = () => json(200, settings());
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("form", { name: "Alert settings" })).toBeInTheDocument();
  });
});

describe("BudgetAlertsForm", () => {
  it("refuses bad thresholds and a non-http(s) URL without calling the API", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<BudgetAlertsForm initial={{ thresholds: [], webhook_url: null }} onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("Thresholds (%)"), "50, 150");
    await user.type(screen.getByLabelText("Webhook URL"), "ftp://files.example/x");
    await user.click(screen.getByRole("button", { name: "Set alerts" }));
    expect(screen.getByText(/150 is not between 1 and 100/)).toBeInTheDocument();
    expect(screen.getByText(/Must be an http:\/\/ or https:\/\/ URL/)).toBeInTheDocument();
    expect(screen.getByLabelText("Thresholds (%)")).toHaveAttribute("aria-invalid", "true");
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it("sends empty inputs as no thresholds and no webhook", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<BudgetAlertsForm initial={{ thresholds: [80], webhook_url: HOOK }} onSubmit={onSubmit} />);
    await user.clear(screen.getByLabelText("Thresholds (%)"));
    await user.clear(screen.getByLabelText("Webhook URL"));
    await user.click(screen.getByRole("button", { name: "Set alerts" }));
    expect(onSubmit).toHaveBeenCalledWith({ thresholds: [], webhook_url: null });
  });
});

describe("parsing and refusals", () => {
  it("parses the thresholds' input", () => {
    expect(parseThresholdsInput("50, 80, 100")).toEqual({ ok: true, value: [50, 80, 100] });
    expect(parseThresholdsInput("100 50;80%")).toEqual({ ok: true, value: [50, 80, 100] });
    expect(parseThresholdsInput("")).toEqual({ ok: true, value: [] });
    expect(parseThresholdsInput("none")).toEqual({ ok: true, value: [] });
    for (const bad of ["0", "101", "50, 50", "1.5", "x", "-5", "1,2,3,4,5,6,7,8,9,10,11"]) {
      expect(parseThresholdsInput(bad).ok).toBe(false);
    }
    expect(parseThresholdsInput("50,50")).toEqual({ ok: false, error: "50 is listed twice." });
  });

  it("parses the webhook's input", () => {
    expect(parseWebhookInput("")).toEqual({ ok: true, value: null });
    expect(parseWebhookInput(` ${HOOK} `)).toEqual({ ok: true, value: HOOK });
    expect(parseWebhookInput("http://10.0.0.1:8080/h?x=1").ok).toBe(true);
    for (const bad of ["hooks.example", "ftp://x.example", "https://", "javascript:alert(1)"]) expect(parseWebhookInput(bad).ok).toBe(false);
  });

  it("finds the field in the details or the message", () => {
    expect(budgetAlertFailure(new ApiError(400, "invalid_request", "invalid", [{ loc: ["body", "thresholds", 2], msg: "bad" }])).field).toBe("thresholds");
    expect(budgetAlertFailure(new ApiError(400, "invalid_request", "x", { field: "webhook_url" })).field).toBe("webhook_url");
    expect(budgetAlertFailure(new ApiError(400, "invalid_request", "thresholds must be unique")).field).toBe("thresholds");
    expect(budgetAlertFailure(new Error("network down"))).toEqual({ field: undefined, message: "network down" });
  });
});

describe("the budget page", () => {
  function me(role: "org_admin" | "org_user"): MePublic {
    return {
      user: { id: "u1", email: "ada@example.com", name: "Ada", is_system_admin: false },
      is_system_admin: false,
      memberships: [{ org_id: ORG, org_name: "acme", role, joined_at: "2026-01-02T10:00:00Z" }],
      session_expires_at: null,
    } as MePublic;
  }

  function page(role: "org_admin" | "org_user") {
    const who = me(role);
    answers["GET /api/auth/me"] = () => json(200, who);
    answers[`GET /api/org/${ORG}/budget`] = () =>
      json(200, { org_id: ORG, period: "2026-12", monthly_token_limit: 1000000, monthly_token_limit_display: "1M", used_this_month: 10, remaining_this_month: 999990, updated_at: null });
    answers[`GET /api/org/${ORG}/rate-limits`] = () =>
      json(200, { org_id: ORG, limits: {}, ceiling: {}, effective: {}, updated_at: null, updated_by: null });
    return render(
      <AuthProvider>
        <OrgDirectoryProvider me={who}>
          <BudgetPage orgId={ORG} />
        </OrgDirectoryProvider>
      </AuthProvider>,
    );
  }

  it("shows Org Admins the alerts below the rate limits, keeping the budget the first field and its Save the only one", async () => {
    page("org_admin");
    const alerts = await screen.findByRole("heading", { name: "Alerts" });
    const limits = screen.getByRole("heading", { name: "Rate limits" });
    expect(limits.compareDocumentPosition(alerts) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    await screen.findByRole("form", { name: "Alert settings" });
    expect(screen.getAllByRole("textbox")[0]).toHaveAccessibleName("Monthly token budget");
    expect(screen.getAllByRole("button", { name: /Save/ })).toHaveLength(1);
  });

  it("shows Org Users no alerts and never asks for them", async () => {
    page("org_user");
    expect(await screen.findByRole("heading", { name: "Rate limits" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Alerts" })).not.toBeInTheDocument();
    expect(calls.some((c) => c.path === PATH)).toBe(false);
  });
});
