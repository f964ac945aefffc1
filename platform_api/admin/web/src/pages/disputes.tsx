// The disputes queue: filter by state, category and age; oldest first by default; paged by cursor.
import { useState } from "preact/hooks";
import { CATEGORY_LABELS, type Dispute, type Schemas, type DisputeCategory, type DisputeState, STATE_LABELS, api, formatWhen } from "../api";
import { go, href } from "../router";
import { DeadlineBadge, ErrorNote, Heading, Loading, Pager, usePage } from "../ui";

const AGES: Record<string, string> = { "": "Any age", "1": "Older than 1 day", "3": "Older than 3 days", "7": "Older than 7 days", "14": "Older than 14 days" };

export function DisputesPage({ query, me }: { query: URLSearchParams; me: Schemas["UserOut"] }) {
  const state = (query.get("state") ?? "") as DisputeState | "";
  const category = (query.get("category") ?? "") as DisputeCategory | "";
  const age = query.get("age") ?? "";
  const sort = query.get("sort") === "newest" ? "newest" : "oldest";
  const cursor = query.get("cursor");
  const [now] = useState(Date.now);
  const { items, next, error } = usePage<Dispute>(() => {
    const opened_before = age ? new Date(now - Number(age) * 24 * 3600 * 1000).toISOString() : undefined;
    return api.GET("/api/v1/admin/disputes", {
      params: { query: { state: state || undefined, category: category || undefined, opened_before, sort, cursor: cursor ?? undefined, limit: 25 } },
    });
  });

  const filters = { state, category, age, sort };
  const apply = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    go("/disputes", { state: String(form.get("state")), category: String(form.get("category")), age: String(form.get("age")), sort: String(form.get("sort")) });
  };

  return (
    <>
      <Heading>Disputes</Heading>
      <form class="filters" onSubmit={apply} aria-label="Filter disputes">
        <label>
          State
          <select name="state" value={state}>
            <option value="">Any state</option>
            {Object.entries(STATE_LABELS).map(([value, label]) => <option value={value}>{label}</option>)}
          </select>
        </label>
        <label>
          Category
          <select name="category" value={category}>
            <option value="">Any category</option>
            {Object.entries(CATEGORY_LABELS).map(([value, label]) => <option value={value}>{label}</option>)}
          </select>
        </label>
        <label>
          Age
          <select name="age" value={age}>
            {Object.entries(AGES).map(([value, label]) => <option value={value}>{label}</option>)}
          </select>
        </label>
        <label>
          Order
          <select name="sort" value={sort}>
            <option value="oldest">Oldest first</option>
            <option value="newest">Newest first</option>
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNote message={error} />
      {items === null && !error && <Loading />}
      {items && items.length === 0 && <p>No disputes match.</p>}
      {items && items.length > 0 && (
        <div class="overflow-auto">
          <table class="striped">
            <caption class="visually-hidden">Disputes, {sort} first</caption>
            <thead>
              <tr><th scope="col">Opened</th><th scope="col">Category</th><th scope="col">Complaint</th><th scope="col">State</th><th scope="col">Deadline</th><th scope="col">Assigned</th></tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr>
                  <td><a href={href(`/disputes/${d.id}`)}>{formatWhen(d.opened_at)}</a></td>
                  <td>{CATEGORY_LABELS[d.category]}</td>
                  <td>{d.statement.length > 90 ? `${d.statement.slice(0, 90)}…` : d.statement}</td>
                  <td>{STATE_LABELS[d.state]}</td>
                  <td>{d.state === "resolved" ? "—" : <>{formatWhen(d.respond_by)} <DeadlineBadge respondBy={d.respond_by} now={now} /></>}</td>
                  <td>{d.assigned_admin_id ? (d.assigned_admin_id === me.id ? "You" : "Another admin") : "Nobody"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager path="/disputes" filters={filters} param="cursor" current={cursor} next={next} />
    </>
  );
}
