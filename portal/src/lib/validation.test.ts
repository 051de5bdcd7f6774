import { describe, expect, it } from "vitest";
import {
  keyCreateBody,
  validateBudgetInput,
  validateEmail,
  validateInviteForm,
  validateKeyForm,
  validateModelForm,
  validateName,
  validateNewPassword,
  validatePasswordPair,
  type ModelFormValues,
} from "./validation";

const NOW = new Date("2026-11-28T12:00:00Z");

describe("key form", () => {
  it("needs a name", () => {
    expect(validateKeyForm({ name: "  ", expiry: "never", expiryDate: "" }, NOW).name).toMatch(/required/);
    expect(validateKeyForm({ name: "ci", expiry: "never", expiryDate: "" }, NOW)).toEqual({});
  });
  it("bounds the name like the API", () => {
    expect(validateName("x".repeat(200))).toBeUndefined();
    expect(validateName("x".repeat(201))).toMatch(/200/);
    expect(validateName("a\tb")).toMatch(/control/);
  });
  it("checks a custom expiry date", () => {
    const base = { name: "ci", expiry: "custom" as const };
    expect(validateKeyForm({ ...base, expiryDate: "" }, NOW).expiryDate).toMatch(/Choose/);
    expect(validateKeyForm({ ...base, expiryDate: "2026-11-27" }, NOW).expiryDate).toMatch(/future/);
    expect(validateKeyForm({ ...base, expiryDate: "2026-11-28" }, NOW).expiryDate).toBeUndefined(); // until the end of today, UTC
    expect(validateKeyForm({ ...base, expiryDate: "2040-01-01" }, NOW).expiryDate).toMatch(/3650/);
    expect(validateKeyForm({ ...base, expiryDate: "2027-06-30" }, NOW)).toEqual({});
  });
  it("builds the request body", () => {
    expect(keyCreateBody({ name: " ci ", expiry: "never", expiryDate: "" })).toEqual({ name: "ci" });
    expect(keyCreateBody({ name: "ci", expiry: "90", expiryDate: "" })).toEqual({ name: "ci", expires_in_days: 90 });
    expect(keyCreateBody({ name: "ci", expiry: "custom", expiryDate: "2027-06-30" })).toEqual({
      name: "ci",
      expires_at: "2027-06-30T23:59:59.000Z",
    });
  });
});

describe("invite form", () => {
  it("checks the address", () => {
    expect(validateEmail("")).toMatch(/required/);
    expect(validateEmail("grace")).toMatch(/valid/);
    expect(validateEmail("grace@example")).toMatch(/valid/);
    expect(validateEmail(" grace@example.com ")).toBeUndefined();
  });
  it("checks the role", () => {
    expect(validateInviteForm({ email: "g@example.com", role: "org_user" })).toEqual({});
    expect(validateInviteForm({ email: "g@example.com", role: "org_admin" })).toEqual({});
    expect(validateInviteForm({ email: "g@example.com", role: "system_admin" }).role).toBeTruthy();
  });
});

describe("budget input", () => {
  it("accepts human amounts and unlimited", () => {
    for (const ok of ["500M", "2B", "1.5k", "unlimited", "1,000,000", "0"]) expect(validateBudgetInput(ok)).toBeUndefined();
  });
  it("refuses the rest with the reason", () => {
    expect(validateBudgetInput("")).toMatch(/Enter/);
    expect(validateBudgetInput("5X")).toMatch(/Not a token amount/);
    expect(validateBudgetInput("1.2345k")).toMatch(/whole number/);
    expect(validateBudgetInput("-5")).toMatch(/Not a token amount/);
  });
});

describe("passwords", () => {
  it("applies the API's policy", () => {
    expect(validateNewPassword("short")).toMatch(/12/);
    expect(validateNewPassword("            ")).toMatch(/blank/);
    expect(validateNewPassword("a long enough passphrase")).toBeUndefined();
    expect(validateNewPassword("my grace@example.com pw", "grace@example.com")).toMatch(/e-mail address/);
    expect(validateNewPassword("Grace-is-my-password", "grace@example.com")).toMatch(/name part/);
    expect(validateNewPassword("ab-long-password-123", "ab@example.com")).toBeUndefined();
  });
  it("counts characters, not UTF-16 units", () => {
    expect(validateNewPassword("😀".repeat(11))).toMatch(/12/);
    expect(validateNewPassword("😀".repeat(12))).toBeUndefined();
  });
  it("wants the repetition to match", () => {
    expect(validatePasswordPair("a long enough passphrase", "a long enough passphras").confirm).toMatch(/match/);
    expect(validatePasswordPair("a long enough passphrase", "a long enough passphrase")).toEqual({});
  });
});

describe("model form", () => {
  const base: ModelFormValues = {
    name: "llama3",
    backend: "serve",
    target: "llama3-engine",
    enabled: true,
    priceIn: "0.15",
    priceOut: "0.6",
    allOrgs: true,
    orgIds: [],
  };
  it("accepts a valid mapping", () => {
    expect(validateModelForm(base)).toEqual({});
    expect(validateModelForm({ ...base, backend: "remote_url", target: "http://vllm:8000/v1" })).toEqual({});
  });
  it("refuses bad names, targets and prices", () => {
    expect(validateModelForm({ ...base, name: "-bad" }).name).toBeTruthy();
    expect(validateModelForm({ ...base, name: "has space" }).name).toBeTruthy();
    expect(validateModelForm({ ...base, target: "" }).target).toBeTruthy();
    expect(validateModelForm({ ...base, backend: "remote_url", target: "ftp://x" }).target).toBeTruthy();
    expect(validateModelForm({ ...base, priceIn: "1.1234567" }).priceIn).toBeTruthy();
    expect(validateModelForm({ ...base, priceOut: "-1" }).priceOut).toBeTruthy();
  });
});
