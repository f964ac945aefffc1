// Sign-in for admins. A non-admin account is told so, and the session this form started is ended at once.
import { useState } from "preact/hooks";
import { api, failure, setCsrfToken } from "../api";
import { ErrorNote, Heading, useOnce } from "../ui";

export function SignIn({ reason, onSignedIn }: { reason?: string; onSignedIn: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, once] = useOnce();

  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    return once(async () => {
      setError(null);
      const { data, error: failed, response } = await api.POST("/api/v1/auth/login", {
        body: { email: String(form.get("email")), password: String(form.get("password")) },
      });
      if (!data) return setError(failure(failed, response));
      setCsrfToken(data.csrf_token);
      if (data.user.role !== "admin") {
        await api.POST("/api/v1/auth/logout");
        setCsrfToken(null);
        return setError(`${data.user.email} is not an admin account: this console is for admins only.`);
      }
      onSignedIn();
    });
  };

  return (
    <main class="container narrow" id="main">
      <Heading>Admin console — sign in</Heading>
      {reason && <p role="status">{reason}</p>}
      <form onSubmit={submit}>
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <ErrorNote message={error} />
        <button type="submit" aria-busy={busy} disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}
