import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { acceptInvite, getInvite } from "../api/endpoints";
import { useAuth } from "../auth/AuthContext";
import { ErrorMessage, Field, Loading } from "../components/ui";
import { formatDateTime, roleLabel } from "../lib/format";
import { useAction, useAsync } from "../lib/useAsync";
import { validateName, validatePasswordPair, type Errors } from "../lib/validation";

/** `/invite/{token}`: the link of the invitation e-mail. */
export function InvitePage() {
  const { token = "" } = useParams();
  const { refresh } = useAuth();
  const navigate = useNavigate();
  const info = useAsync((signal) => getInvite(token, signal), [token]);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<Errors<"name" | "password" | "confirm">>({});
  const { busy, error, run } = useAction();

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const invite = info.data;
    if (!invite) return;
    let errs: Errors<"name" | "password" | "confirm">;
    if (invite.existing_account) {
      errs = password ? {} : { password: "Enter the current password of your account." };
    } else {
      errs = { ...validatePasswordPair(password, confirm, invite.email), name: validateName(name) };
    }
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    const session = await run(() =>
      acceptInvite(token, invite.existing_account ? { password } : { name: name.trim(), password }),
    );
    if (session) {
      setPassword("");
      setConfirm("");
      await refresh();
      navigate(`/org/${invite.org_id}/usage`, { replace: true });
    }
  }

  return (
    <main className="center-page" id="main">
      <div className="auth-card card">
        <h1>Accept invitation</h1>
        {info.loading && <Loading label="Looking up your invitation…" />}
        {info.error != null && (
          <>
            <ErrorMessage error={info.error} />
            <p>
              Ask the person who invited you for a new invitation, or <Link to="/login">sign in</Link>.
            </p>
          </>
        )}
        {info.data && !info.loading && (
          <>
            <p className="invite-summary">
              {info.data.invited_by_name || info.data.invited_by_email || "An administrator"} invited{" "}
              <strong>{info.data.email}</strong> to join <strong>{info.data.org_name}</strong> as{" "}
              <strong>{roleLabel(info.data.role)}</strong>.
            </p>
            <p className="hint">This invitation expires {formatDateTime(info.data.expires_at)}.</p>
            <form onSubmit={onSubmit} noValidate>
              {info.data.existing_account ? (
                <>
                  <p>You already have an account: confirm with its password to join the organisation.</p>
                  <Field label="Password" hint="The current password of your existing account." error={errors.password}>
                    {(p) => (
                      <input {...p} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
                    )}
                  </Field>
                </>
              ) : (
                <>
                  <Field label="Name" error={errors.name}>
                    {(p) => <input {...p} type="text" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} maxLength={200} />}
                  </Field>
                  <Field label="Password" error={errors.password} hint="At least 12 characters; not your e-mail address.">
                    {(p) => (
                      <input {...p} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
                    )}
                  </Field>
                  <Field label="Confirm password" error={errors.confirm}>
                    {(p) => (
                      <input {...p} type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
                    )}
                  </Field>
                </>
              )}
              <ErrorMessage error={error} />
              <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
                {busy ? "Joining…" : "Accept invitation"}
              </button>
            </form>
          </>
        )}
      </div>
    </main>
  );
}
