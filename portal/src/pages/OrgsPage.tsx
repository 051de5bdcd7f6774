import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { createOrg, deleteOrg, listOrgs, updateOrg } from "../api/endpoints";
import type { OrgPublic, Status } from "../api/types";
import { LoadMore } from "../components/LoadMore";
import { useOrgDirectory } from "../components/OrgDirectory";
import { ActionsHeader, ConfirmButton, Empty, ErrorMessage, Field, Loading, Notice, PageHeader, Section, StatusBadge } from "../components/ui";
import { describeBudget, formatDate, formatTokenAmount } from "../lib/format";
import { useAction } from "../lib/useAsync";
import { usePaged } from "../lib/usePaged";
import { validateBudgetInput, validateName } from "../lib/validation";

function CreateOrgForm({ onCreated }: { onCreated: (org: OrgPublic) => void }) {
  const [name, setName] = useState("");
  const [budget, setBudget] = useState("");
  const [errors, setErrors] = useState<{ name?: string; budget?: string }>({});
  const { busy, error, run } = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs = { name: validateName(name, "Name"), budget: budget.trim() ? validateBudgetInput(budget) : undefined };
    setErrors(errs);
    if (errs.name || errs.budget) return;
    const org = await run(() => createOrg(name.trim(), budget.trim() || null));
    if (org) {
      setName("");
      setBudget("");
      onCreated(org);
    }
  }

  return (
    <form className="form-row" onSubmit={submit} noValidate>
      <Field label="Organisation name" error={errors.name}>
        {(p) => <input {...p} type="text" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />}
      </Field>
      <Field label="Monthly token budget (optional)" error={errors.budget} hint="e.g. 500M; empty = unlimited">
        {(p) => <input {...p} type="text" value={budget} autoComplete="off" onChange={(e) => setBudget(e.target.value)} />}
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Creating…" : "Create organisation"}
        </button>
      </div>
      {error != null && (
        <div className="form-wide">
          <ErrorMessage error={error} />
        </div>
      )}
    </form>
  );
}

export function OrgsPage() {
  const directory = useOrgDirectory();
  const [nameFilter, setNameFilter] = useState("");
  const [appliedName, setAppliedName] = useState("");
  const [status, setStatus] = useState<Status | "">("");
  const [note, setNote] = useState<string | null>(null);
  const orgs = usePaged((cursor, signal) => listOrgs({ name: appliedName, status, cursor, limit: 50 }, signal), [appliedName, status]);

  function changed(msg: string) {
    setNote(msg);
    orgs.reload();
    directory.reload();
  }

  return (
    <>
      <PageHeader title="Organisations" subtitle="Create, disable or enable organisations; open any organisation's pages." />
      <Section title="Create an organisation">
        <CreateOrgForm onCreated={(org) => changed(`Organisation ${org.name} created. Next: invite its first Org Admin from its Users page.`)} />
      </Section>
      <Section
        title="All organisations"
        actions={
          <form
            className="filters"
            role="search"
            onSubmit={(e) => {
              e.preventDefault();
              setAppliedName(nameFilter.trim());
            }}
          >
            <div className="field field-inline">
              <label htmlFor="org-name-filter">Name</label>
              <input id="org-name-filter" type="search" value={nameFilter} onChange={(e) => setNameFilter(e.target.value)} />
            </div>
            <div className="field field-inline">
              <label htmlFor="org-status-filter">Status</label>
              <select id="org-status-filter" value={status} onChange={(e) => setStatus(e.target.value as Status | "")}>
                <option value="">Any</option>
                <option value="active">Active</option>
                <option value="disabled">Disabled</option>
              </select>
            </div>
            <button type="submit" className="btn btn-small">
              Search
            </button>
          </form>
        }
      >
        {note && <Notice>{note}</Notice>}
        <ErrorMessage error={orgs.error} onRetry={orgs.reload} />
        {orgs.loading && orgs.rows.length === 0 ? (
          <Loading label="Loading organisations…" />
        ) : orgs.rows.length === 0 && !orgs.error ? (
          <Empty>{appliedName || status ? "No organisation matches." : "No organisations yet: create the first one above."}</Empty>
        ) : (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Status</th>
                    <th scope="col">Monthly budget</th>
                    <th scope="col">Created</th>
                    <ActionsHeader />
                  </tr>
                </thead>
                <tbody>
                  {orgs.rows.map((o) => (
                    <tr key={o.id}>
                      <td className="row-name">
                        <Link to={`/org/${o.id}/users`}>{o.name}</Link>
                      </td>
                      <td>
                        <StatusBadge status={o.status} />
                      </td>
                      <td title={describeBudget(o.monthly_token_limit)}>{formatTokenAmount(o.monthly_token_limit)}</td>
                      <td>{formatDate(o.created_at)}</td>
                      <td className="actions">
                        <Link className="btn btn-small" to={`/org/${o.id}/usage`}>
                          Usage
                        </Link>
                        {o.status === "active" ? (
                          <ConfirmButton
                            label="Disable"
                            title="Disable this organisation?"
                            message={
                              <p>
                                Every API key of <strong>{o.name}</strong> is refused at once (403 <code>org_disabled</code>) until it is enabled
                                again. Its data stays.
                              </p>
                            }
                            confirmLabel="Disable organisation"
                            action={() => updateOrg(o.id, { status: "disabled" })}
                            onDone={() => changed(`${o.name} is disabled.`)}
                          />
                        ) : (
                          <>
                            <ConfirmButton
                              label="Enable"
                              title="Enable this organisation?"
                              message={<p>The API keys of {o.name} work again.</p>}
                              confirmLabel="Enable organisation"
                              danger={false}
                              action={() => updateOrg(o.id, { status: "active" })}
                              onDone={() => changed(`${o.name} is enabled.`)}
                            />
                            <ConfirmButton
                              label="Delete"
                              title="Delete this organisation for good?"
                              message={
                                <p>
                                  Removes <strong>{o.name}</strong>'s memberships, invitations, API keys and budget, and the users who belong to no
                                  other organisation. The audit trail and recorded usage stay. This cannot be undone.
                                </p>
                              }
                              confirmLabel="Delete organisation"
                              action={() => deleteOrg(o.id)}
                              onDone={() => changed(`${o.name} was deleted.`)}
                            />
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <LoadMore shown={orgs.rows.length} count={orgs.count} hasMore={orgs.hasMore} loading={orgs.loadingMore} onMore={orgs.loadMore} noun="organisations" />
          </>
        )}
      </Section>
    </>
  );
}
