/**
 * Numbers, token amounts, dates and costs as the portal shows them.
 *
 * `parseTokenAmount` / `formatTokenAmount` follow the backend's rules exactly
 * (ias_serve/domain/budget.py `parse_token_amount` / `format_token_amount`): the budget form
 * previews what the API will store, and shows amounts the way the API displays them.
 */

const NUMBER = new Intl.NumberFormat("en-US");

/** 1234567 → "1,234,567" (null/undefined → "–"). */
export function formatNumber(n: number | bigint | null | undefined): string {
  if (n === null || n === undefined || (typeof n === "number" && !Number.isFinite(n))) return "–";
  return NUMBER.format(n);
}

/** 1234567 → "1,234,567 tokens"; 1 → "1 token". */
export function formatTokens(n: number | bigint | null | undefined): string {
  if (n === null || n === undefined) return "–";
  const one = typeof n === "bigint" ? n === 1n : n === 1;
  return `${formatNumber(n)} ${one ? "token" : "tokens"}`;
}

/** 3 → "3 requests". */
export function formatCount(n: number | null | undefined, singular: string, plural = `${singular}s`): string {
  if (n === null || n === undefined) return "–";
  return `${formatNumber(n)} ${n === 1 ? singular : plural}`;
}

/** Short axis labels: 1500 → "1.5k", 2_300_000 → "2.3M" (rounded, for charts only). */
export function formatCompact(n: number): string {
  const abs = Math.abs(n);
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) {
      const v = n / size;
      const text = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
      return `${text.includes(".") ? text.replace(/\.?0+$/, "") : text}${suffix}`;
    }
  }
  return String(Math.round(n));
}

// --- human token amounts (the backend's rules) ----------------------------------------------

export const UNLIMITED = "unlimited";
const UNLIMITED_WORDS = new Set(["unlimited", "none", "null", "inf", "infinity", "∞"]);
const SUFFIX: Record<string, bigint> = { k: 10n ** 3n, m: 10n ** 6n, b: 10n ** 9n, g: 10n ** 9n, t: 10n ** 12n };
const UNITS: [string, bigint][] = [
  ["k", 10n ** 3n],
  ["M", 10n ** 6n],
  ["B", 10n ** 9n],
  ["T", 10n ** 12n],
];
const AMOUNT_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*([kmbgt])?$/i;
/** PostgreSQL BIGINT */
export const MAX_TOKEN_AMOUNT = 2n ** 63n - 1n;

export type TokenAmountResult = { ok: true; value: bigint | null } | { ok: false; error: string };

/**
 * "500M" → 500000000n, "1.5k" → 1500n, "1,000" → 1000n, "unlimited" → null (unlimited).
 * Rejects negatives, fractions of a token ("1.2345k") and amounts beyond a BIGINT.
 */
export function parseTokenAmount(input: string): TokenAmountResult {
  const text = input.trim();
  if (UNLIMITED_WORDS.has(text.toLowerCase())) return { ok: true, value: null };
  const compact = text.replace(/[_,]/g, "");
  const m = AMOUNT_RE.exec(compact);
  if (!m) {
    return {
      ok: false,
      error: `Not a token amount: "${input}" (examples: 1000000, 500M, 2B, 1.5k, unlimited)`,
    };
  }
  const [whole, frac = ""] = m[1].split(".");
  const unit = m[2] ? SUFFIX[m[2].toLowerCase()] : 1n;
  // number = (whole + frac) / 10^len(frac); amount = number * unit must be whole
  const scale = 10n ** BigInt(frac.length);
  const numerator = BigInt((whole || "0") + frac) * unit;
  if (numerator % scale !== 0n) {
    return { ok: false, error: `"${input}" is not a whole number of tokens` };
  }
  const amount = numerator / scale;
  if (amount > MAX_TOKEN_AMOUNT) return { ok: false, error: `Token amount too large: "${input}"` };
  return { ok: true, value: amount };
}

