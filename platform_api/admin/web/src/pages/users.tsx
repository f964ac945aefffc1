// Users: search by email prefix, role and status; one user's page with suspend (with a reason) / unsuspend.
import { useEffect, useState } from "preact/hooks";
import { ROLE_LABELS, type Role, STATUS_LABELS, type Schemas, type User, type UserStatus, api, failure, formatWhen } from "../api";
import { go, href } from "../router";
import { Done, ErrorNote, Heading, Loading, NotLoaded, Pager, useOnce, usePage } from "../ui";

export function UsersPage({ query }: { query: URLSearchParams }) {
  const email = query.get("email") ?? "";
  const role = (query.get("role") ?? "") as Role | "";
  const status = (query.get("status") ?? "") as UserStatus | "";
  const after = query.get("after");
  const { items, next, error } = usePage<User>(() =>
    api.GET("/api/v1/admin/users", {
      params: { query: { email: email || undefined, role: role || undefined, status: status || undefined, after: after ?? undefined, limit: 25 } },
    }),
  );

  const search = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    go("/users", { email: String(form.get("email")).trim(), role: String(form.get("role")), status: String(form.get("status")) });
  };
  const filters = { email, role, status };
  return (
    <>
      <Heading>Users</Heading>
      {/* Uncontrolled fields (defaultValue, selected), remade when the search changes: a controlled value
          would be reset under the typing hands whenever the list below finished loading. */}
      <form key={`${email}|${role}|${status}`} class="filters" role="search" aria-label="Search users" onSubmit={search}>
        <label>
          Email starts with
          <input name="email" type="search" defaultValue={email} maxLength={320} autocomplete="off" />
        </label>
        <label>
          Role
          <select name="role">
            <option value="" selected={role === ""}>Any role</option>
            {Object.entries(ROLE_LABELS).map(([value, label]) => <option value={value} selected={role === value}>{label}</option>)}
          </select>
        </label>
        <label>
          Status
          <select name="status">
            <option value="" selected={status === ""}>Any status</option>
            {Object.entries(STATUS_LABELS).map(([value, label]) => <option value={value} selected={status === value}>{label}</option>)}
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorNote message={error} />
      {items === null && !error && <Loading />}
      {items && items.length === 0 && <p>No users match.</p>}
      {items && items.length > 0 && (
        <div class="overflow-auto">
          <table class="striped">
            <caption class="visually-hidden">Users by email</caption>
            <thead><tr><th scope="col">Email</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Provider</th></tr></thead>
            <tbody>
              {items.map((u) => (
                <tr>
                  <td><a href={href(`/users/${u.id}`)}>{u.email}</a></td>
                  <td>{u.display_name}</td>
                  <td>{ROLE_LABELS[u.role]}</td>
                  <td>{STATUS_LABELS[u.status]}</td>
                  <td>{u.provider_id ? <a href={href(`/providers/${u.provider_id}`)}>Profile<span class="visually-hidden"> of {u.email}</span></a> : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager path="/users" filters={filters} param="after" current={after} next={next} />
    </>
  );
}

export function UserPage({ id, me }: { id: string; me: Schemas["UserOut"] }) {
  const [user, setUser] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, once] = useOnce();

  const load = async () => {
    const { data, error: failed, response } = await api.GET("/api/v1/admin/users/{user_id}", { params: { path: { user_id: id } } });
    if (!data) return setError(failure(failed, response));
    setUser(data);
  };
  useEffect(() => void load(), []);

  const suspend = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    return once(async () => {
      const { data, error: failed, response } = await api.POST("/api/v1/admin/users/{user_id}/suspend", {
        params: { path: { user_id: id } },
        body: { reason: String(form.get("reason")) },
      });
      if (!data) return setError(failure(failed, response));
      setError(null);
      setDone(`${data.email} is suspended: their sessions have ended.`);
      await load();
    });
  };
  const unsuspend = () => once(async () => {
    const { data, error: failed, response } = await api.POST("/api/v1/admin/users/{user_id}/unsuspend", { params: { path: { user_id: id } } });
    if (!data) return setError(failure(failed, response));
    setError(null);
    setDone(`${data.email} may sign in again.`);
    await load();
  });

  if (!user) return <NotLoaded title="User" error={error} />;
  return (
    <>
      <Heading>{user.display_name}</Heading>
      <Done message={done} />
      <ErrorNote message={error} />
      <dl class="facts">
        <dt>Email</dt><dd>{user.email}{user.email_verified ? " (verified)" : " (not verified)"}</dd>
        <dt>Role</dt><dd>{ROLE_LABELS[user.role]}</dd>
        <dt>Status</dt><dd>{STATUS_LABELS[user.status]}{user.status === "suspended" && <> (the reason is in the <a href={href("/audit", { target_id: user.id })}>audit log</a>)</>}</dd>
        <dt>Joined</dt><dd>{formatWhen(user.created_at)}</dd>
        {user.provider_id && <><dt>Provider profile</dt><dd><a href={href(`/providers/${user.provider_id}`)}>Open the provider profile</a></dd></>}
      </dl>
      <p>
        <a href={href("/audit", { target_id: user.id })}>Audit entries about this user</a>
        {user.role === "admin" && <> · <a href={href("/audit", { actor_id: user.id })}>Actions by this admin</a></>}
      </p>
      {user.id !== me.id && user.status === "active" && (
        <form onSubmit={suspend} aria-labelledby="suspend-heading">
          <h2 id="suspend-heading">Suspend this account</h2>
          <label>
            Reason (told to the user)
            <textarea name="reason" minLength={3} maxLength={500} required />
          </label>
          <button type="submit" class="secondary" aria-busy={busy} disabled={busy}>Suspend</button>
        </form>
      )}
      {user.status === "suspended" && <button type="button" onClick={unsuspend} aria-busy={busy} disabled={busy}>Lift the suspension</button>}
    </>
  );
}
