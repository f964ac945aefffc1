// Small shared pieces: the page heading (focused on each page change, for keyboard and screen-reader users),
// status messages, the deadline badge, one page of a list and its pager, the guard against double submits.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { HOUR, failure, formatWhen } from "./api";
import { href } from "./router";

export function Heading({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

export function ErrorNote({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" class="note error">
      {message}
    </p>
  );
}

export function Done({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="status" class="note done">
      {message}
    </p>
  );
}

/** Past or within a day of the response deadline, for disputes still taking evidence. */
export function DeadlineBadge({ respondBy, now }: { respondBy: string | null; now: number }) {
  if (!respondBy) return null;
  const left = new Date(respondBy).getTime() - now;
  if (left < 0) return <span class="badge overdue" title={`Deadline was ${formatWhen(respondBy)}`}>Overdue</span>;
  if (left < 24 * HOUR) return <span class="badge soon" title={`Deadline ${formatWhen(respondBy)}`}>Due within 24 h</span>;
  return null;
}

export function Loading() {
  return <p aria-busy="true">Loading…</p>;
}

/** `[busy, once]`: `once(action)` runs the action unless one is still running (a second Enter or click while
 * the first is in flight does nothing), with `busy` true meanwhile. */
export function useOnce(): [boolean, (action: () => Promise<unknown>) => Promise<void>] {
  const running = useRef(false);
  const [busy, setBusy] = useState(false);
  const once = async (action: () => Promise<unknown>) => {
    if (running.current) return;
    running.current = true;
    setBusy(true);
    try {
      await action();
    } finally {
      running.current = false;
      setBusy(false);
    }
  };
  return [busy, once];
}

/** What openapi-fetch answers: the body, or the typed error and the response. */
type Answer<T> = { data?: T; error?: unknown; response: Response };

/** One page of a list, read once when the page mounts: its items (null until read), the next page's cursor,
 * or the failure in words. */
export function usePage<T>(read: () => Promise<Answer<{ items: T[]; next_cursor: string | null }>>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void (async () => {
      const { data, error: failed, response } = await read();
      if (!data) return setError(failure(failed, response));
      setItems(data.items);
      setNext(data.next_cursor);
    })();
  }, []);
  return { items, next, error };
}

/** Links to a list's first page (when not on it) and its next one; `param` names the cursor in the URL. */
export function Pager({ path, filters, param, current, next }: {
  path: string; filters: Record<string, string>; param: string; current: string | null; next: string | null;
}) {
  return (
    <nav aria-label="Pages" class="pager">
      {current && <a href={href(path, filters)}>First page</a>}
      {next && <a href={href(path, { ...filters, [param]: next })}>Next page</a>}
    </nav>
  );
}

/** A one-item page before its item is read: loading, or its title and why it could not be read. */
export function NotLoaded({ title, error }: { title: string; error: string | null }) {
  return error ? <><Heading>{title}</Heading><ErrorNote message={error} /></> : <Loading />;
}
