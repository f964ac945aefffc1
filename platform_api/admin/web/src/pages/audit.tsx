// The audit log of admin actions, newest first, by actor or by target, each entry linking to what it names.
import { type Schemas, api, formatWhen } from "../api";
import { go, href } from "../router";
import { ErrorNote, Heading, Loading, Pager, usePage } from "../ui";

type Entry = Schemas["AuditOut"];

const TARGET_PAGES: Record<string, string> = { user: "/users", provider: "/providers", dispute: "/disputes" };

function Target({ entry }: { entry: Entry }) {
  const page = TARGET_PAGES[entry.target_type];
  const label = `${entry.target_type} ${entry.target_id}`;
  return page ? <a href={href(`${page}/${entry.target_id}`)}>{label}</a> : <>{label}</>;
}

function change(entry: Entry): string {
  const after = entry.after ?? {};
  const before = entry.before ?? {};
  const keys = Object.keys(after).filter((key) => JSON.stringify(after[key]) !== JSON.stringify(before[key]));
  return keys.map((key) => `${key}: ${JSON.stringify(before[key] ?? null)} → ${JSON.stringify(after[key])}`).join("; ");
}

export function AuditPage({ query }: { query: URLSearchParams }) {
  const actor = query.get("actor_id") ?? "";
  const target = query.get("target_id") ?? "";
  const cursor = query.get("cursor");
  const { items, next, error } = usePage<Entry>(() =>
    api.GET("/api/v1/admin/audit", {
      params: { query: { actor_id: actor || undefined, target_id: target || undefined, cursor: cursor ?? undefined, limit: 50 } },
    }),
  );

  const filter = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    go("/audit", { actor_id: String(form.get("actor_id")).trim(), target_id: String(form.get("target_id")).trim() });
  };
  const filters = { actor_id: actor, target_id: target };
  return (
    <>
      <Heading>Audit log</Heading>
      {/* Uncontrolled, remade when the filter changes (see the users page). */}
      <form key={`${actor}|${target}`} class="filters" aria-label="Filter the audit log" onSubmit={filter}>
        <label>
          By admin (user id)
          <input name="actor_id" defaultValue={actor} autocomplete="off" />
        </label>
        <label>
          About (target id)
          <input name="target_id" defaultValue={target} autocomplete="off" />
        </label>
        <button type="submit">Filter</button>
      </form>
      <p class="hint">Filter by one of the two at a time.</p>
      <ErrorNote message={error} />
      {items === null && !error && <Loading />}
      {items && items.length === 0 && <p>No entries.</p>}
      {items && items.length > 0 && (
        <div class="overflow-auto">
          <table class="striped">
            <caption class="visually-hidden">Audit entries, newest first</caption>
            <thead><tr><th scope="col">When</th><th scope="col">Admin</th><th scope="col">Action</th><th scope="col">About</th><th scope="col">Change</th></tr></thead>
            <tbody>
              {items.map((entry) => (
                <tr>
                  <td><time dateTime={entry.at}>{formatWhen(entry.at)}</time></td>
                  <td><a href={href(`/users/${entry.actor_id}`)}>{entry.actor_id}</a></td>
                  <td>{entry.action}</td>
                  <td><Target entry={entry} /></td>
                  <td class="change">{change(entry)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager path="/audit" filters={filters} param="cursor" current={cursor} next={next} />
    </>
  );
}
