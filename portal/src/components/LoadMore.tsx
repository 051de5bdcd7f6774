import { formatNumber } from "../lib/format";

export function LoadMore({ shown, count, hasMore, loading, onMore, noun }: {
  shown: number;
  count: number;
  hasMore: boolean;
  loading: boolean;
  onMore: () => void;
  noun: string;
}) {
  return (
    <div className="load-more">
      <span className="hint">
        Showing {formatNumber(shown)} of {formatNumber(count)} {noun}
      </span>
      {hasMore && (
        <button type="button" className="btn btn-small" onClick={onMore} disabled={loading}>
          {loading ? "Loading…" : "Load more"}
        </button>
      )}
    </div>
  );
}
