import { Fragment, useState, type FormEvent } from "react";
import { globalAuditLog, orgAuditLog, type AuditQuery } from "../api/endpoints";
import { AUDIT_ACTIONS, type AuditEntryPublic } from "../api/types";
import { LoadMore } from "../components/LoadMore";
import { useOrgDirectory } from "../components/OrgDirectory";
import { Empty, ErrorMessage, Field, Loading, PageHeader, Section } from "../components/ui";
import { actionLabel, formatDateTime } from "../lib/format";
import { usePaged } from "../lib/usePaged";

interface Filters {
  action: string;
  since: string;
  until: string;
  org: string;
}

const EMPTY: Filters = { action: "", since: "", until: "", org: "" };

/** A `datetime-local` value (the browser's time zone) → ISO 8601 UTC, or undefined. */
export function localToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function toQuery(f: Filters): AuditQuery {
  return {
    action_type: f.action || undefined,
    since: localToIso(f.since),
    until: localToIso(f.until),
    org_id: f.org || undefined,
  };
}

function AuditRow({ entry, showOrg, orgName }: { entry: AuditEntryPublic; showOrg: boolean; orgName: (id: string) => string }) {
  const [open, setOpen] = useState(false);
  const detailsId = `audit-${entry.id}`;
  return (
    <Fragment>
      <tr>
        <td>{formatDateTime(entry.ts)}</td>
        <td>{entry.user_email ?? (entry.user_id ? <code>{entry.user_id}</code> : <em>system</em>)}</td>
        <td>
          <span className="action-tag">{actionLabel(entry.action_type)}</span> <code className="action-code">{entry.action_type}</code>
        </td>
        {showOrg && <td>{entry.org_id ? orgName(entry.org_id) : <em>global</em>}</td>}
        <td className="actions">
          <button type="button" className="btn btn-small" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen((o) => !o)}>
            {open ? "Hide details" : "Details"}
          </button>
        </td>
      </tr>
      {open && (
        <tr id={detailsId} className="details-row">
          <td colSpan={showOrg ? 5 : 4}>
            <pre className="json">{JSON.stringify(entry.payload, null, 2)}</pre>
          </td>
        </tr>
      )}
    </Fragment>
  );
}

/** The audit log of one org (`orgId`), or of every org (System Admins, no `orgId`). */
export function AuditPage({ orgId }: { orgId?: string }) {
  const { orgs, find } = useOrgDirectory();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [rangeError, setRangeError] = useState<string | undefined>();
  const global = orgId === undefined;
  const log = usePaged(
    (cursor, signal) => {
      const q = { ...toQuery(applied), cursor, limit: 50 };
      return orgId === undefined ? globalAuditLog(q, signal) : orgAuditLog(orgId, q, signal);
    },
    [orgId, applied],
  );

  function apply(e: FormEvent) {
    e.preventDefault();
    const since = localToIso(draft.since);
    const until = localToIso(draft.until);
    if (since && until && since >= until) {
      setRangeError("“Until” must be after “Since”.");
      return;
    }
    setRangeError(undefined);
    setApplied({ ...draft });
  }

  const orgName = (id: string) => find(id)?.name ?? id;
  const filtered = Object.values(applied).some(Boolean);

  return (
    <>
      <PageHeader
        title={global ? "Audit log (all organisations)" : "Audit log"}
        subtitle={orgId === undefined ? "Every organisation's changes, and global ones" : find(orgId) ? `Organisation ${find(orgId)?.name}` : undefined}
      />
      <Section title="Filter">
        <form className="form-row" onSubmit={apply}>
          <Field label="Action">
            {(p) => (
              <select {...p} value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })}>
                <option value="">Any action</option>
                {AUDIT_ACTIONS.map((a) => (
                  <option key={a} value={a}>
                    {actionLabel(a)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Since" hint="Your local time">
            {(p) => <input {...p} type="datetime-local" value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.target.value })} />}
          </Field>
          <Field label="Until" error={rangeError} hint="Your local time">
            {(p) => <input {...p} type="datetime-local" value={draft.until} onChange={(e) => setDraft({ ...draft, until: e.target.value })} />}
          </Field>
          {global && (
            <Field label="Filter by organisation">
              {(p) => (
                <select {...p} value={draft.org} onChange={(e) => setDraft({ ...draft, org: e.target.value })}>
                  <option value="">All organisations</option>
                  {orgs.map((o) => (
                    <option key={o.id} value={o.id}>
                      {o.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          <div className="form-actions">
            <button type="submit" className="btn btn-primary">
              Apply filters
            </button>
            <button
              type="button"
              className="btn"
              onClick={() => {
                setDraft(EMPTY);
                setApplied(EMPTY);
                setRangeError(undefined);
              }}
              disabled={!filtered && !Object.values(draft).some(Boolean)}
            >
              Clear
            </button>
          </div>
        </form>
      </Section>
      <Section title="Entries">
        <ErrorMessage error={log.error} onRetry={log.reload} />
        {log.loading && log.rows.length === 0 ? (
          <Loading label="Loading the audit log…" />
        ) : log.rows.length === 0 && !log.error ? (
          <Empty>{filtered ? "No entries match these filters." : "No entries yet."}</Empty>
        ) : (
          <>
            <div className={`table-wrap${log.loading ? " refreshing" : ""}`}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Time</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    {global && <th scope="col">Organisation</th>}
                    <th scope="col">Payload</th>
                  </tr>
                </thead>
                <tbody>
                  {log.rows.map((entry) => (
                    <AuditRow key={entry.id} entry={entry} showOrg={global} orgName={orgName} />
                  ))}
                </tbody>
              </table>
            </div>
            <LoadMore shown={log.rows.length} count={log.count} hasMore={log.hasMore} loading={log.loadingMore} onMore={log.loadMore} noun="entries" />
          </>
        )}
      </Section>
    </>
  );
}
