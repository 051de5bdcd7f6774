import { useEffect, useRef } from "react";
import { useNavigate } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { Loading } from "../components/ui";

/** `/logout`: ends the session (server side too) and goes to the login page. */
export function LogoutPage() {
  const { signOut } = useAuth();
  const navigate = useNavigate();
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    void signOut().then(() => navigate("/login", { replace: true }));
  }, [signOut, navigate]);
  return (
    <main className="center-page" id="main">
      <h1 className="sr-only">Signing out</h1>
      <Loading label="Signing out…" />
    </main>
  );
}
