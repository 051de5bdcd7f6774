import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { type Call, fakeApi, json } from "../test/fakeApi";
import type { OrgRateLimitsPublic, RateLimitValues } from "../api/types";
import { parseLimitInput, rateLimitFailure, RateLimitsForm, RateLimitsSection } from "./RateLimitsSection";

const ORG = "6f1c1f9e-0d7e-4d7b-8d5c-2a4f5e6d7c8b";
const PATH = `/api/org/${ORG}/rate-limits`;
const UNLIMITED: RateLimitValues = { requests_per_minute: null, tokens_per_minute: null, max_concurrent_requests: null };

function limits(over: Partial<OrgRateLimitsPublic> = {}): OrgRateLimitsPublic {
  return {
    org_id: ORG,
    limits: { requests_per_minute: 600, tokens_per_minute: 100000, max_concurrent_requests: null },
    ceiling: { requests_per_minute: 1000, tokens_per_minute: null, max_concurrent_requests: 16 },
    effective: { requests_per_minute: 600, tokens_per_minute: 100000, max_concurrent_requests: 16 },
    updated_at: "2026-11-28T12:00:00Z",
    updated_by: "u1",
    ...over,
  };
}

let calls: Call[];
let answers: Record<string, () => Response>;

beforeEach(() => {
  ({ calls, answers } = fakeApi({ [`GET ${PATH}`]: () => json(200, limits()) }));
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("RateLimitsSection", () => {
  it("shows limits, ceiling and effective values, unlimited for null", async () => {
    render(<RateLimitsSection orgId={ORG} canSet={false} canSetCeiling={false} />);
    const table = await screen.findByRole("table", { name: "Rate limits" });
    const row = (name: string) =>
      within(table)
        .getByRole("rowheader", { name })
        .closest("tr")!
        .querySelectorAll("td");
    expect([...row("Requests per minute")].map((td) => td.textContent)).toEqual(["600", "1,000", "600"]);
    expect([...row("Tokens per minute")].map((td) => td.textContent)).toEqual(["100,000", "unlimited", "100,000"]);
    expect([...row("Concurrent requests")].map((td) => td.textContent)).toEqual(["unlimited", "16", "16"]);
    // an Org User (or anyone without the right) gets no form
    expect(screen.queryByRole("form")).not.toBeInTheDocument();
  });

  it("gives Org Admins the limits' form only, filled with the current values", async () => {
    render(<RateLimitsSection orgId={ORG} canSet canSetCeiling={false} />);
    const form = await screen.findByRole("form", { name: "Rate limits" });
    expect(within(form).getByLabelText("Requests per minute")).toHaveValue("600");
    expect(within(form).getByLabelText("Tokens per minute")).toHaveValue("100k");
    expect(within(form).getByLabelText("Concurrent requests")).toHaveValue("");
    expect(screen.queryByRole("form", { name: "Rate limit ceiling" })).not.toBeInTheDocument();
  });

  it("sends all three limits (empty = null), then shows the new values", async () => {
    const user = userEvent.setup();
    const after = limits({ limits: { requests_per_minute: 600, tokens_per_minute: 2000000, max_concurrent_requests: 8 } });
    answers[`PUT ${PATH}`] = () => {
      answers[`GET ${PATH}`] = () => json(200, after);
      return json(200, after);
    };
    render(<RateLimitsSection orgId={ORG} canSet canSetCeiling={false} />);
    const form = await screen.findByRole("form", { name: "Rate limits" });
    await user.clear(within(form).getByLabelText("Tokens per minute"));
    await user.type(within(form).getByLabelText("Tokens per minute"), "2M");
    await user.type(within(form).getByLabelText("Concurrent requests"), "8");
    await user.click(within(form).getByRole("button", { name: "Set rate limits" }));
    expect(await screen.findByText("Rate limits saved.")).toBeInTheDocument();
    const put = calls.find((c) => c.method === "PUT");
    expect(put).toEqual({ method: "PUT", path: PATH, body: { requests_per_minute: 600, tokens_per_minute: 2000000, max_concurrent_requests: 8 } });
    expect(await screen.findByText("8", { selector: "td" })).toBeInTheDocument();
  });

  it("shows an above-ceiling refusal under the field it names", async () => {
    const user = userEvent.setup();
    answers[`PUT ${PATH}`] = () =>
      json(400, {
        error: {
          code: "above_ceiling",
          message: "requests_per_minute above the organisation's ceiling (5000 > 1000); a System Admin may raise the ceiling",
          details: [{ loc: ["body", "requests_per_minute"], msg: "at most 1000", type: "above_ceiling" }],
        },
      });
    render(<RateLimitsSection orgId={ORG} canSet canSetCeiling={false} />);
    const form = await screen.findByRole("form", { name: "Rate limits" });
    const rpm = within(form).getByLabelText("Requests per minute");
    await user.clear(rpm);
    await user.type(rpm, "5000");
    await user.click(within(form).getByRole("button", { name: "Set rate limits" }));
    expect(await within(form).findByText(/above the organisation's ceiling \(5000 > 1000\)/)).toBeInTheDocument();
    expect(rpm).toHaveAttribute("aria-invalid", "true");
    expect(rpm).toHaveValue("5000"); // the input is kept
    expect(screen.queryByText("Rate limits saved.")).not.toBeInTheDocument();
  });

  it("gives System Admins the ceiling's form, which PUTs the ceiling", async () => {
    const user = userEvent.setup();
    answers[`PUT ${PATH}/ceiling`] = () => json(200, limits());
    render(<RateLimitsSection orgId={ORG} canSet canSetCeiling />);
    const form = await screen.findByRole("form", { name: "Rate limit ceiling" });
    expect(within(form).getByLabelText("Concurrent requests")).toHaveValue("16");
    await user.clear(within(form).getByLabelText("Requests per minute"));
    await user.click(within(form).getByRole("button", { name: "Set ceiling" }));
    expect(await screen.findByText("Ceiling saved.")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PUT")).toEqual({
      method: "PUT",
      path: `${PATH}/ceiling`,
      body: { requests_per_minute: null, tokens_per_minute: null, max_concurrent_requests: 16 },
    });
  });

  it("shows a refusal that names no field above the form, and a failed load", async () => {
    const user = userEvent.setup();
    answers[`PUT ${PATH}/ceiling`] = () => json(403, { error: { code: "permission_denied", message: "only System Admins set the ceiling" } });
    render(<RateLimitsSection orgId={ORG} canSet canSetCeiling />);
    const form = await screen.findByRole("form", { name: "Rate limit ceiling" });
    await user.click(within(form).getByRole("button", { name: "Set ceiling" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent("only System Admins set the ceiling");
  });

  it("shows a failed load with a retry", async () => {
    const user = userEvent.setup();
    answers[`GET ${PATH}`] = () => json(503, { error: { code: "unavailable", message: "database unavailable" } });
    render(<RateLimitsSection orgId={ORG} canSet canSetCeiling />);
    expect(await screen.findByRole("alert")).toHaveTextContent("database unavailable");
    answers[`GET ${PATH}`] = () => json(200, limits());
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("table", { name: "Rate limits" })).toBeInTheDocument();
  });
});

describe("RateLimitsForm", () => {
  it("refuses zero, negatives and fractions without calling the API", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<RateLimitsForm name="Rate limits" initial={UNLIMITED} submitLabel="Save" onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("Requests per minute"), "0");
    await user.type(screen.getByLabelText("Tokens per minute"), "1.5");
    await user.type(screen.getByLabelText("Concurrent requests"), "-2");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByText(/Must be at least 1/)).toBeInTheDocument();
    expect(screen.getByText(/not a whole number of tokens/)).toBeInTheDocument();
    expect(screen.getByText(/Not a token amount/)).toBeInTheDocument();
    expect(screen.getByLabelText("Concurrent requests")).toHaveAttribute("aria-invalid", "true");
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it("sends empty fields as unlimited and human amounts as numbers", async () => {
    const user = userEvent.setup();
    const onSubmit = vi.fn().mockResolvedValue(null);
    render(<RateLimitsForm name="Rate limits" initial={UNLIMITED} submitLabel="Save" onSubmit={onSubmit} />);
    await user.type(screen.getByLabelText("Tokens per minute"), " 100k ");
    await user.type(screen.getByLabelText("Concurrent requests"), "unlimited");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(onSubmit).toHaveBeenCalledWith({ requests_per_minute: null, tokens_per_minute: 100000, max_concurrent_requests: null });
  });
});

describe("rateLimitFailure", () => {
  it("finds the field in the details or the message", () => {
    const inDetails = new ApiError(400, "invalid_request", "invalid request", [{ loc: ["body", "tokens_per_minute"], msg: "bad" }]);
    expect(rateLimitFailure(inDetails).field).toBe("tokens_per_minute");
    expect(rateLimitFailure(new ApiError(400, "above_ceiling", "x", { field: "max_concurrent_requests" })).field).toBe("max_concurrent_requests");
    expect(rateLimitFailure(new ApiError(400, "above_ceiling", "requests_per_minute above the ceiling")).field).toBe("requests_per_minute");
    expect(rateLimitFailure(new Error("network down"))).toEqual({ field: undefined, message: "network down" });
  });

  it("parses a field's input", () => {
    expect(parseLimitInput("")).toEqual({ ok: true, value: null });
    expect(parseLimitInput("2M")).toEqual({ ok: true, value: 2000000 });
    expect(parseLimitInput("0").ok).toBe(false);
  });
});
