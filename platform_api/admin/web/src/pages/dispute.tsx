// One dispute: the booking it is about, the full timeline (steps and evidence in order, images inline, PDFs in
// a viewer), and the actions: assign to me, ask one party for information, resolve.
import { useEffect, useState } from "preact/hooks";
import {
  CATEGORY_LABELS, type DisputeOutcome, HOUR, type Money, OUTCOME_LABELS, STATE_LABELS, type Schemas,
  api, failure, formatMoney, formatWhen, minorDigits, parseMoney,
} from "../api";
import { href } from "../router";
import { DeadlineBadge, Done, ErrorNote, Heading, NotLoaded, useOnce } from "../ui";

type View = Schemas["AdminDisputeView"];
type Item = Schemas["TimelineItem"];
type Me = Schemas["UserOut"];
type Payment = Schemas["PaymentOut"];

// Stripe's PaymentIntent statuses, as an admin reads them.
const PAYMENT_LABELS: Record<Payment["status"], string> = {
  requires_payment_method: "Not paid yet",
  requires_confirmation: "Not paid yet",
  requires_action: "Waiting for the customer's bank",
  processing: "Processing",
  requires_capture: "Authorised, not captured",
  succeeded: "Captured",
  canceled: "Released",
};

const STEP_LABELS: Record<string, string> = {
  open: "Dispute opened",
  assign: "Assigned to an admin",
  request_info: "Information requested",
  close_evidence: "Evidence closed",
  resolve: "Resolved",
};

export function DisputePage({ id, me }: { id: string; me: Me }) {
  const [view, setView] = useState<View | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const load = async (): Promise<View | null> => {
    const { data, error: failed, response } = await api.GET("/api/v1/admin/disputes/{dispute_id}", { params: { path: { dispute_id: id } } });
    if (!data) {
      setError(failure(failed, response));
      return null;
    }
    setView(data);
    return data;
  };
  useEffect(() => void load(), []);

  const acted = async (message: string) => {
    setDone(message);
    setError(null);
    await load();
  };

  if (!view) return <NotLoaded title="Dispute" error={error} />;
  const { dispute, booking } = view;
  const open = dispute.state !== "resolved";
  return (
    <>
      <Heading>
        Dispute: {CATEGORY_LABELS[dispute.category]} <span class={`badge state-${dispute.state}`}>{STATE_LABELS[dispute.state]}</span>
      </Heading>
      <Done message={done} />
      <ErrorNote message={error} />
      <section aria-labelledby="booking-heading">
        <h2 id="booking-heading">The booking</h2>
        <dl class="facts">
          <dt>Job</dt><dd>{booking.description}</dd>
          <dt>Agreed price</dt><dd>{booking.agreed_price ? formatMoney(booking.agreed_price.amount_minor, booking.agreed_price.currency) : "No agreed price"}</dd>
          <dt>Booking state</dt><dd>{booking.state}</dd>
          <dt>Customer</dt><dd><a href={href(`/users/${booking.customer.id}`)}>{booking.customer.display_name}</a> ({booking.customer.email})</dd>
          <dt>Provider</dt><dd><a href={href(`/providers/${booking.provider.id}`)}>{booking.provider.business_name}</a></dd>
          <dt>Opened</dt><dd>{formatWhen(dispute.opened_at)}</dd>
          <dt>Evidence from</dt><dd>{dispute.evidence_from ?? "closed"}{dispute.respond_by && <> until {formatWhen(dispute.respond_by)} <DeadlineBadge respondBy={dispute.respond_by} now={Date.now()} /></>}</dd>
          <dt>Assigned</dt><dd>{dispute.assigned_admin_id ? (dispute.assigned_admin_id === me.id ? "To you" : <a href={href(`/users/${dispute.assigned_admin_id}`)}>Another admin</a>) : "Nobody"}</dd>
          {dispute.outcome && <><dt>Outcome</dt><dd>{OUTCOME_LABELS[dispute.outcome]}{dispute.refund && <>, refund {formatMoney(dispute.refund.amount_minor, dispute.refund.currency)}</>}</dd></>}
          {dispute.resolution_note && <><dt>Decision note</dt><dd>{dispute.resolution_note}</dd></>}
        </dl>
        <p><a href={href("/audit", { target_id: dispute.id })}>Audit entries for this dispute</a></p>
      </section>
      {view.payment ? <PaymentFacts payment={view.payment} /> : null}
      {open && (
        <section aria-labelledby="actions-heading">
          <h2 id="actions-heading">Actions</h2>
          {dispute.assigned_admin_id !== me.id && <Assign id={id} onDone={acted} onError={setError} />}
          <RequestInfo id={id} onDone={acted} onError={setError} />
          <Resolve id={id} price={booking.agreed_price ?? null} onDone={acted} onError={setError} />
        </section>
      )}
      <section aria-labelledby="timeline-heading">
        <h2 id="timeline-heading">Timeline</h2>
        <p><strong>Customer's statement:</strong> {dispute.statement}</p>
        <ol class="timeline">
          {view.items.map((item) => <TimelineEntry item={item} refresh={load} />)}
        </ol>
      </section>
    </>
  );
}

