import { describe, expect, it } from "vitest";
import {
  actionLabel,
  describeBudget,
  formatCompact,
  formatCost,
  formatDate,
  formatDateTime,
  formatNumber,
  formatPercent,
  formatTokenAmount,
  formatTokens,
  parseTokenAmount,
  roleLabel,
} from "./format";

describe("formatNumber / formatTokens", () => {
  it("groups thousands", () => {
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(999)).toBe("999");
    expect(formatNumber(1234567)).toBe("1,234,567");
    expect(formatNumber(2n ** 63n - 1n)).toBe("9,223,372,036,854,775,807");
  });
  it("shows a dash for missing numbers", () => {
    expect(formatNumber(null)).toBe("–");
    expect(formatNumber(undefined)).toBe("–");
    expect(formatNumber(Number.NaN)).toBe("–");
  });
  it("adds the unit", () => {
    expect(formatTokens(1234567)).toBe("1,234,567 tokens");
    expect(formatTokens(1)).toBe("1 token");
    expect(formatTokens(0)).toBe("0 tokens");
    expect(formatTokens(500_000_000n)).toBe("500,000,000 tokens");
    expect(formatTokens(null)).toBe("–");
  });
});

// The same cases as the backend's tests/unit/test_domain_budget.py
describe("parseTokenAmount (backend rules)", () => {
  const accepted: [string, bigint | null][] = [
    ["500M", 500_000_000n],
    ["500m", 500_000_000n],
    ["2B", 2_000_000_000n],
    ["2g", 2_000_000_000n],
    ["1.5k", 1500n],
    ["1.5K", 1500n],
    ["3T", 3n * 10n ** 12n],
    [".5k", 500n],
    ["0", 0n],
    ["1000", 1000n],
    ["1_000_000", 1_000_000n],
    ["1,000,000", 1_000_000n],
    ["  250 M ", 250_000_000n],
    ["1.000k", 1000n],
    ["unlimited", null],
    ["Unlimited", null],
    ["none", null],
    ["inf", null],
    ["∞", null],
    [String(2n ** 63n - 1n), 2n ** 63n - 1n],
  ];
  it.each(accepted)("%j → %s", (text, expected) => {
    expect(parseTokenAmount(text)).toEqual({ ok: true, value: expected });
  });

  const rejected = ["", "abc", "-5", "5X", "1.2345k", "0.5", "1e6", "1.5.2k", "k", "M5", "1 000", "10 MB", "nan", "10000000T", String(2n ** 63n)];
  it.each(rejected)("rejects %j", (text) => {
    const r = parseTokenAmount(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBeTruthy();
  });
});

describe("formatTokenAmount (backend rules)", () => {
  const cases: [number | bigint | null, string][] = [
    [null, "unlimited"],
    [0, "0"],
    [999, "999"],
    [1000, "1k"],
    [1500, "1.5k"],
    [1234, "1.234k"],
    [999_999, "999.999k"],
    [1_000_000, "1M"],
    [1_000_001, "1000001"],
    [500_000_000, "500M"],
    [1_250_000_000, "1.25B"],
    [2_000_000_000, "2B"],
    [10 ** 12, "1T"],
    [5000n * 10n ** 12n, "5000T"],
    [123_456_789, "123456789"],
  ];
  it.each(cases)("%s → %s, and back", (amount, text) => {
    expect(formatTokenAmount(amount)).toBe(text);
    const back = parseTokenAmount(text);
    expect(back).toEqual({ ok: true, value: amount === null ? null : BigInt(amount) });
  });
  it("refuses negatives", () => {
    expect(() => formatTokenAmount(-1)).toThrow(RangeError);
  });
  it("describes budgets for people", () => {
    expect(describeBudget(500_000_000)).toBe("500M (500,000,000 tokens)");
    expect(describeBudget(null)).toBe("Unlimited");
    expect(describeBudget(1_000_001)).toBe("1,000,001 tokens");
  });
});

describe("other formats", () => {
  it("formats exact costs with separators, without rounding up", () => {
    expect(formatCost("1234567.5")).toBe("1,234,567.5");
    expect(formatCost("0")).toBe("0");
    expect(formatCost("0.0042")).toBe("0.0042");
    expect(formatCost("12.123456789")).toBe("12.123456");
    expect(formatCost("5.000000000001")).toBe("5");
    expect(formatCost(null)).toBe("–");
  });
  it("formats compact axis labels", () => {
    expect(formatCompact(0)).toBe("0");
    expect(formatCompact(950)).toBe("950");
    expect(formatCompact(1500)).toBe("1.5k");
    expect(formatCompact(2_300_000)).toBe("2.3M");
    expect(formatCompact(500_000_000)).toBe("500M");
    expect(formatCompact(1_000_000_000)).toBe("1B");
  });
  it("formats percentages", () => {
    expect(formatPercent(12.345)).toBe("12.3%");
    expect(formatPercent(2.5)).toBe("2.5%");
    expect(formatPercent(null)).toBe("–");
  });
  it("formats dates in UTC", () => {
    expect(formatDateTime("2026-11-28T12:56:00Z")).toBe("28 Nov 2026, 12:56 UTC");
    expect(formatDate("2026-11-28T23:59:59Z")).toBe("28 Nov 2026");
    expect(formatDate(null, "Never")).toBe("Never");
    expect(formatDateTime("not a date")).toBe("–");
  });
  it("labels roles and actions", () => {
    expect(roleLabel("org_admin")).toBe("Org Admin");
    expect(roleLabel("org_user")).toBe("Org User");
    expect(roleLabel("system_admin")).toBe("System Admin");
    expect(actionLabel("key_revoked")).toBe("Key revoked");
  });
});
