// The admin console: sign-in, then the disputes queue, users, providers and the audit log.
import "@picocss/pico/css/pico.min.css";
import "./style.css";
import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { type ErrorBody, type Schemas, api, failure, setCsrfToken } from "./api";
import { AuditPage } from "./pages/audit";
import { DisputePage } from "./pages/dispute";
import { DisputesPage } from "./pages/disputes";
import { ProviderPage } from "./pages/provider";
import { SignIn } from "./pages/signin";
import { UserPage, UsersPage } from "./pages/users";
import { useRoute } from "./router";
import { ErrorNote, Heading, Loading } from "./ui";

type Me = Schemas["UserOut"];
type Session = { state: "loading" } | { state: "signed-out"; reason?: string } | { state: "signed-in"; me: Me };

function App() {
  const [session, setSession] = useState<Session>({ state: "loading" });
  const [leaving, setLeaving] = useState<string | null>(null);

  const load = useCallback(async (reason?: string) => {
    const { data, error, response } = await api.GET("/api/v1/auth/me");
    if (data) {
      setCsrfToken(data.csrf_token);
      setSession({ state: "signed-in", me: data.user });
    } else {
      setCsrfToken(null);
      setSession({ state: "signed-out", reason: response.status === 401 ? reason : failure(error, response) });
    }
  }, []);
  useEffect(() => void load(), [load]);

  const signOut = async () => {
    const { error, response } = await api.POST("/api/v1/auth/logout");
    if (error && response.status !== 401) return setLeaving(failure(error, response));
    setLeaving(null);
    setCsrfToken(null);
    setSession({ state: "signed-out", reason: "You are signed out." });
  };

  if (session.state === "loading") return <main class="container"><Loading /></main>;
  if (session.state === "signed-out") return <SignIn reason={session.reason} onSignedIn={() => load()} />;
  if (session.me.role !== "admin") {
    return (
      <main class="container narrow" id="main">
        <Heading>Not an admin account</Heading>
        <p role="alert">
          You are signed in as {session.me.email}, a {session.me.role} account. Only admins may use this console.
        </p>
        <ErrorNote message={leaving} />
        <button type="button" onClick={signOut}>Sign out</button>
      </main>
    );
  }
  return <Console me={session.me} onSignOut={signOut} leaving={leaving} onSessionEnded={() => load("Your session has ended; sign in again.")} />;
}

function Console({ me, onSignOut, leaving, onSessionEnded }: { me: Me; onSignOut: () => void; leaving: string | null; onSessionEnded: () => void }) {
  const route = useRoute();
  const [section, id] = route.parts;
  useEffect(() => {
    // A 401 means the session ended (logout elsewhere, reset, expiry), a 403 `account_suspended` that this
    // admin was suspended: back to sign-in, which says why.
    const unauthorised = api.use({
      async onResponse({ response }) {
        if (response.status === 401) onSessionEnded();
        else if (response.status === 403) {
          const body = (await response.clone().json().catch(() => null)) as ErrorBody | null;
          if (body?.error?.code === "account_suspended") onSessionEnded();
        }
        return response;
      },
    });
    return () => api.eject(unauthorised as never);
  }, [onSessionEnded]);
  let page;
  if (section === "disputes" && id) page = <DisputePage key={id} id={id} me={me} />;
  else if (section === "users" && id) page = <UserPage key={id} id={id} me={me} />;
  else if (section === "users") page = <UsersPage key={route.query.toString()} query={route.query} />;
  else if (section === "providers" && id) page = <ProviderPage key={id} id={id} />;
  else if (section === "audit") page = <AuditPage key={route.query.toString()} query={route.query} />;
  else page = <DisputesPage key={route.query.toString()} query={route.query} me={me} />;
  const at = (name: string) => ((section ?? "disputes") === name ? "page" : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>Skip to content</a>
      <header class="container">
        <nav aria-label="Console">
          <ul><li><strong>Marketplace admin</strong></li></ul>
          <ul>
            <li><a href="#/disputes" aria-current={at("disputes")}>Disputes</a></li>
            <li><a href="#/users" aria-current={at("users")}>Users</a></li>
            <li><a href="#/audit" aria-current={at("audit")}>Audit log</a></li>
            <li><button type="button" class="outline secondary" onClick={onSignOut}>Sign out <span class="visually-hidden">{me.email}</span></button></li>
          </ul>
        </nav>
        <ErrorNote message={leaving} />
      </header>
      <main class="container" id="main" tabIndex={-1}>{page}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
