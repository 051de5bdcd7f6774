import type { ReactNode } from "react";
import type { UsageFigures } from "../api/types";
import { formatCost, formatNumber, formatTokens } from "../lib/format";
import { Stat } from "./ui";

export const RANGES = [7, 30, 90] as const;

/** The period selector of the dashboards (7 / 30 / 90 days). */
export function RangeSelect({ days, onChange }: { days: number; onChange: (days: number) => void }) {
  return (
    <div className="field field-inline">
      <label htmlFor="usage-range">Period</label>
      <select id="usage-range" value={days} onChange={(e) => onChange(Number(e.target.value))}>
        {RANGES.map((d) => (
          <option key={d} value={d}>
            {`Last ${d} days`}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Totals of a dashboard as a row of figures. */
export function FigureStats({ figures, extra }: { figures: UsageFigures; extra?: ReactNode }) {
  return (
    <div className="stats">
      <Stat label="Total tokens" value={formatNumber(figures.total_tokens)} sub="tokens" />
      <Stat label="Input tokens" value={formatNumber(figures.input_tokens)} sub="tokens" />
      <Stat label="Output tokens" value={formatNumber(figures.output_tokens)} sub="tokens" />
      <Stat label="Requests" value={formatNumber(figures.requests)} sub="requests" />
      <Stat label="Cost" value={formatCost(figures.cost)} sub="at mapping prices" />
      {extra}
    </div>
  );
}

/** A usage breakdown as a table: one row per item, the five figures as columns. */
export function UsageTable<T extends UsageFigures>({
  caption,
  rows,
  nameHeader,
  name,
  rowKey,
}: {
  caption: string;
  rows: T[];
  nameHeader: string;
  name: (row: T) => ReactNode;
  rowKey: (row: T) => string;
}) {
  const total = rows.reduce((s, r) => s + r.total_tokens, 0);
  return (
    <div className="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{nameHeader}</th>
            <th scope="col" className="num">
              Total tokens
            </th>
            <th scope="col" className="num">
              Input
            </th>
            <th scope="col" className="num">
              Output
            </th>
            <th scope="col" className="num">
              Requests
            </th>
            <th scope="col" className="num">
              Cost
            </th>
            <th scope="col" className="num">
              Share
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={rowKey(r)}>
              <td className="row-name">{name(r)}</td>
              <td className="num" title={formatTokens(r.total_tokens)}>
                {formatNumber(r.total_tokens)}
              </td>
              <td className="num">{formatNumber(r.input_tokens)}</td>
              <td className="num">{formatNumber(r.output_tokens)}</td>
              <td className="num">{formatNumber(r.requests)}</td>
              <td className="num">{formatCost(r.cost)}</td>
              <td className="num">{total > 0 ? `${((r.total_tokens * 100) / total).toFixed(1)}%` : "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function hasUsage(figures: UsageFigures): boolean {
  return figures.requests > 0 || figures.total_tokens > 0;
}
