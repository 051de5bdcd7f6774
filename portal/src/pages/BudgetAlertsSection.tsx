import { useState, type FormEvent } from "react";
import { errorMessage, failedField } from "../api/client";
import { getBudgetAlerts, setBudgetAlerts } from "../api/endpoints";
import type { BudgetAlertPublic, BudgetAlertsPublic, BudgetAlertsUpdated, BudgetAlertsWrite } from "../api/types";
import { ConfirmButton, CopyButton, Empty, ErrorMessage, Field, Loading, Notice, Section, StatusBadge } from "../components/ui";
import { formatDateTime, formatNumber, formatPercent } from "../lib/format";
import { useAsync } from "../lib/useAsync";

/** The most thresholds an org may have (the API refuses more). */
export const MAX_THRESHOLDS = 10;

export type ThresholdsResult = { ok: true; value: number[] } | { ok: false; error: string };

/** "50, 80, 100" → [50, 80, 100] (sorted); empty or "none" → []; whole percentages 1–100, unique, at most 10. */
export function parseThresholdsInput(text: string): ThresholdsResult {
  const trimmed = text.trim();
  if (!trimmed || trimmed.toLowerCase() === "none") return { ok: true, value: [] };
  const out: number[] = [];
  for (const raw of trimmed.split(/[\s,;]+/).filter(Boolean)) {
    const part = raw.replace(/%$/, "");
    if (!/^[0-9]+$/.test(part)) return { ok: false, error: `“${raw}” is not a whole number (e.g. 50, 80, 100).` };
    const n = Number(part);
    if (n < 1 || n > 100) return { ok: false, error: `${n} is not between 1 and 100 (percent of the monthly budget).` };
    if (out.includes(n)) return { ok: false, error: `${n} is listed twice.` };
    out.push(n);
  }
  if (out.length > MAX_THRESHOLDS) return { ok: false, error: `At most ${MAX_THRESHOLDS} thresholds (${out.length} given).` };
  return { ok: true, value: out.sort((a, b) => a - b) };
}

/** What the thresholds' input shows for stored values. */
export function thresholdsInput(values: number[]): string {
  return [...values].sort((a, b) => a - b).join(", ");
}

export type WebhookResult = { ok: true; value: string | null } | { ok: false; error: string };

