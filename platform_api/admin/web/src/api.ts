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

// A call that never reached the API (network down, server gone) answers like the API's own typed errors, so
// every page shows it in words and gets its buttons back: the action may or may not have happened.
const unreachable: Middleware = {
  onError({ request }) {
    const reading = ["GET", "HEAD"].includes(request.method);
    const body: ErrorBody = {
      error: {
        code: "unreachable",
        message: reading
          ? "The server could not be reached. Check the connection, then reload the page."
          : "The server could not be reached, so it is not known whether that was done. Check the connection, then reload the page to see the current state.",
      },
    };
    return new Response(JSON.stringify(body), { status: 503, headers: { "Content-Type": "application/json" } });
  },
};

// Same origin: the session cookie goes with every call.
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: "same-origin" });
api.use(csrf, unreachable);

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

// ISO 4217's minor units where they are not 2 (the API counts `amount_minor` in these units). Not Intl's
// digits: browsers format some currencies (HUF, COP, IDR, IQD, …) with fewer digits than their minor unit.
const ISO_4217_DIGITS: Record<string, number> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0, VND: 0,
  VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/** Digits after the decimal point of a currency's minor unit (ISO 4217: 2 for GBP, 0 for JPY, 3 for BHD). */
export function minorDigits(currency: string): number {
  return ISO_4217_DIGITS[currency] ?? 2;
}

export function formatMoney(amountMinor: number, currency: string): string {
  const digits = minorDigits(currency);
  const shown = { minimumFractionDigits: digits, maximumFractionDigits: digits };
  try {
    return new Intl.NumberFormat("en-GB", { style: "currency", currency, ...shown }).format(amountMinor / 10 ** digits);
  } catch {
    // A code Intl does not know: the number and the code.
    return `${currency} ${new Intl.NumberFormat("en-GB", shown).format(amountMinor / 10 ** digits)}`;
  }
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
