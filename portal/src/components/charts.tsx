import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";
import type { DailyUsage } from "../api/types";
import { formatCompact, formatDay, formatTokens } from "../lib/format";

const INPUT_COLOR = "#4c6ef5";
const OUTPUT_COLOR = "#20c997";
const BAR_COLOR = "#7950f2";

const tooltipTokens = (value: unknown) => formatTokens(Number(value));

/** Daily token consumption, input and output stacked. */
export function DailyTokensChart({ daily, title }: { daily: DailyUsage[]; title: string }) {
  const data = daily.map((d) => ({ day: d.day, input: d.input_tokens, output: d.output_tokens }));
  return (
    <figure className="chart" aria-label={title}>
      <ResponsiveContainer width="100%" height={260}>
        <BarChart data={data} margin={{ top: 8, right: 8, left: 0, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="day" tickFormatter={formatDay} minTickGap={16} fontSize={12} />
          <YAxis tickFormatter={(v: number) => formatCompact(v)} width={48} fontSize={12} />
          <Tooltip formatter={tooltipTokens} labelFormatter={(l) => formatDay(String(l))} />
          <Legend />
          <Bar dataKey="input" name="Input tokens" stackId="tokens" fill={INPUT_COLOR} isAnimationActive={false} />
          <Bar dataKey="output" name="Output tokens" stackId="tokens" fill={OUTPUT_COLOR} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <figcaption className="sr-only">{title}</figcaption>
    </figure>
  );
}

export interface TopItem {
  label: string;
  value: number;
}

/** Horizontal bars of the largest items (top models, users, orgs, keys). */
export function TopChart({ items, title, limit = 8 }: { items: TopItem[]; title: string; limit?: number }) {
  const data = items.slice(0, limit);
  const height = Math.max(120, data.length * 34 + 40);
  return (
    <figure className="chart" aria-label={title}>
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={data} layout="vertical" margin={{ top: 4, right: 16, left: 8, bottom: 4 }}>
          <CartesianGrid strokeDasharray="3 3" horizontal={false} />
          <XAxis type="number" tickFormatter={(v: number) => formatCompact(v)} fontSize={12} />
          <YAxis type="category" dataKey="label" width={140} fontSize={12} tickFormatter={(s: string) => (s.length > 20 ? `${s.slice(0, 19)}…` : s)} />
          <Tooltip formatter={tooltipTokens} />
          <Bar dataKey="value" name="Tokens" fill={BAR_COLOR} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <figcaption className="sr-only">{title}</figcaption>
    </figure>
  );
}
