// The typed API client (openapi-fetch on the types openapi-typescript generates from the platform's OpenAPI
// document at build time), the session's CSRF token, and the words the console uses for API values.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "../build/api";

export type Schemas = components["schemas"];
export type User = Schemas["AdminUserOut"];
export type Dispute = Schemas["DisputeOut"];
export type DisputeState = Schemas["DisputeState"];
export type DisputeCategory = Schemas["DisputeCategory"];
export type DisputeOutcome = Schemas["DisputeOutcome"];
export type Role = Schemas["Role"];
export type UserStatus = Schemas["UserStatus"];
export type Money = Schemas["Money"];
export type ErrorBody = Schemas["ErrorBody"];

// The header the platform expects on cookie-authenticated writes (Settings.csrf_header_name's default).
const CSRF_HEADER = "X-CSRF-Token";
let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (csrfToken && !["GET", "HEAD", "OPTIONS"].includes(request.method)) request.headers.set(CSRF_HEADER, csrfToken);
    return request;
  },
};

// Same origin: the session cookie goes with every call.
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: "same-origin" });
api.use(csrf);

/** A failed call in words: the API's typed error message, with its code and field for the record. */
export function failure(error: unknown, response?: Response): string {
  const detail = (error as ErrorBody | undefined)?.error;
  if (detail?.message) {
    const field = detail.field ? `; field: ${detail.field}` : "";
    return `${detail.message} (${detail.code}${field})`;
  }
  return response ? `The server answered ${response.status} ${response.statusText}.` : "The server could not be reached.";
}

export const STATE_LABELS: Record<DisputeState, string> = {
  open: "Open",
  awaiting_info: "Awaiting information",
  under_review: "Under review",
  resolved: "Resolved",
};

export const CATEGORY_LABELS: Record<DisputeCategory, string> = {
  not_performed: "Not performed",
  poor_quality: "Poor quality",
  damage: "Damage",
  overcharged: "Overcharged",
  no_show: "No-show",
  unprofessional: "Unprofessional",
  other: "Other",
};

export const OUTCOME_LABELS: Record<DisputeOutcome, string> = {
  customer_favoured: "In the customer's favour (full or partial refund)",
  split: "Split (partial refund)",
  provider_favoured: "In the provider's favour (no refund)",
};

export const ROLE_LABELS: Record<Role, string> = { customer: "Customer", provider: "Provider", admin: "Admin" };

export const STATUS_LABELS: Record<UserStatus, string> = { active: "Active", suspended: "Suspended", deleted: "Deleted" };

/** Digits after the decimal point of a currency's minor unit (2 for GBP, 0 for JPY), per Intl (ISO 4217). */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

export function formatMoney(amountMinor: number, currency: string): string {
  const digits = minorDigits(currency);
  return new Intl.NumberFormat("en-GB", { style: "currency", currency }).format(amountMinor / 10 ** digits);
}

/** "12.50" in a currency → 1250 minor units; null when it is not a plain non-negative amount with a point
 * before at most the currency's minor digits (a comma is refused: "12,50" and "1,250" read differently in
 * different countries). */
export function parseMoney(text: string, currency: string): number | null {
  const digits = minorDigits(currency);
  const pattern = digits ? new RegExp(`^[0-9]+(\\.[0-9]{1,${digits}})?$`) : /^[0-9]+$/;
  const plain = text.trim();
  if (!pattern.test(plain)) return null;
  const [whole, fraction = ""] = plain.split(".");
  return Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
}

export function formatWhen(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

export const HOUR = 3600 * 1000;
