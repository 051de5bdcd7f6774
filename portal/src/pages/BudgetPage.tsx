import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/client";
import { getBudget, setBudget } from "../api/endpoints";
import type { BudgetPublic } from "../api/types";
import { permissionsFor, useAuth } from "../auth/AuthContext";
import { useOrgDirectory } from "../components/OrgDirectory";
import { ErrorMessage, Field, Loading, Meter, Notice, PageHeader, Section, Stat } from "../components/ui";
import { describeBudget, formatDateTime, formatNumber, formatPercent, formatTokenAmount, formatTokens, parseTokenAmount } from "../lib/format";
import { useAsync } from "../lib/useAsync";
import { validateBudgetInput } from "../lib/validation";
import { BudgetAlertsSection } from "./BudgetAlertsSection";
import { RateLimitsSection } from "./RateLimitsSection";

/** What the typed amount means, as the API will read it. */
export function budgetPreview(text: string): string {
  if (!text.trim()) return "";
  const parsed = parseTokenAmount(text);
  if (!parsed.ok) return "";
  if (parsed.value === null) return "No limit: the organisation may use any number of tokens.";
  return `= ${formatTokens(parsed.value)} per month (${formatTokenAmount(parsed.value)})`;
}

/** The budget form: a human amount ("500M", "2B", "1.5k", "unlimited"); resolves to an error message or null. */
export function BudgetForm({ initial, onSubmit }: { initial: string; onSubmit: (value: string) => Promise<string | null> }) {
  const [value, setValue] = useState(initial);
  const [error, setError] = useState<string | undefined>();
  const [apiError, setApiError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const err = validateBudgetInput(value);
    setError(err);
    setApiError(null);
    if (err) return;
    setBusy(true);
    try {
      const failure = await onSubmit(value.trim());
      if (failure) setApiError(failure);
    } finally {
      setBusy(false);
    }
  }

  const preview = budgetPreview(value);
  return (
    <form className="form-row" onSubmit={submit} noValidate>
      <Field
        label="Monthly token budget"
        error={error}
        hint={
          <>
            Whole tokens with an optional unit: k (thousand), M (million), B (billion), T (trillion), e.g. <code>500M</code>, <code>2B</code>,{" "}
            <code>1.5k</code>; or <code>unlimited</code>.
          </>
        }
      >
        {(p) => (
          <input
            {...p}
            type="text"
            inputMode="text"
            autoComplete="off"
            spellCheck={false}
            value={value}
            onChange={(e) => {
              setValue(e.target.value);
              setError(undefined);
            }}
          />
        )}
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : "Save budget"}
        </button>
      </div>
      <p className="preview form-wide" aria-live="polite" data-testid="budget-preview">
        {preview}
      </p>
      {apiError && (
        <div className="alert alert-error form-wide" role="alert">
          {apiError}
        </div>
      )}
    </form>
  );
}

function BudgetSummary({ budget }: { budget: BudgetPublic }) {
  const limit = budget.monthly_token_limit;
  const used = budget.used_this_month;
  const percent = limit === null || used === null ? null : limit === 0 ? 100 : (used * 100) / limit;
  return (
    <>
      <div className="stats">
        <Stat label="Monthly budget" value={limit === null ? "Unlimited" : formatTokenAmount(limit)} sub={limit === null ? "no limit" : formatTokens(limit)} />
        <Stat
          label={`Used in ${budget.period}`}
          value={used === null ? "unknown" : formatNumber(used)}
          sub={used === null ? "the usage counter cannot be read right now" : "tokens (incl. running requests)"}
        />
        <Stat
          label="Remaining"
          value={limit === null ? "–" : budget.remaining_this_month === null ? "unknown" : formatNumber(budget.remaining_this_month)}
          sub={limit === null ? "unlimited" : "tokens"}
        />
        <Stat label="Used of budget" value={formatPercent(percent)} />
      </div>
      <Meter percent={percent} label="Share of this month's tokens used" />
      <p className="hint">
        {budget.updated_at ? `Last changed ${formatDateTime(budget.updated_at)}.` : "The budget has never been set."} Budgets count input and output
        tokens per calendar month (UTC); a change applies to the next request.
      </p>
    </>
  );
}

export function BudgetPage({ orgId }: { orgId: string }) {
  const { find } = useOrgDirectory();
  const { me } = useAuth();
  const perms = me ? permissionsFor(me, orgId) : null;
  const orgName = find(orgId)?.name;
  const budget = useAsync((signal) => getBudget(orgId, signal), [orgId]);
  const [saved, setSaved] = useState<string | null>(null);

  async function onSave(value: string): Promise<string | null> {
    try {
      const updated = await setBudget(orgId, value);
      setSaved(`Budget saved: ${describeBudget(updated.monthly_token_limit)}.`);
      budget.reload();
      return null;
    } catch (e) {
      setSaved(null);
      return errorMessage(e);
    }
  }

  return (
    <>
      <PageHeader title="Budget" subtitle={orgName ? `Organisation ${orgName}` : undefined} />
      <ErrorMessage error={budget.error} onRetry={budget.reload} />
      {budget.loading && !budget.data && <Loading label="Loading the budget…" />}
      {budget.data && (
        <>
          <Section title={`This month (${budget.data.period})`}>
            <BudgetSummary budget={budget.data} />
          </Section>
          <Section title="Set the monthly budget">
            {saved && <Notice>{saved}</Notice>}
            <BudgetForm key={budget.data.monthly_token_limit_display} initial={budget.data.monthly_token_limit_display} onSubmit={onSave} />
          </Section>
          {/* after the budget's form (it loads on its own): the budget stays the page's first field */}
          <RateLimitsSection orgId={orgId} canSet={Boolean(perms?.setRateLimits)} canSetCeiling={Boolean(perms?.setRateLimitCeiling)} />
          {/* below the rate limits; Org Admins and System Admins only (Org Users get 403) */}
          {perms?.manageBudgetAlerts && <BudgetAlertsSection orgId={orgId} />}
        </>
      )}
    </>
  );
}