/**
 * The inverse: null → "unlimited", 1500 → "1.5k", 500000000 → "500M", 1234 → "1.234k",
 * 1000001 → "1000001". A suffix only when exact with at most 3 decimals and (below T)
 * fewer than 1000 whole units; otherwise the plain digits.
 */
export function formatTokenAmount(amount: number | bigint | null | undefined): string {
  if (amount === null || amount === undefined) return UNLIMITED;
  const n = typeof amount === "bigint" ? amount : BigInt(Math.trunc(amount));
  if (n < 0n) throw new RangeError("token amount must not be negative");
  for (let i = UNITS.length - 1; i >= 0; i--) {
    const [suffix, unit] = UNITS[i];
    const fits = n < unit * 1000n || i === UNITS.length - 1;
    if (n >= unit && fits && (n * 1000n) % unit === 0n) {
      const whole = n / unit;
      const frac = n % unit;
      if (frac === 0n) return `${whole}${suffix}`;
      const decimals = ((frac * 1000n) / unit).toString().padStart(3, "0").replace(/0+$/, "");
      return `${whole}.${decimals}${suffix}`;
    }
  }
  return n.toString();
}

/** A budget for people: "500M (500,000,000 tokens)" or "unlimited". */
export function describeBudget(limit: number | bigint | null | undefined): string {
  if (limit === null || limit === undefined) return "Unlimited";
  const short = formatTokenAmount(limit);
  const long = formatTokens(limit);
  return /^\d+$/.test(short) ? long : `${short} (${long})`;
}

// --- money and percentages ------------------------------------------------------------------

/** An exact decimal string with thousands separators: "1234.5" → "1,234.5" (no currency). */
export function formatCost(cost: string | null | undefined): string {
  if (cost === null || cost === undefined || cost === "") return "–";
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(cost.trim());
  if (!m) return cost;
  const [, sign, whole, frac] = m;
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  // at most 6 decimals shown (costs are exact to 12); trailing zeros dropped
  const shown = frac ? frac.slice(0, 6).replace(/0+$/, "") : "";
  return `${sign}${grouped}${shown ? `.${shown}` : ""}`;
}

export function formatPercent(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return "–";
  return `${p.toLocaleString("en-US", { maximumFractionDigits: p < 10 ? 2 : 1 })}%`;
}

// --- dates (shown in UTC: usage days and budget months are UTC) ------------------------------

const DATE_TIME = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
  timeZone: "UTC",
});
const DATE = new Intl.DateTimeFormat("en-GB", { year: "numeric", month: "short", day: "2-digit", timeZone: "UTC" });

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "2026-11-28T12:56:00Z" → "28 Nov 2026, 12:56 UTC"; null → fallback. */
export function formatDateTime(iso: string | null | undefined, fallback = "–"): string {
  const d = parse(iso);
  return d ? `${DATE_TIME.format(d)} UTC` : fallback;
}

/** "2026-11-28T12:56:00Z" → "28 Nov 2026". */
export function formatDate(iso: string | null | undefined, fallback = "–"): string {
  const d = parse(iso);
  return d ? DATE.format(d) : fallback;
}

/** A usage day "2026-11-28" → "28 Nov" (chart axis). */
export function formatDay(day: string): string {
  const d = parse(`${day}T00:00:00Z`);
  return d ? new Intl.DateTimeFormat("en-GB", { month: "short", day: "numeric", timeZone: "UTC" }).format(d) : day;
}

/** "org_admin" → "Org Admin". */
export function roleLabel(role: string): string {
  switch (role) {
    case "org_admin":
      return "Org Admin";
    case "org_user":
      return "Org User";
    case "system_admin":
      return "System Admin";
    default:
      return role;
  }
}

/** "key_revoked" → "Key revoked". */
export function actionLabel(action: string): string {
  const text = action.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}
