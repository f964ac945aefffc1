// The admin console: sign-in, then the disputes queue, users, providers and the audit log.
import "@picocss/pico/css/pico.min.css";
import "./style.css";
import type { Middleware } from "openapi-fetch";
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

// Answers that mean this tab's idea of the session is out of date: it ended (401), the account was suspended,
// or another sign-in in this browser replaced it (the CSRF token no longer matches, or the role differs).
const SESSION_ENDED = new Set(["account_suspended"]);
const SESSION_CHANGED = new Set(["csrf_failed", "role_forbidden"]);

function App() {
  const [session, setSession] = useState<Session>({ state: "loading" });
  const [leaving, setLeaving] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async (reason?: string) => {
    const { data, error, response } = await api.GET("/api/v1/auth/me");
    if (data) {
      setCsrfToken(data.csrf_token);
      setSession((before) => {
        if (reason && before.state === "signed-in") setNotice(`${reason} You are signed in as ${data.user.email}.`);
        return { state: "signed-in", me: data.user };
      });
    } else {
      setCsrfToken(null);
      setSession({ state: "signed-out", reason: response.status === 401 ? reason : failure(error, response) });
    }
  }, []);

  useEffect(() => {
    void load();
    // Back to this tab: someone may have signed in or out in another one meanwhile.
    const visible = () => document.visibilityState === "visible" && void load();
    document.addEventListener("visibilitychange", visible);
    const watch: Middleware = {
      async onResponse({ request, response }) {
        if (request.url.endsWith("/auth/me") || request.url.endsWith("/auth/login")) return response;
        if (response.ok && request.method !== "GET") setNotice(null); // a write went through: the notice is old
        if (response.status === 401) void load("Your session has ended; sign in again.");
        else if (response.status === 403) {
          const code = ((await response.clone().json().catch(() => null)) as ErrorBody | null)?.error?.code ?? "";
          if (SESSION_ENDED.has(code)) void load();
          else if (SESSION_CHANGED.has(code)) void load("The session of this browser changed in another tab, so nothing was done: try again.");
        }
        return response;
      },
    };
    api.use(watch);
    return () => {
      document.removeEventListener("visibilitychange", visible);
      api.eject(watch);
    };
  }, [load]);

  const signOut = async () => {
    const { error, response } = await api.POST("/api/v1/auth/logout");
    if (error && response.status !== 401) return setLeaving(failure(error, response));
    setLeaving(null);
    setNotice(null);
    setCsrfToken(null);
    setSession({ state: "signed-out", reason: "You are signed out." });
  };

  if (session.state === "loading") return <main class="container"><Loading /></main>;
  if (session.state === "signed-out") return <SignIn reason={session.reason} onSignedIn={() => load()} />;
  if (session.me.role !== "admin") {
    return (
      <main class="container narrow" id="main">
        <Heading>Not an admin account</Heading>
        {notice && <p class="note error">{notice}</p>}
        <p role="alert">
          You are signed in as {session.me.email}, a {session.me.role} account. Only admins may use this console.
        </p>
        <ErrorNote message={leaving} />
        <button type="button" onClick={signOut}>Sign out</button>
      </main>
    );
  }
  // Keyed by the account: another admin signing in in this browser starts the console afresh.
  return <Console key={session.me.id} me={session.me} onSignOut={signOut} leaving={leaving} notice={notice} />;
}

function Console({ me, onSignOut, leaving, notice }: { me: Me; onSignOut: () => void; leaving: string | null; notice: string | null }) {
  const route = useRoute();
  const [section, id] = route.parts;
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
        {notice && <p role="alert" class="note error">{notice}</p>}
      </header>
      <main class="container" id="main" tabIndex={-1}>{page}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