// What the customer paid by card, as Stripe's webhooks last reported it: a refund shows once Stripe confirms it.
function PaymentFacts({ payment }: { payment: Payment }) {
  const money = (amount: number) => formatMoney(amount, payment.currency);
  const pending = payment.refunds.filter((r) => r.status !== "succeeded").length;
  return (
    <section aria-labelledby="payment-heading">
      <h2 id="payment-heading">What was paid</h2>
      <dl class="facts">
        <dt>Card payment</dt><dd>{PAYMENT_LABELS[payment.status]}</dd>
        <dt>Captured</dt><dd>{money(payment.amount_received)} of {money(payment.amount)}</dd>
        <dt>Platform fee</dt><dd>{money(payment.application_fee_amount)}</dd>
        <dt>Refunded</dt><dd>{money(payment.amount_refunded)}{pending > 0 && ` (${pending} pending at Stripe)`}</dd>
        <dt>Stripe payment</dt><dd><code>{payment.stripe_payment_intent_id}</code></dd>
      </dl>
    </section>
  );
}

function who(item: Item): string {
  return item.actor_role === "system" ? "The platform" : item.actor_role.charAt(0).toUpperCase() + item.actor_role.slice(1);
}

type Refresh = () => Promise<View | null>;

function TimelineEntry({ item, refresh }: { item: Item; refresh: Refresh }) {
  if (item.kind === "step") {
    return (
      <li>
        <article class="step">
          <header><time dateTime={item.at}>{formatWhen(item.at)}</time> · {who(item)}</header>
          <p>
            <strong>{STEP_LABELS[item.event ?? ""] ?? item.event}</strong>
            {item.from_state && item.to_state && <> ({STATE_LABELS[item.from_state]} → {STATE_LABELS[item.to_state]})</>}
            {item.party && <> — asked of the {item.party}</>}
          </p>
          {item.note && <p>{item.note}</p>}
        </article>
      </li>
    );
  }
  const evidence = item.evidence!;
  return (
    <li>
      <article class="evidence">
        <header><time dateTime={item.at}>{formatWhen(item.at)}</time> · Evidence from the {evidence.author_role}{evidence.corrects && " (a correction)"}</header>
        {evidence.text && <blockquote>{evidence.text}</blockquote>}
        {evidence.media && <Media evidence={evidence} refresh={refresh} />}
      </article>
    </li>
  );
}

/** Whether a presigned link (SigV4: X-Amz-Date + X-Amz-Expires) has expired, or will within `margin` seconds. */
function expired(url: string, margin = 20): boolean {
  const query = new URL(url).searchParams;
  const signed = query.get("X-Amz-Date"); // 20261201T103000Z
  const lifetime = Number(query.get("X-Amz-Expires"));
  if (!signed || !lifetime) return false;
  const at = Date.UTC(+signed.slice(0, 4), +signed.slice(4, 6) - 1, +signed.slice(6, 8), +signed.slice(9, 11), +signed.slice(11, 13), +signed.slice(13, 15));
  return Date.now() > at + (lifetime - margin) * 1000;
}

