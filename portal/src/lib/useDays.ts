import { useSearchParams } from "react-router";
import { RANGES } from "../components/usage";

/** The dashboard period, kept in the address (`?days=30`): 7, 30 (default) or 90. */
export function useDays(): [number, (days: number) => void] {
  const [params, setParams] = useSearchParams();
  const raw = Number(params.get("days"));
  const days = (RANGES as readonly number[]).includes(raw) ? raw : 30;
  return [
    days,
    (d: number) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          next.set("days", String(d));
          return next;
        },
        { replace: true },
      ),
  ];
}
