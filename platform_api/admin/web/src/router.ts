// Pages are addressed by the URL fragment: #/disputes?state=open, #/disputes/<id>, #/users/<id>, …
import { useEffect, useState } from "preact/hooks";

export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function current(): Route {
  const [path, search = ""] = window.location.hash.replace(/^#/, "").split("?");
  return { parts: path.split("/").filter(Boolean), query: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const changed = () => setRoute(current());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

/** The fragment link of a page, with its query (empty values left out). */
export function href(path: string, query: Record<string, string | null | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
  const search = params.toString();
  return `#${path}${search ? `?${search}` : ""}`;
}

export function go(path: string, query: Record<string, string | null | undefined> = {}): void {
  window.location.hash = href(path, query);
}
