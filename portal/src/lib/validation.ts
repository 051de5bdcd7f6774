/**
 * Client-side checks of the portal's forms. They mirror the API's rules so that a user hears
 * about a mistake before sending; the API still decides (its message is shown when it refuses).
 */
import { parseTokenAmount } from "./format";

export const NAME_MAX = 200;
export const MAX_KEY_LIFETIME_DAYS = 3650;
export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;
export const EMAIL_MAX = 254;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export type Errors<K extends string> = Partial<Record<K, string>>;

export function hasErrors(errors: Record<string, string | undefined>): boolean {
  return Object.values(errors).some(Boolean);
}

/** A display name (key, organisation, user): trimmed, not empty, ≤ 200 characters, no control characters. */
export function validateName(value: string, what = "Name"): string | undefined {
  const v = value.trim();
  if (!v) return `${what} is required.`;
  if ([...v].length > NAME_MAX) return `${what} must be at most ${NAME_MAX} characters.`;
  if (CONTROL.test(v)) return `${what} must not contain control characters.`;
  return undefined;
}

// --- API key form ---------------------------------------------------------------------------

export type ExpiryChoice = "never" | "7" | "30" | "90" | "365" | "custom";

export interface KeyFormValues {
  name: string;
  expiry: ExpiryChoice;
  /** yyyy-mm-dd, when expiry is "custom" */
  expiryDate: string;
}

export interface KeyCreateBody {
  name: string;
  expires_in_days?: number;
  expires_at?: string;
}

/** Errors of the key form; `now` is injectable for tests. */
export function validateKeyForm(values: KeyFormValues, now: Date = new Date()): Errors<"name" | "expiryDate"> {
  const errors: Errors<"name" | "expiryDate"> = {};
  const name = validateName(values.name);
  if (name) errors.name = name;
  if (values.expiry === "custom") {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(values.expiryDate)) {
      errors.expiryDate = "Choose an expiry date.";
    } else {
      const at = expiryInstant(values.expiryDate);
      const latest = now.getTime() + MAX_KEY_LIFETIME_DAYS * 86_400_000;
      if (Number.isNaN(at.getTime())) errors.expiryDate = "Choose a valid date.";
      else if (at.getTime() <= now.getTime()) errors.expiryDate = "The expiry date must be in the future.";
      else if (at.getTime() > latest) errors.expiryDate = `A key can live at most ${MAX_KEY_LIFETIME_DAYS} days.`;
    }
  }
  return errors;
}

/** A custom expiry date means "until the end of that day, UTC". */
export function expiryInstant(date: string): Date {
  return new Date(`${date}T23:59:59Z`);
}

/** The request body of `POST /api/org/{id}/key` for valid form values. */
export function keyCreateBody(values: KeyFormValues): KeyCreateBody {
  const body: KeyCreateBody = { name: values.name.trim() };
  if (values.expiry === "custom") body.expires_at = expiryInstant(values.expiryDate).toISOString();
  else if (values.expiry !== "never") body.expires_in_days = Number(values.expiry);
  return body;
}

// --- invite form ----------------------------------------------------------------------------

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function validateEmail(value: string): string | undefined {
  const v = value.trim();
  if (!v) return "E-mail address is required.";
  if (v.length > EMAIL_MAX) return `An e-mail address has at most ${EMAIL_MAX} characters.`;
  if (!EMAIL_RE.test(v)) return "Enter a valid e-mail address, like name@example.com.";
  return undefined;
}

export interface InviteFormValues {
  email: string;
  role: string;
}

export function validateInviteForm(values: InviteFormValues): Errors<"email" | "role"> {
  const errors: Errors<"email" | "role"> = {};
  const email = validateEmail(values.email);
  if (email) errors.email = email;
  if (values.role !== "org_admin" && values.role !== "org_user") errors.role = "Choose a role.";
  return errors;
}

// --- budget form ----------------------------------------------------------------------------

export function validateBudgetInput(value: string): string | undefined {
  if (!value.trim()) return 'Enter a monthly token budget, e.g. 500M, or "unlimited".';
  const parsed = parseTokenAmount(value);
  return parsed.ok ? undefined : parsed.error;
}

// --- passwords ------------------------------------------------------------------------------

/** The API's policy for a new password: 12–1024 characters, not blank, not containing the e-mail address. */
export function validateNewPassword(password: string, email?: string): string | undefined {
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) return `The password must be at least ${MIN_PASSWORD_LENGTH} characters long.`;
  if (length > MAX_PASSWORD_LENGTH) return `The password must be at most ${MAX_PASSWORD_LENGTH} characters long.`;
  if (!password.trim()) return "The password must not be blank.";
  if (email) {
    const pw = password.toLowerCase();
    const address = email.trim().toLowerCase();
    const local = address.includes("@") ? address.slice(0, address.lastIndexOf("@")) : address;
    if (address && pw.includes(address)) return "The password must not contain your e-mail address.";
    if (local.length >= 3 && pw.includes(local)) return "The password must not contain the name part of your e-mail address.";
  }
  return undefined;
}

export function validatePasswordPair(password: string, confirm: string, email?: string): Errors<"password" | "confirm"> {
  const errors: Errors<"password" | "confirm"> = {};
  const p = validateNewPassword(password, email);
  if (p) errors.password = p;
  if (password !== confirm) errors.confirm = "The two passwords do not match.";
  return errors;
}

// --- model mapping form ---------------------------------------------------------------------

export const MODEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
export const PRICE_RE = /^[0-9]{1,7}(\.[0-9]{1,6})?$/;

export interface ModelFormValues {
  name: string;
  backend: "serve" | "remote_url";
  target: string;
  enabled: boolean;
  priceIn: string;
  priceOut: string;
  allOrgs: boolean;
  orgIds: string[];
}

export function validateModelForm(v: ModelFormValues): Errors<"name" | "target" | "priceIn" | "priceOut"> {
  const errors: Errors<"name" | "target" | "priceIn" | "priceOut"> = {};
  const name = v.name.trim();
  if (!name) errors.name = "Name is required.";
  else if (name.length > 200) errors.name = "At most 200 characters.";
  else if (!MODEL_NAME_RE.test(name)) errors.name = "Letters, digits and . _ : / @ + - only, starting with a letter or digit.";
  const target = v.target.trim();
  if (!target) errors.target = v.backend === "serve" ? "Enter the engine deployment name." : "Enter the base URL.";
  else if (v.backend === "remote_url" && !/^https?:\/\/[^\s]+$/i.test(target)) errors.target = "An http:// or https:// URL.";
  for (const key of ["priceIn", "priceOut"] as const) {
    const price = v[key].trim();
    if (price && !PRICE_RE.test(price)) errors[key] = "A decimal number like 0.15 (at most 6 decimals).";
  }
  return errors;
}
