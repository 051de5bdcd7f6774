import { useState, type FormEvent } from "react";
import { changePassword } from "../api/endpoints";
import { useMe } from "../auth/AuthContext";
import { ErrorMessage, Field, Notice, PageHeader } from "../components/ui";
import { formatCount } from "../lib/format";
import { useAction } from "../lib/useAsync";
import { validatePasswordPair, type Errors } from "../lib/validation";

export function PasswordPage() {
  const me = useMe();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [confirm, setConfirm] = useState("");
  const [errors, setErrors] = useState<Errors<"current" | "password" | "confirm">>({});
  const [done, setDone] = useState<number | null>(null);
  const { busy, error, run } = useAction();

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setDone(null);
    const errs: Errors<"current" | "password" | "confirm"> = {
      ...validatePasswordPair(next, confirm, me.user.email),
      current: current ? undefined : "Enter your current password.",
    };
    setErrors(errs);
    if (Object.values(errs).some(Boolean)) return;
    const result = await run(() => changePassword(current, next));
    if (result) {
      setCurrent("");
      setNext("");
      setConfirm("");
      setDone(result.sessions_revoked);
    }
  }

  return (
    <>
      <PageHeader title="Change password" subtitle={`Signed in as ${me.user.email}`} />
      <section className="card narrow">
        <form onSubmit={onSubmit} noValidate>
          <Field label="Current password" error={errors.current}>
            {(p) => <input {...p} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />}
          </Field>
          <Field label="New password" error={errors.password} hint="At least 12 characters; not your e-mail address.">
            {(p) => <input {...p} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />}
          </Field>
          <Field label="Confirm new password" error={errors.confirm}>
            {(p) => <input {...p} type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />}
          </Field>
          <ErrorMessage error={error} />
          {done !== null && (
            <Notice>
              Password changed. {done > 0 ? `${formatCount(done, "other session")} ended.` : "You stay signed in here."}
            </Notice>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving…" : "Change password"}
          </button>
        </form>
      </section>
    </>
  );
}