/** An evidence file: images inline, PDFs in the browser's viewer, a download link. Links are short-lived: one
 * that has expired is renewed (the view is read again) before it is used, and an image that fails to load
 * is tried once more with a renewed link. */
function Media({ evidence, refresh }: { evidence: Schemas["EvidenceOut"]; refresh: Refresh }) {
  const [showPdf, setShowPdf] = useState(false);
  const [retried, setRetried] = useState<string | null>(null);
  const media = evidence.media!;
  const name = media.filename ?? "file";
  const type = media.content_type ?? "";
  const shown = ["image/jpeg", "image/png", "image/webp"].includes(type);
  const renewed = async (pick: (e: Schemas["EvidenceOut"]) => string | null | undefined): Promise<string | null> => {
    const view = await refresh();
    const again = view?.items.find((i) => i.evidence?.id === evidence.id)?.evidence;
    return again ? pick(again) ?? null : null;
  };
  const openPdf = async () => {
    if (!showPdf && evidence.view_url && expired(evidence.view_url)) await refresh();
    setShowPdf(!showPdf);
  };
  const download = async (event: MouseEvent) => {
    if (!evidence.download_url || !expired(evidence.download_url)) return;
    event.preventDefault();
    const url = await renewed((e) => e.download_url);
    if (url) window.location.assign(url);
  };
  const imageFailed = () => {
    if (retried === evidence.view_url) return; // renewed once already: leave the broken image
    setRetried(evidence.view_url ?? null);
    void refresh();
  };
  return (
    <>
      {shown && evidence.view_url && (
        <figure>
          <img src={evidence.view_url} alt={`Photo from the ${evidence.author_role}: ${name}`} loading="lazy" onError={imageFailed} />
          <figcaption>{name}</figcaption>
        </figure>
      )}
      {type === "application/pdf" && evidence.view_url && (
        <>
          <button type="button" class="outline" aria-expanded={showPdf} onClick={openPdf}>
            {showPdf ? "Hide" : "View"} PDF: {name}
          </button>
          {showPdf && <iframe class="pdf" src={evidence.view_url} title={`PDF from the ${evidence.author_role}: ${name}`} />}
        </>
      )}
      {evidence.download_url && <p><a href={evidence.download_url} rel="noreferrer" onClick={download}>Download {name}</a>{media.size ? ` (${Math.ceil(media.size / 1024)} KB)` : ""}</p>}
    </>
  );
}

interface ActionProps {
  id: string;
  onDone: (message: string) => Promise<void>;
  onError: (message: string | null) => void;
}

function Assign({ id, onDone, onError }: ActionProps) {
  const [busy, once] = useOnce();
  const assign = () => once(async () => {
    const { data, error, response } = await api.POST("/api/v1/admin/disputes/{dispute_id}/assign", { params: { path: { dispute_id: id } } });
    if (!data) return onError(failure(error, response));
    await onDone("The dispute is assigned to you.");
  });
  return <p><button type="button" onClick={assign} aria-busy={busy} disabled={busy}>Assign to me</button></p>;
}

function RequestInfo({ id, onDone, onError }: ActionProps) {
  const [busy, once] = useOnce();
  const submit = (event: Event) => {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    return once(async () => {
      const { data, error, response } = await api.POST("/api/v1/admin/disputes/{dispute_id}/request-info", {
        params: { path: { dispute_id: id } },
        body: { party: form.get("party") === "provider" ? "provider" : "customer", question: String(form.get("question")) },
      });
      if (!data) return onError(failure(error, response));
      formElement.reset();
      await onDone(`Asked the ${data.evidence_from}; they have until ${formatWhen(data.respond_by)} to add evidence.`);
    });
  };
  return (
    <details>
      <summary>Request information from one party</summary>
      <form onSubmit={submit}>
        <fieldset>
          <legend>Ask</legend>
          <label><input type="radio" name="party" value="customer" required /> The customer</label>
          <label><input type="radio" name="party" value="provider" /> The provider</label>
        </fieldset>
        <label>
          Question
          <textarea name="question" minLength={5} maxLength={2000} required />
        </label>
        <p class="hint">They will have 72 hours, until {formatWhen(new Date(Date.now() + 72 * HOUR).toISOString())}, to add evidence.</p>
        <button type="submit" aria-busy={busy} disabled={busy}>Send the request</button>
      </form>
    </details>
  );
}

