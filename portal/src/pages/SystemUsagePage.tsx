import { Link } from "react-router";
import { systemUsage } from "../api/endpoints";
import { DailyTokensChart, TopChart } from "../components/charts";
import { FigureStats, RangeSelect, UsageTable, hasUsage } from "../components/usage";
import { Empty, ErrorMessage, Loading, PageHeader, Section } from "../components/ui";
import { formatDate } from "../lib/format";
import { useAsync } from "../lib/useAsync";
import { useDays } from "../lib/useDays";

/** `/system/usage`: every organisation (System Admins). */
export function SystemUsagePage() {
  const [days, setDays] = useDays();
  const usage = useAsync((signal) => systemUsage(days, signal), [days]);
  const u = usage.data;
  return (
    <>
      <PageHeader
        title="Global usage"
        subtitle={u ? `All organisations · ${formatDate(u.period.from)} – ${formatDate(u.period.to)} (UTC)` : undefined}
        actions={<RangeSelect days={days} onChange={setDays} />}
      />
      <ErrorMessage error={usage.error} onRetry={usage.reload} />
      {usage.loading && !u && <Loading label="Loading usage…" />}
      {u && (
        <div className={usage.loading ? "refreshing" : undefined} aria-busy={usage.loading}>
          <Section title="Totals">
            <FigureStats figures={u.totals} />
          </Section>
          <Section title="Daily tokens">
            {hasUsage(u.totals) ? <DailyTokensChart daily={u.daily} title="Daily tokens of all organisations, input and output stacked" /> : <Empty>No usage in this period.</Empty>}
          </Section>
          <div className="grid-2">
            <Section title="Top organisations">
              {u.by_org.length ? (
                <TopChart title="Tokens by organisation" items={u.by_org.map((o) => ({ label: o.name ?? "(deleted)", value: o.total_tokens }))} />
              ) : (
                <Empty>No usage in this period.</Empty>
              )}
            </Section>
            <Section title="Top models">
              {u.by_model.length ? (
                <TopChart title="Tokens by model" items={u.by_model.map((m) => ({ label: m.model, value: m.total_tokens }))} />
              ) : (
                <Empty>No usage in this period.</Empty>
              )}
            </Section>
          </div>
          <Section title="By organisation">
            {u.by_org.length ? (
              <UsageTable
                caption="Usage by organisation"
                rows={u.by_org}
                nameHeader="Organisation"
                name={(r) => (r.name ? <Link to={`/org/${r.org_id}/usage?days=${days}`}>{r.name}</Link> : "(deleted organisation)")}
                rowKey={(r) => r.org_id}
              />
            ) : (
              <Empty>No usage in this period.</Empty>
            )}
          </Section>
          <Section title="By model">
            {u.by_model.length ? (
              <UsageTable caption="Usage by model" rows={u.by_model} nameHeader="Model" name={(r) => r.model} rowKey={(r) => r.model} />
            ) : (
              <Empty>No usage in this period.</Empty>
            )}
          </Section>
        </div>
      )}
    </>
  );
}
