import { useState, type FormEvent } from "react";
import { errorMessage, failedField } from "../api/client";
import { getOrgRateLimits, setOrgRateLimitCeiling, setOrgRateLimits } from "../api/endpoints";
import type { OrgRateLimitsPublic, RateLimitField, RateLimitValues } from "../api/types";
import { ErrorMessage, Field, Loading, Notice, Section } from "../components/ui";
import { formatDateTime, formatNumber, formatTokenAmount, parseTokenAmount } from "../lib/format";
import { useAsync } from "../lib/useAsync";

/** The three limits, in the order they are shown. */
export const RATE_LIMIT_FIELDS: { field: RateLimitField; label: string }[] = [
  { field: "requests_per_minute", label: "Requests per minute" },
  { field: "tokens_per_minute", label: "Tokens per minute" },
  { field: "max_concurrent_requests", label: "Concurrent requests" },
];

/** A limit for people: "unlimited" for null. */
export function formatLimit(value: number | null | undefined): string {
  return value === null || value === undefined ? "unlimited" : formatNumber(value);
}

/** What the form shows for a stored limit: empty for unlimited, "100k" style for tokens. */
export function limitInput(field: RateLimitField, value: number | null): string {
  if (value === null) return "";
  return field === "tokens_per_minute" ? formatTokenAmount(value) : String(value);
}

export type LimitInputResult = { ok: true; value: number | null } | { ok: false; error: string };

/** One field of the form: empty (or "unlimited") → null; else a whole number ≥ 1 ("100k", "2M" as for budgets). */
export function parseLimitInput(text: string): LimitInputResult {
  if (!text.trim()) return { ok: true, value: null };
  const parsed = parseTokenAmount(text);
  if (!parsed.ok) return parsed;
  if (parsed.value === null) return { ok: true, value: null };
  if (parsed.value < 1n) return { ok: false, error: "Must be at least 1 (leave empty for unlimited)." };
  if (parsed.value > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, error: "Too large." };
  return { ok: true, value: Number(parsed.value) };
}

/** A refusal of the API, attached to the limit it names (if it names one). */
export interface RateLimitFailure {
  field?: RateLimitField;
  message: string;
}

/** The field a refusal names: in its details (`field`, `param`, a validation `loc`) or its message. */
export function rateLimitFailure(e: unknown): RateLimitFailure {
  return { field: failedField(e, RATE_LIMIT_FIELDS.map((f) => f.field)), message: errorMessage(e) };
}

type Errors = Partial<Record<RateLimitField, string>>;

