import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/client";
import { createKey, listKeys, revokeKey } from "../api/endpoints";
import type { KeyCreatedPublic, KeyPublic, KeyStatus } from "../api/types";
import { permissionsFor, useMe } from "../auth/AuthContext";
import { LoadMore } from "../components/LoadMore";
import { useOrgDirectory } from "../components/OrgDirectory";
import { ActionsHeader, ConfirmButton, CopyButton, Empty, ErrorMessage, Field, Loading, Notice, PageHeader, Section, StatusBadge, SubmitRow } from "../components/ui";
import { formatDate, formatDateTime } from "../lib/format";
import { usePaged } from "../lib/usePaged";
import { keyCreateBody, validateKeyForm, type Errors, type ExpiryChoice, type KeyCreateBody, type KeyFormValues } from "../lib/validation";

const EXPIRY_OPTIONS: { value: ExpiryChoice; label: string }[] = [
  { value: "never", label: "Never" },
  { value: "7", label: "In 7 days" },
  { value: "30", label: "In 30 days" },
  { value: "90", label: "In 90 days" },
  { value: "365", label: "In 1 year" },
  { value: "custom", label: "On a date…" },
];

/**
 * The "Create key" form. `onSubmit` gets a valid request body and resolves to an error
 * message (shown under the form) or null on success (the form is then cleared).
 */