/** The refund a decision makes, checked against the agreed price (the API's rule: a full refund is the price,
 * a partial one more than 0 and less than it); a message when it does not hold. */
export function checkRefund(outcome: DisputeOutcome, kind: string, amountText: string, price: Money | null):
  { refund: Schemas["RefundIn"] | null } | { problem: string } {
  if (outcome === "provider_favoured") return { refund: null };
  if (!price) return { problem: "The booking has no agreed price, so nothing can be refunded." };
  // The API refunds the whole agreed price for `full` (even a price of 0), so no amount is sent with it.
  if (outcome === "customer_favoured" && kind === "full") return { refund: { kind: "full" } };
  const amount = parseMoney(amountText, price.currency);
  const most = formatMoney(price.amount_minor, price.currency);
  if (amount === null) {
    const digits = minorDigits(price.currency);
    const example = digits ? `12.${"5".padEnd(digits, "0")}` : "1250";
    return { problem: `Enter the refund in ${price.currency} as digits${digits ? " and a point" : ""}, e.g. ${example} (no commas).` };
  }
  if (amount <= 0 || amount >= price.amount_minor) return { problem: `A partial refund must be more than 0 and less than the agreed price, ${most}.` };
  return { refund: { kind: "partial", amount_minor: amount } };
}

function Resolve({ id, price, onDone, onError }: ActionProps & { price: Money | null }) {
  const [outcome, setOutcome] = useState<DisputeOutcome>("customer_favoured");
  const [kind, setKind] = useState("full");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, once] = useOnce();
  const partialOnly = outcome === "split";
  const refunds = outcome !== "provider_favoured";

  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    return once(async () => {
      const checked = checkRefund(outcome, partialOnly ? "partial" : kind, String(form.get("amount") ?? ""), price);
      if ("problem" in checked) return setProblem(checked.problem);
      setProblem(null);
      const { data, error, response } = await api.POST("/api/v1/admin/disputes/{dispute_id}/resolve", {
        params: { path: { dispute_id: id } },
        body: { outcome, refund: checked.refund, note: String(form.get("note")) },
      });
      if (!data) return onError(failure(error, response));
      const refund = data.refund ? ` with a refund of ${formatMoney(data.refund.amount_minor, data.refund.currency)}` : " with no refund";
      await onDone(`The dispute is resolved${refund}; both parties are notified.`);
    });
  };

  return (
    <details>
      <summary>Resolve the dispute</summary>
      <form onSubmit={submit} noValidate={false}>
        <fieldset>
          <legend>Decision</legend>
          {(Object.keys(OUTCOME_LABELS) as DisputeOutcome[]).map((value) => (
            <label><input type="radio" name="outcome" value={value} checked={outcome === value} onChange={() => setOutcome(value)} /> {OUTCOME_LABELS[value]}</label>
          ))}
        </fieldset>
        {refunds && !partialOnly && (
          <fieldset>
            <legend>Refund</legend>
            <label><input type="radio" name="kind" value="full" checked={kind === "full"} onChange={() => setKind("full")} /> Full{price && <> ({formatMoney(price.amount_minor, price.currency)})</>}</label>
            <label><input type="radio" name="kind" value="partial" checked={kind === "partial"} onChange={() => setKind("partial")} /> Partial</label>
          </fieldset>
        )}
        {refunds && (partialOnly || kind === "partial") && (
          <label>
            Refund amount{price && <> in {price.currency} (less than {formatMoney(price.amount_minor, price.currency)})</>}
            <input name="amount" inputMode="decimal" autocomplete="off" required aria-invalid={problem ? true : undefined} aria-describedby={problem ? "refund-problem" : undefined} />
          </label>
        )}
        {problem && <p id="refund-problem" role="alert" class="note error">{problem}</p>}
        <label>
          Note to both parties
          <textarea name="note" minLength={5} maxLength={4000} required />
        </label>
        <button type="submit" aria-busy={busy} disabled={busy}>Resolve</button>
      </form>
    </details>
  );
}
