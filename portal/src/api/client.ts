/**
 * The one HTTP client of the portal: same-origin fetch with the session cookie, the CSRF
 * double-submit header on every write, and the API's error body turned into an ApiError.
 *
 * The session token itself is never visible to this code (HttpOnly cookie); the only thing
 * read from `document.cookie` is the random `ias_csrf` value that the login set.
 */

export const CSRF_COOKIE = "ias_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A refusal of the API: `message` is what the user is shown. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The value of one cookie, or null. */
export function readCookie(name: string, cookies: string = typeof document === "undefined" ? "" : document.cookie): string | null {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
  }
  return null;
}

export function isWrite(method: string): boolean {
  return WRITE_METHODS.has(method.toUpperCase());
}

/** Request headers: JSON in and out, and on writes the CSRF header from the readable cookie. */
export function buildHeaders(method: string, hasBody: boolean, cookies?: string): Record<string, string> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (hasBody) headers["Content-Type"] = "application/json";
  if (isWrite(method)) {
    const token = readCookie(CSRF_COOKIE, cookies);
    if (token) headers[CSRF_HEADER] = token;
  }
  return headers;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** `path?query` with null/undefined/"" parameters left out. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    params.append(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

interface ValidationDetail {
  loc?: unknown[];
  msg?: string;
}

function describeDetails(details: unknown): string {
  if (!Array.isArray(details)) return "";
  const parts = (details as ValidationDetail[])
    .filter((d) => d && typeof d === "object" && typeof d.msg === "string")
    .slice(0, 3)
    .map((d) => {
      const loc = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body" && p !== "query").join(".") : "";
      return loc ? `${loc}: ${d.msg}` : String(d.msg);
    });
  return parts.join("; ");
}

/** An ApiError from a non-2xx response (the `{"error": {code, message, details}}` body). */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (err && typeof err === "object") {
    const code = typeof err.code === "string" ? err.code : `http_${res.status}`;
    let message = typeof err.message === "string" && err.message ? err.message : fallbackMessage(res.status);
    const extra = describeDetails(err.details);
    if (extra && !message.includes(extra)) message = `${message} (${extra})`;
    return new ApiError(res.status, code, message, err.details);
  }
  // FastAPI's own shape, should a route answer it
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return new ApiError(res.status, `http_${res.status}`, detail);
  if (Array.isArray(detail)) {
    return new ApiError(res.status, "validation_error", describeDetails(detail) || fallbackMessage(res.status), detail);
  }
  return new ApiError(res.status, `http_${res.status}`, fallbackMessage(res.status));
}

export function fallbackMessage(status: number): string {
  switch (status) {
    case 400:
      return "The request was not accepted.";
    case 401:
      return "You are not signed in (or your session has expired).";
    case 403:
      return "You are not allowed to do this.";
    case 404:
      return "Not found.";
    case 409:
      return "This conflicts with the current state.";
    case 410:
      return "This link is no longer valid.";
    case 429:
      return "Too many attempts; please wait and try again.";
    case 502:
    case 503:
    case 504:
      return "The service is unavailable right now; please try again shortly.";
    default:
      return `The server answered ${status}.`;
  }
}

type UnauthorizedListener = () => void;
let onUnauthorized: UnauthorizedListener | null = null;

/** Called when an authenticated call answers 401 (the session ended): the app signs out. */
export function setUnauthorizedListener(listener: UnauthorizedListener | null): void {
  onUnauthorized = listener;
}

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  signal?: AbortSignal;
  /** Do not report a 401 as "session ended" (login, public invite pages, the first /me). */
  quiet401?: boolean;
}

export async function request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
  const hasBody = opts.body !== undefined;
  let res: Response;
  try {
    res = await fetch(withQuery(path, opts.query), {
      method,
      credentials: "same-origin",
      headers: buildHeaders(method, hasBody),
      body: hasBody ? JSON.stringify(opts.body) : undefined,
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network_error", "Could not reach the server. Check your connection and try again.");
  }
  if (!res.ok) {
    const err = await errorFromResponse(res);
    if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>("GET", path, { query, signal }),
  post: <T>(path: string, body?: unknown) => request<T>("POST", path, { body }),
  put: <T>(path: string, body?: unknown) => request<T>("PUT", path, { body }),
  patch: <T>(path: string, body?: unknown) => request<T>("PATCH", path, { body }),
  del: <T>(path: string) => request<T>("DELETE", path),
};

/** A message for anything thrown by an API call. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The field a refusal names, among `fields`: in its details (`field`, `param`, a validation
 * `loc`), else the first field its message mentions. */
export function failedField<F extends string>(e: unknown, fields: readonly F[]): F | undefined {
  const isField = (v: unknown): v is F => fields.includes(v as F);
  if (e instanceof ApiError) {
    const details = e.details;
    const entries: unknown[] = Array.isArray(details) ? details : details && typeof details === "object" ? [details] : [];
    for (const d of entries) {
      if (!d || typeof d !== "object") continue;
      const rec = d as { field?: unknown; param?: unknown; loc?: unknown };
      const loc = Array.isArray(rec.loc) ? rec.loc : [];
      const field = [rec.field, rec.param, ...loc].find(isField);
      if (field) return field;
    }
  }
  const message = errorMessage(e);
  return fields.find((f) => message.includes(f));
}
