import { useState, type FormEvent } from "react";
import { errorMessage } from "../api/client";
import { changeRole, inviteUser, listInvites, listMembers, removeMember, resendInvite, revokeInvite } from "../api/endpoints";
import type { InviteSent, MemberPublic, OrgRole } from "../api/types";
import { useAuth, useMe } from "../auth/AuthContext";
import { useOrgDirectory } from "../components/OrgDirectory";
import { ActionsHeader, ConfirmButton, CopyButton, Empty, ErrorMessage, Field, Loading, Notice, PageHeader, Section, StatusBadge, SubmitRow } from "../components/ui";
import { formatDate, formatDateTime, formatNumber, roleLabel } from "../lib/format";
import { useAsync } from "../lib/useAsync";
import { validateInviteForm, type Errors, type InviteFormValues } from "../lib/validation";

/** The "Invite" form: e-mail and role. `onSubmit` resolves to an error message or null. */
export function InviteForm({ onSubmit }: { onSubmit: (email: string, role: OrgRole) => Promise<string | null> }) {
  const [values, setValues] = useState<InviteFormValues>({ email: "", role: "org_user" });
  const [errors, setErrors] = useState<Errors<"email" | "role">>({});
  const [apiError, setApiError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs = validateInviteForm(values);
    setErrors(errs);
    setApiError(null);
    if (errs.email || errs.role) return;
    setBusy(true);
    try {
      const failure = await onSubmit(values.email.trim(), values.role as OrgRole);
      if (failure) setApiError(failure);
      else setValues({ email: "", role: values.role });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form-row" onSubmit={submit} noValidate>
      <Field label="Email address" error={errors.email}>
        {(p) => <input {...p} type="email" autoComplete="off" value={values.email} onChange={(e) => setValues({ ...values, email: e.target.value })} />}
      </Field>
      <Field label="Role" error={errors.role}>
        {(p) => (
          <select {...p} value={values.role} onChange={(e) => setValues({ ...values, role: e.target.value })}>
            <option value="org_user">Org User</option>
            <option value="org_admin">Org Admin</option>
          </select>
        )}
      </Field>
      <SubmitRow busy={busy} label="Invite" busyLabel="Inviting…" error={apiError} />
    </form>
  );
}

function SentNotice({ sent, verb }: { sent: InviteSent; verb: string }) {
  const who = sent.invite.email;
  if (sent.link) {
    return (
      <div className="alert alert-info" role="status">
        <p>
          {verb} {who} as {roleLabel(sent.invite.role)}.{" "}
          {sent.email === "failed" ? "The e-mail could not be sent" : "No mail server is configured (the e-mail went to the outbox)"}: pass this
          link on to them yourself.
        </p>
        <div className="key-box">
          <code data-testid="invite-link">{sent.link}</code>
          <CopyButton text={sent.link} label="Copy link" />
        </div>
      </div>
    );
  }
  return (
    <Notice>
      {verb} {who} as {roleLabel(sent.invite.role)}; the invitation e-mail is on its way.
    </Notice>
  );
}

function RoleChanger({ orgId, member, onDone }: { orgId: string; member: MemberPublic; onDone: (msg: string) => void }) {
  const target: OrgRole = member.role === "org_admin" ? "org_user" : "org_admin";
  return (
    <ConfirmButton
      label={target === "org_admin" ? "Make Org Admin" : "Make Org User"}
      title="Change role?"
      message={
        <p>
          <strong>{member.name || member.email}</strong> becomes <strong>{roleLabel(target)}</strong>
          {target === "org_user" ? " and can no longer manage users, keys of others, the budget or the audit log." : " and can manage the organisation's users, keys, budget and audit log."}
        </p>
      }
      confirmLabel="Change role"
      danger={target === "org_user"}
      action={() => changeRole(orgId, member.id, target)}
      onDone={() => onDone(`${member.email} is now ${roleLabel(target)}.`)}
    />
  );
}

export function UsersPage({ orgId }: { orgId: string }) {
  const me = useMe();
  const { refresh } = useAuth();
  const { find } = useOrgDirectory();
  const orgName = find(orgId)?.name;
  const [limit, setLimit] = useState(100);
  const members = useAsync((signal) => listMembers(orgId, { limit }, signal), [orgId, limit]);
  const invites = useAsync((signal) => listInvites(orgId, signal), [orgId]);
  const [sent, setSent] = useState<{ sent: InviteSent; verb: string } | null>(null);
  const [note, setNote] = useState<string | null>(null);

  async function onInvite(email: string, role: OrgRole): Promise<string | null> {
    try {
      const result = await inviteUser(orgId, email, role);
      setNote(null);
      setSent({ sent: result, verb: "Invited" });
      invites.reload();
      return null;
    } catch (e) {
      return errorMessage(e);
    }
  }

  function changed(msg: string, self = false) {
    setSent(null);
    setNote(msg);
    members.reload();
    invites.reload();
    if (self) void refresh();
  }

  const pending = (invites.data?.data ?? []).filter((i) => i.status === "pending");

  return (
    <>
      <PageHeader title="Users" subtitle={orgName ? `Organisation ${orgName}` : undefined} />
      <Section title="Invite a user">
        <InviteForm onSubmit={onInvite} />
        {sent && <SentNotice sent={sent.sent} verb={sent.verb} />}
      </Section>

      <Section title={`Members${members.data ? ` (${formatNumber(members.data.count)})` : ""}`}>
        {note && <Notice>{note}</Notice>}
        <ErrorMessage error={members.error} onRetry={members.reload} />
        {members.loading && !members.data ? (
          <Loading label="Loading members…" />
        ) : members.data && members.data.data.length === 0 ? (
          <Empty>No members yet: invite someone above.</Empty>
        ) : members.data ? (
          <>
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">E-mail</th>
                    <th scope="col">Role</th>
                    <th scope="col">Account</th>
                    <th scope="col">Joined</th>
                    <ActionsHeader />
                  </tr>
                </thead>
                <tbody>
                  {members.data.data.map((m) => {
                    const self = m.id === me.user.id;
                    return (
                      <tr key={m.id}>
                        <td className="row-name">
                          {m.name}
                          {self && <span className="role-tag">you</span>}
                        </td>
                        <td>{m.email}</td>
                        <td>{roleLabel(m.role)}</td>
                        <td>
                          <StatusBadge status={m.status} />
                        </td>
                        <td>{formatDate(m.joined_at)}</td>
                        <td className="actions">
                          <RoleChanger orgId={orgId} member={m} onDone={(msg) => changed(msg, self)} />
                          <ConfirmButton
                            label="Remove"
                            title="Remove this user from the organisation?"
                            message={
                              <p>
                                <strong>{m.name || m.email}</strong> loses access to {orgName ?? "the organisation"}, and their API keys in it are
                                revoked at once.{self ? " This is you: you will lose access too." : ""}
                              </p>
                            }
                            confirmLabel="Remove user"
                            action={() => removeMember(orgId, m.id)}
                            onDone={() => changed(`${m.email} was removed from the organisation.`, self)}
                          />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {members.data.count > members.data.data.length && (
              <div className="load-more">
                <span className="hint">
                  Showing {formatNumber(members.data.data.length)} of {formatNumber(members.data.count)} members
                </span>
                <button type="button" className="btn btn-small" onClick={() => setLimit((l) => Math.min(1000, l + 100))} disabled={members.loading}>
                  Load more
                </button>
              </div>
            )}
          </>
        ) : null}
      </Section>

      <Section title={`Pending invitations${invites.data ? ` (${formatNumber(pending.length)})` : ""}`}>
        <ErrorMessage error={invites.error} onRetry={invites.reload} />
        {invites.loading && !invites.data ? (
          <Loading label="Loading invitations…" />
        ) : invites.data && pending.length === 0 ? (
          <Empty>No pending invitations.</Empty>
        ) : invites.data ? (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">E-mail</th>
                  <th scope="col">Role</th>
                  <th scope="col">Invited</th>
                  <th scope="col">Expires</th>
                  <ActionsHeader />
                </tr>
              </thead>
              <tbody>
                {pending.map((i) => (
                  <tr key={i.id}>
                    <td className="row-name">{i.email}</td>
                    <td>{roleLabel(i.role)}</td>
                    <td>{formatDate(i.created_at)}</td>
                    <td title={formatDateTime(i.expires_at)}>{formatDate(i.expires_at)}</td>
                    <td className="actions">
                      <ConfirmButton
                        label="Resend"
                        title="Send this invitation again?"
                        message={<p>A new link goes to {i.email}; the old link stops working.</p>}
                        confirmLabel="Resend invitation"
                        danger={false}
                        action={async () => {
                          const result = await resendInvite(orgId, i.id);
                          setNote(null);
                          setSent({ sent: result, verb: "Re-sent the invitation to" });
                        }}
                        onDone={invites.reload}
                      />
                      <ConfirmButton
                        label="Revoke"
                        title="Revoke this invitation?"
                        message={<p>The link sent to {i.email} stops working.</p>}
                        confirmLabel="Revoke invitation"
                        action={() => revokeInvite(orgId, i.id)}
                        onDone={() => changed(`The invitation to ${i.email} was revoked.`)}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </Section>
    </>
  );
}
