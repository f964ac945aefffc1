// Small shared pieces: the page heading (focused on each page change, for keyboard and screen-reader users),
// status messages, and the deadline badge.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { HOUR, formatWhen } from "./api";

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