/** The three limits of an org (or its ceiling); empty = unlimited. Resolves to a refusal or null. */
export function RateLimitsForm({
  name,
  initial,
  submitLabel,
  onSubmit,
}: {
  /** The form's accessible name ("Rate limits", "Rate limit ceiling"). */
  name: string;
  initial: RateLimitValues;
  submitLabel: string;
  onSubmit: (values: RateLimitValues) => Promise<RateLimitFailure | null>;
}) {
  const [values, setValues] = useState<Record<RateLimitField, string>>(() => ({
    requests_per_minute: limitInput("requests_per_minute", initial.requests_per_minute),
    tokens_per_minute: limitInput("tokens_per_minute", initial.tokens_per_minute),
    max_concurrent_requests: limitInput("max_concurrent_requests", initial.max_concurrent_requests),
  }));
  const [errors, setErrors] = useState<Errors>({});
  const [apiError, setApiError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const next: Errors = {};
    const body: Partial<RateLimitValues> = {};
    for (const { field } of RATE_LIMIT_FIELDS) {
      const parsed = parseLimitInput(values[field]);
      if (parsed.ok) body[field] = parsed.value;
      else next[field] = parsed.error;
    }
    setErrors(next);
    setApiError(null);
    if (Object.keys(next).length) return;
    setBusy(true);
    try {
      const failure = await onSubmit(body as RateLimitValues);
      if (failure?.field) setErrors({ [failure.field]: failure.message });
      else if (failure) setApiError(failure.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form-grid" aria-label={name} onSubmit={submit} noValidate>
      {RATE_LIMIT_FIELDS.map(({ field, label }) => (
        <Field key={field} label={label} error={errors[field]} hint={field === "tokens_per_minute" ? "e.g. 100k, 2M; empty: unlimited" : "Empty: unlimited"}>
          {(p) => (
            <input
              {...p}
              type="text"
              inputMode="numeric"
              autoComplete="off"
              spellCheck={false}
              placeholder="unlimited"
              value={values[field]}
              onChange={(e) => {
                setValues({ ...values, [field]: e.target.value });
                setErrors({ ...errors, [field]: undefined });
              }}
            />
          )}
        </Field>
      ))}
      <div className="form-actions form-wide">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : submitLabel}
        </button>
      </div>
      {apiError && (
        <div className="alert alert-error form-wide" role="alert">
          {apiError}
        </div>
      )}
    </form>
  );
}

function RateLimitsTable({ data }: { data: OrgRateLimitsPublic }) {
  return (
    <div className="table-wrap">
      <table aria-label="Rate limits">
        <thead>
          <tr>
            <th scope="col">Limit</th>
            <th scope="col">Organisation</th>
            <th scope="col">Ceiling</th>
            <th scope="col">Effective</th>
          </tr>
        </thead>
        <tbody>
          {RATE_LIMIT_FIELDS.map(({ field, label }) => (
            <tr key={field}>
              <th scope="row">{label}</th>
              <td>{formatLimit(data.limits[field])}</td>
              <td>{formatLimit(data.ceiling[field])}</td>
              <td>{formatLimit(data.effective[field])}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * The org's rate limits on its budget page: limits, ceiling and what the gateway enforces;
 * a form for Org Admins and System Admins, and the ceiling's form for System Admins.
 */
export function RateLimitsSection({ orgId, canSet, canSetCeiling }: { orgId: string; canSet: boolean; canSetCeiling: boolean }) {
  const limits = useAsync((signal) => getOrgRateLimits(orgId, signal), [orgId]);
  const [saved, setSaved] = useState<string | null>(null);

  async function save(write: () => Promise<OrgRateLimitsPublic>, what: string): Promise<RateLimitFailure | null> {
    try {
      await write();
      setSaved(`${what} saved.`);
      limits.reload();
      return null;
    } catch (e) {
      setSaved(null);
      return rateLimitFailure(e);
    }
  }

  const data = limits.data;
  return (
    <Section title="Rate limits">
      <ErrorMessage error={limits.error} onRetry={limits.reload} />
      {limits.loading && !data && <Loading label="Loading the rate limits…" />}
      {data && (
        <>
          <RateLimitsTable data={data} />
          <p className="hint">
            {data.updated_at ? `Last changed ${formatDateTime(data.updated_at)}.` : "The limits have never been set."}{" "}
            The gateway enforces the lower of the organisation&apos;s limit and the ceiling; a change applies to the next request.
          </p>
          {saved && <Notice>{saved}</Notice>}
          {canSet && (
            <>
              <h3>Set the organisation&apos;s limits</h3>
              <RateLimitsForm
                key={`limits-${JSON.stringify(data.limits)}`}
                name="Rate limits"
                initial={data.limits}
                submitLabel="Set rate limits"
                onSubmit={(v) => save(() => setOrgRateLimits(orgId, v), "Rate limits")}
              />
            </>
          )}
          {canSetCeiling && (
            <>
              <h3>Ceiling (System Admins)</h3>
              <RateLimitsForm
                key={`ceiling-${JSON.stringify(data.ceiling)}`}
                name="Rate limit ceiling"
                initial={data.ceiling}
                submitLabel="Set ceiling"
                onSubmit={(v) => save(() => setOrgRateLimitCeiling(orgId, v), "Ceiling")}
              />
            </>
          )}
        </>
      )}
    </Section>
  );
}