/** The webhook URL's input: empty → null (no webhook); else an http(s) URL with a host. */
export function parseWebhookInput(text: string): WebhookResult {
  const url = text.trim();
  if (!url) return { ok: true, value: null };
  if (!/^https?:\/\/[^\s/?#]+\S*$/i.test(url)) return { ok: false, error: "Must be an http:// or https:// URL (empty: no webhook)." };
  return { ok: true, value: url };
}

export type AlertField = "thresholds" | "webhook_url";

/** A refusal of the API, attached to the setting it names (if it names one). */
export interface AlertFailure {
  field?: AlertField;
  message: string;
}

const ALERT_FIELDS: AlertField[] = ["thresholds", "webhook_url"];

/** The setting a refusal names: in its details (`field`, `param`, a validation `loc`) or its message. */
export function budgetAlertFailure(e: unknown): AlertFailure {
  return { field: failedField(e, ALERT_FIELDS), message: errorMessage(e) };
}

type Errors = Partial<Record<AlertField, string>>;

/** Thresholds and webhook URL; resolves to a refusal or null. */
export function BudgetAlertsForm({
  initial,
  onSubmit,
}: {
  initial: { thresholds: number[]; webhook_url: string | null };
  onSubmit: (body: BudgetAlertsWrite) => Promise<AlertFailure | null>;
}) {
  const [thresholds, setThresholds] = useState(() => thresholdsInput(initial.thresholds));
  const [webhook, setWebhook] = useState(initial.webhook_url ?? "");
  const [errors, setErrors] = useState<Errors>({});
  const [apiError, setApiError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const t = parseThresholdsInput(thresholds);
    const w = parseWebhookInput(webhook);
    const next: Errors = {};
    if (!t.ok) next.thresholds = t.error;
    if (!w.ok) next.webhook_url = w.error;
    setErrors(next);
    setApiError(null);
    if (!t.ok || !w.ok) return;
    setBusy(true);
    try {
      const failure = await onSubmit({ thresholds: t.value, webhook_url: w.value });
      if (failure?.field) setErrors({ [failure.field]: failure.message });
      else if (failure) setApiError(failure.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form-grid" aria-label="Alert settings" onSubmit={submit} noValidate>
      <Field
        label="Thresholds (%)"
        error={errors.thresholds}
        hint={
          <>
            Percentages of the monthly budget, comma-separated, e.g. <code>50, 80, 100</code> (1–100, at most {MAX_THRESHOLDS}). Empty: no alerts.
          </>
        }
      >
        {(p) => (
          <input
            {...p}
            type="text"
            inputMode="numeric"
            autoComplete="off"
            spellCheck={false}
            placeholder="50, 80, 100"
            value={thresholds}
            onChange={(e) => {
              setThresholds(e.target.value);
              setErrors({ ...errors, thresholds: undefined });
            }}
          />
        )}
      </Field>
      <Field label="Webhook URL" error={errors.webhook_url} hint="Optional: an http(s) URL that receives one signed POST per alert. Empty: e-mail only.">
        {(p) => (
          <input
            {...p}
            type="text"
            inputMode="url"
            autoComplete="off"
            spellCheck={false}
            placeholder="https://hooks.example.com/ias"
            value={webhook}
            onChange={(e) => {
              setWebhook(e.target.value);
              setErrors({ ...errors, webhook_url: undefined });
            }}
          />
        )}
      </Field>
      <div className="form-actions form-wide">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Setting…" : "Set alerts"}
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

/** The webhook's signing secret, shown this once (the API never returns it again). */
export function NewSecretPanel({ secret, onDone }: { secret: string; onDone: () => void }) {
  return (
    <div className="new-key" role="region" aria-label="New webhook secret">
      <div className="alert alert-warning" role="alert">
        Copy this webhook signing secret now and configure it in your webhook receiver. It will <strong>not be shown again</strong>; if you lose
        it, rotate the secret.
      </div>
      <div className="key-box">
        <code data-testid="webhook-secret">{secret}</code>
        <CopyButton text={secret} />
      </div>
      <p className="hint">
        Each webhook carries <code>X-IAS-Timestamp</code> and <code>X-IAS-Signature: sha256=…</code>, the HMAC-SHA256 of{" "}
        <code>{"{timestamp}.{body}"}</code> with this secret.
      </p>
      <button type="button" className="btn" onClick={onDone}>
        I have copied the secret
      </button>
    </div>
  );
}

function AlertsTable({ alerts }: { alerts: BudgetAlertPublic[] }) {
  if (!alerts.length) return <Empty>No alerts this month.</Empty>;
  return (
    <div className="table-wrap">
      <table aria-label="This month's alerts">
        <thead>
          <tr>
            <th scope="col">Sent</th>
            <th scope="col">Threshold</th>
            <th scope="col">Used</th>
            <th scope="col">E-mail</th>
            <th scope="col">Webhook</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          {alerts.map((a) => (
            <tr key={a.id}>
              <td>{formatDateTime(a.created_at)}</td>
              <td>{a.threshold}%</td>
              <td>
                {formatNumber(a.used_tokens)} of {formatNumber(a.limit_tokens)} tokens
                {a.limit_tokens > 0 ? ` (${formatPercent((a.used_tokens * 100) / a.limit_tokens)})` : ""}
              </td>
              <td>
                <StatusBadge status={a.email_status} />
              </td>
              <td>
                <StatusBadge status={a.webhook_status} />
              </td>
              <td>{a.attempts}</td>
              <td>{a.last_error ?? "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function describeSettings(data: BudgetAlertsPublic): string {
  const t = data.thresholds.length ? `Alerts at ${thresholdsInput(data.thresholds).replace(/(\d+)/g, "$1%")} of the monthly budget.` : "No thresholds: no alerts are sent.";
  const w = data.webhook_url
    ? `Webhook ${data.webhook_url}${data.webhook_secret_set ? " (signing secret set)." : " (no signing secret yet)."}`
    : "No webhook: e-mail to the organisation's admins only.";
  return `${t} ${w}`;
}

/**
 * The org's budget alerts on its budget page (Org Admins and System Admins): thresholds,
 * webhook URL, its signing secret (rotated here, shown once) and this month's alerts.
 */
export function BudgetAlertsSection({ orgId }: { orgId: string }) {
  const alerts = useAsync((signal) => getBudgetAlerts(orgId, signal), [orgId]);
  const [saved, setSaved] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);

  function took(updated: BudgetAlertsUpdated, what: string) {
    if (updated.webhook_secret) setSecret(updated.webhook_secret);
    setSaved(what);
    alerts.reload();
  }

  async function save(body: BudgetAlertsWrite): Promise<AlertFailure | null> {
    try {
      took(await setBudgetAlerts(orgId, body), "Alerts saved.");
      return null;
    } catch (e) {
      setSaved(null);
      return budgetAlertFailure(e);
    }
  }

  const data = alerts.data;
  return (
    <Section title="Alerts">
      <p className="hint">
        When this month&apos;s usage crosses a threshold, IAS e-mails the organisation&apos;s admins and, with a webhook URL, POSTs one signed
        webhook: once per threshold per month.
      </p>
      <ErrorMessage error={alerts.error} onRetry={alerts.reload} />
      {alerts.loading && !data && <Loading label="Loading the alerts…" />}
      {secret && <NewSecretPanel secret={secret} onDone={() => setSecret(null)} />}
      {data && (
        <>
          <p>{describeSettings(data)}</p>
          <p className="hint">{data.updated_at ? `Last changed ${formatDateTime(data.updated_at)}.` : "The alerts have never been set."}</p>
          {saved && <Notice>{saved}</Notice>}
          <BudgetAlertsForm key={`alerts-${JSON.stringify([data.thresholds, data.webhook_url])}`} initial={data} onSubmit={save} />
          {data.webhook_url && (
            <div className="form-actions">
              <ConfirmButton
                label="Rotate secret"
                title="Rotate the webhook secret?"
                message="A new signing secret is generated and shown once. The current one stops working at once: update your webhook receiver."
                confirmLabel="Rotate"
                className="btn"
                action={async () => took(await setBudgetAlerts(orgId, { thresholds: data.thresholds, webhook_url: data.webhook_url, rotate_secret: true }), "Secret rotated.")}
              />
            </div>
          )}
          <h3>This month&apos;s alerts</h3>
          <AlertsTable alerts={data.alerts} />
        </>
      )}
    </Section>
  );
}
