import { useState, type FormEvent } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { login } from "../api/endpoints";
import { useAuth } from "../auth/AuthContext";
import { ErrorMessage, Field, Loading } from "../components/ui";
import { useAction } from "../lib/useAsync";

/** Only same-site paths: `next=//evil.example` or `next=https://…` fall back to "/". */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next.startsWith("/login") || next.startsWith("/logout")) return "/";
  return next;
}

export function LoginPage() {
  const { me, refresh } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = safeNext(params.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [missing, setMissing] = useState<{ email?: string; password?: string }>({});
  const { busy, error, run } = useAction();

  if (me === undefined) return <Loading label="Checking your session…" />;
  if (me) return <Navigate to={next} replace />;

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    const m = {
      email: email.trim() ? undefined : "Enter your e-mail address.",
      password: password ? undefined : "Enter your password.",
    };
    setMissing(m);
    if (m.email || m.password) return;
    const session = await run(() => login(email.trim(), password));
    if (session) {
      setPassword("");
      await refresh();
      navigate(next, { replace: true });
    }
  }

  return (
    <main className="center-page" id="main">
      <div className="auth-card card">
        <div className="brand brand-large" aria-hidden="true">
          <span className="brand-mark">IAS</span>
        </div>
        <h1>Sign in</h1>
        <p className="subtitle">Inference-as-a-Service portal</p>
        <form onSubmit={onSubmit} noValidate>
          <Field label="Email address" error={missing.email}>
            {(p) => (
              <input {...p} type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
            )}
          </Field>
          <Field label="Password" error={missing.password}>
            {(p) => (
              <input {...p} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            )}
          </Field>
          <ErrorMessage error={error} />
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
        <p className="hint">New here? Open the invitation link from your e-mail to set up your account.</p>
      </div>
    </main>
  );
}
