import { useCallback, useEffect, useRef, useState } from "react";
import type { Page } from "../api/types";

export interface PagedState<T> {
  rows: T[];
  count: number;
  loading: boolean;
  loadingMore: boolean;
  error: unknown;
  hasMore: boolean;
  loadMore: () => void;
  /** Back to the first page (after a write or a filter change). */
  reload: () => void;
}

/**
 * A cursor-paged listing (`{data, count, next_cursor}`): the first page when `deps` change,
 * the next one (`cursor` = the last `next_cursor`) appended on `loadMore()`.
 */
export function usePaged<T>(
  fetchPage: (cursor: string | null, signal: AbortSignal) => Promise<Page<T>>,
  deps: unknown[],
): PagedState<T> {
  const [rows, setRows] = useState<T[]>([]);
  const [count, setCount] = useState(0);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const moreCtrl = useRef<AbortController | null>(null);
  const depsKey = JSON.stringify(deps);
  const shownKey = useRef(depsKey);

  useEffect(() => {
    const ctrl = new AbortController();
    moreCtrl.current?.abort();
    if (shownKey.current !== depsKey) {
      // another listing (org, filters): do not show the previous one's rows meanwhile
      shownKey.current = depsKey;
      setRows([]);
      setCount(0);
      setCursor(null);
    }
    setLoading(true);
    setError(null);
    fetchRef
      .current(null, ctrl.signal)
      .then((page) => {
        if (ctrl.signal.aborted) return;
        setRows(page.data);
        setCount(page.count);
        setCursor(page.next_cursor ?? null);
      })
      .catch((e) => !ctrl.signal.aborted && setError(e))
      .finally(() => !ctrl.signal.aborted && setLoading(false));
    return () => ctrl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  const loadMore = useCallback(() => {
    if (!cursor) return;
    const ctrl = new AbortController();
    moreCtrl.current = ctrl;
    setLoadingMore(true);
    setError(null);
    fetchRef
      .current(cursor, ctrl.signal)
      .then((page) => {
        if (ctrl.signal.aborted) return;
        setRows((prev) => [...prev, ...page.data]);
        setCount(page.count);
        setCursor(page.next_cursor ?? null);
      })
      .catch((e) => !ctrl.signal.aborted && setError(e))
      .finally(() => !ctrl.signal.aborted && setLoadingMore(false));
  }, [cursor]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { rows, count, loading, loadingMore, error, hasMore: cursor !== null, loadMore, reload };
}