export function CreateKeyForm({
  onSubmit,
  now = () => new Date(),
}: {
  onSubmit: (body: KeyCreateBody) => Promise<string | null>;
  now?: () => Date;
}) {
  const [values, setValues] = useState<KeyFormValues>({ name: "", expiry: "never", expiryDate: "" });
  const [errors, setErrors] = useState<Errors<"name" | "expiryDate">>({});
  const [apiError, setApiError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs = validateKeyForm(values, now());
    setErrors(errs);
    setApiError(null);
    if (errs.name || errs.expiryDate) return;
    setBusy(true);
    try {
      const failure = await onSubmit(keyCreateBody(values));
      if (failure) setApiError(failure);
      else setValues({ name: "", expiry: "never", expiryDate: "" });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form-row" onSubmit={submit} noValidate>
      <Field label="Key name" error={errors.name} hint="e.g. ci-pipeline or laptop">
        {(p) => (
          <input {...p} type="text" value={values.name} maxLength={200} onChange={(e) => setValues({ ...values, name: e.target.value })} />
        )}
      </Field>
      <Field label="Expires">
        {(p) => (
          <select {...p} value={values.expiry} onChange={(e) => setValues({ ...values, expiry: e.target.value as ExpiryChoice })}>
            {EXPIRY_OPTIONS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {values.expiry === "custom" && (
        <Field label="Expiry date" error={errors.expiryDate} hint="The key works until the end of that day (UTC).">
          {(p) => <input {...p} type="date" value={values.expiryDate} onChange={(e) => setValues({ ...values, expiryDate: e.target.value })} />}
        </Field>
      )}
      <SubmitRow busy={busy} label="Create key" busyLabel="Creating…" error={apiError} />
    </form>
  );
}

/** The new key, shown this once. */
export function NewKeyPanel({ created, onDone }: { created: KeyCreatedPublic; onDone: () => void }) {
  return (
    <section className="card new-key" aria-labelledby="new-key-title">
      <h2 id="new-key-title">Your new API key “{created.name}”</h2>
      <div className="alert alert-warning" role="alert">
        Copy this key now and keep it somewhere safe. It will <strong>not be shown again</strong>: IAS stores only a hash of it.
        If you lose it, revoke it and create a new one.
      </div>
      <div className="key-box">
        <code data-testid="new-key">{created.key}</code>
        <CopyButton text={created.key} />
      </div>
      <p className="hint">
        Use it as <code>Authorization: Bearer …</code> with the OpenAI-compatible API at <code>/v1</code>.
        {created.expires_at ? ` It expires ${formatDateTime(created.expires_at)}.` : " It does not expire."}
      </p>
      <button type="button" className="btn" onClick={onDone}>
        I have copied the key
      </button>
    </section>
  );
}

function KeysTable({ orgId, rows, showOwner, onChanged }: { orgId: string; rows: KeyPublic[]; showOwner: boolean; onChanged: () => void }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Prefix</th>
            {showOwner && <th scope="col">Owner</th>}
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {rows.map((k) => (
            <tr key={k.id}>
              <td className="row-name">{k.name}</td>
              <td>
                <code className="prefix">{k.prefix}…</code>
              </td>
              {showOwner && <td>{k.owner.email}</td>}
              <td title={k.revoked_at ? `Revoked ${formatDateTime(k.revoked_at)}` : undefined}>
                <StatusBadge status={k.status} />
              </td>
              <td title={formatDateTime(k.created_at)}>{formatDate(k.created_at)}</td>
              <td title={k.last_used_at ? formatDateTime(k.last_used_at) : undefined}>{formatDate(k.last_used_at, "Never")}</td>
              <td title={k.expires_at ? formatDateTime(k.expires_at) : undefined}>
                {formatDate(k.expires_at, "Never")}
              </td>
              <td className="actions">
                {k.status === "active" && (
                  <ConfirmButton
                    label="Revoke"
                    title="Revoke this API key?"
                    message={
                      <p>
                        The key <strong>{k.name}</strong> (<code>{k.prefix}…</code>){showOwner ? ` of ${k.owner.email}` : ""} stops
                        working within a second. This cannot be undone.
                      </p>
                    }
                    confirmLabel="Revoke key"
                    action={() => revokeKey(orgId, k.id)}
                    onDone={onChanged}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function KeysPage({ orgId }: { orgId: string }) {
  const me = useMe();
  const p = permissionsFor(me, orgId);
  const { find } = useOrgDirectory();
  const orgName = find(orgId)?.name;
  // Org Admins see every key of the org (and may narrow to their own); System Admins see all;
  // Org Users only their own.
  const [scope, setScope] = useState<"mine" | "all">(p.manageAllKeys ? "all" : "mine");
  const [status, setStatus] = useState<KeyStatus | "">("");
  const [created, setCreated] = useState<KeyCreatedPublic | null>(null);
  const [revokedNote, setRevokedNote] = useState(false);
  const effectiveScope = p.manageAllKeys ? scope : "mine";
  const keys = usePaged(
    (cursor, signal) => listKeys(orgId, { owner: effectiveScope === "mine" ? "me" : undefined, status, cursor, limit: 50 }, signal),
    [orgId, effectiveScope, status],
  );

  async function onCreate(body: KeyCreateBody): Promise<string | null> {
    try {
      const key = await createKey(orgId, body);
      setCreated(key);
      keys.reload();
      return null;
    } catch (e) {
      return errorMessage(e);
    }
  }

  return (
    <>
      <PageHeader title="API keys" subtitle={orgName ? `Organisation ${orgName}` : undefined} />
      {created && <NewKeyPanel created={created} onDone={() => setCreated(null)} />}
      {p.createKey && (
        <Section title="Create a key">
          <CreateKeyForm onSubmit={onCreate} />
        </Section>
      )}
      <Section
        title={effectiveScope === "mine" ? "Your keys" : "All keys of the organisation"}
        actions={
          <div className="filters">
            {p.manageAllKeys && p.manageOwnKeys && (
              <div className="field field-inline">
                <label htmlFor="key-scope">Show</label>
                <select id="key-scope" value={scope} onChange={(e) => setScope(e.target.value as "mine" | "all")}>
                  <option value="all">All keys of the org</option>
                  <option value="mine">My keys</option>
                </select>
              </div>
            )}
            <div className="field field-inline">
              <label htmlFor="key-status">Status</label>
              <select id="key-status" value={status} onChange={(e) => setStatus(e.target.value as KeyStatus | "")}>
                <option value="">Any</option>
                <option value="active">Active</option>
                <option value="revoked">Revoked</option>
                <option value="expired">Expired</option>
              </select>
            </div>
          </div>
        }
      >
        {revokedNote && <Notice>The key was revoked.</Notice>}
        <ErrorMessage error={keys.error} onRetry={keys.reload} />
        {keys.loading && keys.rows.length === 0 ? (
          <Loading label="Loading keys…" />
        ) : keys.rows.length === 0 && !keys.error ? (
          <Empty>{status ? `No ${status} keys.` : p.createKey && effectiveScope === "mine" ? "You have no API keys yet. Create one above." : "No API keys."}</Empty>
        ) : (
          <>
            <KeysTable
              orgId={orgId}
              rows={keys.rows}
              showOwner={effectiveScope === "all"}
              onChanged={() => {
                setRevokedNote(true);
                keys.reload();
              }}
            />
            <LoadMore shown={keys.rows.length} count={keys.count} hasMore={keys.hasMore} loading={keys.loadingMore} onMore={keys.loadMore} noun="keys" />
          </>
        )}
      </Section>
    </>
  );
}
