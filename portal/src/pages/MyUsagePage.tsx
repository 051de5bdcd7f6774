import { Link } from "react-router";
import { myUsage } from "../api/endpoints";
import { DailyTokensChart, TopChart } from "../components/charts";
import { FigureStats, RangeSelect, UsageTable, hasUsage } from "../components/usage";
import { Empty, ErrorMessage, Loading, PageHeader, Section } from "../components/ui";
import { formatDate } from "../lib/format";
import { useAsync } from "../lib/useAsync";
import { useDays } from "../lib/useDays";

/** `/me/usage`: the caller's own usage across their organisations (`/analytics/me`). */
export function MyUsagePage() {
  const [days, setDays] = useDays();
  const usage = useAsync((signal) => myUsage(days, signal), [days]);
  const u = usage.data;
  return (
    <>
      <PageHeader
        title="My usage"
        subtitle={u ? `${u.email} · ${formatDate(u.period.from)} – ${formatDate(u.period.to)} (UTC)` : undefined}
        actions={<RangeSelect days={days} onChange={setDays} />}
      />
      <ErrorMessage error={usage.error} onRetry={usage.reload} />
      {usage.loading && !u && <Loading label="Loading your usage…" />}
      {u && (
        <div className={usage.loading ? "refreshing" : undefined} aria-busy={usage.loading}>
          <Section title="Your totals">
            <FigureStats figures={u.totals} />
          </Section>
          <Section title="Daily tokens">
            {hasUsage(u.totals) ? <DailyTokensChart daily={u.daily} title="Your daily tokens, input and output stacked" /> : <Empty>No usage in this period.</Empty>}
          </Section>
          <div className="grid-2">
            <Section title="Top models">
              {u.by_model.length ? (
                <TopChart title="Your tokens by model" items={u.by_model.map((m) => ({ label: m.model, value: m.total_tokens }))} />
              ) : (
                <Empty>No usage in this period.</Empty>
              )}
            </Section>
            <Section title="Top keys">
              {u.by_key.length ? (
                <TopChart title="Your tokens by API key" items={u.by_key.map((k) => ({ label: k.name ?? k.prefix ?? "(deleted key)", value: k.total_tokens }))} />
              ) : (
                <Empty>No usage in this period.</Empty>
              )}
            </Section>
          </div>
          <Section title="By model">
            {u.by_model.length ? (
              <UsageTable caption="Your usage by model" rows={u.by_model} nameHeader="Model" name={(r) => r.model} rowKey={(r) => r.model} />
            ) : (
              <Empty>No usage in this period.</Empty>
            )}
          </Section>
          <Section title="By API key">
            {u.by_key.length ? (
              <UsageTable
                caption="Your usage by API key"
                rows={u.by_key}
                nameHeader="Key"
                name={(r) => (
                  <>
                    {r.name ?? "(deleted key)"} {r.prefix && <code>{r.prefix}…</code>}
                  </>
                )}
                rowKey={(r) => r.key_id}
              />
            ) : (
              <Empty>No usage in this period.</Empty>
            )}
          </Section>
          {u.by_org.length > 0 && (
            <Section title="By organisation">
              <UsageTable
                caption="Your usage by organisation"
                rows={u.by_org}
                nameHeader="Organisation"
                name={(r) => (r.name ? <Link to={`/org/${r.org_id}/usage?days=${days}`}>{r.name}</Link> : "(deleted organisation)")}
                rowKey={(r) => r.org_id}
              />
            </Section>
          )}
        </div>
      )}
    </>
  );
}
