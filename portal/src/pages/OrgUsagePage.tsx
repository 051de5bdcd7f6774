import { Link } from "react-router";
import { orgUsage } from "../api/endpoints";
import type { OrgUsagePublic } from "../api/types";
import { permissionsFor, useMe } from "../auth/AuthContext";
import { DailyTokensChart, TopChart } from "../components/charts";
import { FigureStats, RangeSelect, UsageTable, hasUsage } from "../components/usage";
import { Empty, ErrorMessage, Loading, Meter, PageHeader, Section, Stat } from "../components/ui";
import { formatCost, formatDate, formatNumber, formatPercent, formatTokenAmount, formatTokens } from "../lib/format";
import { useAsync } from "../lib/useAsync";
import { useDays } from "../lib/useDays";

function BudgetCard({ usage }: { usage: OrgUsagePublic }) {
  const b = usage.budget;
  return (
    <div className="budget-line">
      <div className="stats">
        <Stat label={`Budget ${b.period}`} value={b.limit === null ? "Unlimited" : formatTokenAmount(b.limit)} sub={b.limit === null ? "no limit" : formatTokens(b.limit)} />
        <Stat label="Used this month" value={formatNumber(b.used)} sub={`tokens · cost ${formatCost(b.cost)}`} />
        <Stat label="Remaining" value={b.remaining === null ? "–" : formatNumber(b.remaining)} sub={b.remaining === null ? "unlimited" : "tokens"} />
        <Stat label="Used of budget" value={formatPercent(b.percent)} />
      </div>
      <Meter percent={b.percent} label="Share of this month's tokens used" />
    </div>
  );
}

export function OrgUsagePage({ orgId }: { orgId: string }) {
  const me = useMe();
  const p = permissionsFor(me, orgId);
  const [days, setDays] = useDays();
  const usage = useAsync((signal) => orgUsage(orgId, days, signal), [orgId, days]);
  const u = usage.data;

  return (
    <>
      <PageHeader
        title="Usage"
        subtitle={u ? `${u.name} · ${formatDate(u.period.from)} – ${formatDate(u.period.to)} (UTC)` : undefined}
        actions={<RangeSelect days={days} onChange={setDays} />}
      />
      <ErrorMessage error={usage.error} onRetry={usage.reload} />
      {usage.loading && !u && <Loading label="Loading usage…" />}
      {u && (
        <div className={usage.loading ? "refreshing" : undefined} aria-busy={usage.loading}>
          <Section title="Organisation totals">
            <FigureStats figures={u.totals} />
          </Section>
          <Section title="Budget this month" actions={p.setBudget ? <Link to={`/org/${orgId}/budget`}>Change budget</Link> : undefined}>
            <BudgetCard usage={u} />
          </Section>
          {p.isMember && (
            <Section title="Your own usage" actions={<Link to={`/me/usage?days=${days}`}>All your usage</Link>}>
              <p className="hint">Your share of this organisation's totals in the same period.</p>
              <FigureStats figures={u.mine} />
            </Section>
          )}
          <Section title="Daily tokens">
            {hasUsage(u.totals) ? <DailyTokensChart daily={u.daily} title="Daily tokens, input and output stacked" /> : <Empty>No usage in this period.</Empty>}
          </Section>
          <div className="grid-2">
            <Section title="Top models">
              {u.by_model.length ? (
                <TopChart title="Tokens by model" items={u.by_model.map((m) => ({ label: m.model, value: m.total_tokens }))} />
              ) : (
                <Empty>No usage in this period.</Empty>
              )}
            </Section>
            <Section title="Top users">
              {u.by_user.length ? (
                <TopChart title="Tokens by user" items={u.by_user.map((r) => ({ label: r.email ?? r.name ?? "(deleted user)", value: r.total_tokens }))} />
              ) : (
                <Empty>No usage in this period.</Empty>
              )}
            </Section>
          </div>
          <Section title="By model">
            {u.by_model.length ? (
              <UsageTable caption="Usage by model" rows={u.by_model} nameHeader="Model" name={(r) => r.model} rowKey={(r) => r.model} />
            ) : (
              <Empty>No usage in this period.</Empty>
            )}
          </Section>
          <Section title="By user">
            {u.by_user.length ? (
              <UsageTable
                caption="Usage by user"
                rows={u.by_user}
                nameHeader="User"
                name={(r) => (r.email ? `${r.name ? `${r.name} · ` : ""}${r.email}` : "(deleted user)")}
                rowKey={(r) => r.user_id}
              />
            ) : (
              <Empty>No usage in this period.</Empty>
            )}
          </Section>
        </div>
      )}
    </>
  );
}
