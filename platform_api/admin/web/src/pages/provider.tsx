// A provider: profile, owner, subscription (read-only: only Stripe's webhook changes it), verify / unverify.
import { useEffect, useState } from "preact/hooks";
import { type Schemas, api, failure, formatMoney, formatWhen } from "../api";
import { href } from "../router";
import { Done, ErrorNote, Heading, NotLoaded, useOnce } from "../ui";

type Provider = Schemas["AdminProviderOut"];

export function ProviderPage({ id }: { id: string }) {
  const [provider, setProvider] = useState<Provider | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, once] = useOnce();

  const load = async () => {
    const { data, error: failed, response } = await api.GET("/api/v1/admin/providers/{provider_id}", { params: { path: { provider_id: id } } });
    if (!data) return setError(failure(failed, response));
    setProvider(data);
  };
  useEffect(() => void load(), []);

  const setVerified = (verified: boolean) => once(async () => {
    const path = verified ? "/api/v1/admin/providers/{provider_id}/verify" : "/api/v1/admin/providers/{provider_id}/unverify";
    const { data, error: failed, response } = await api.POST(path, { params: { path: { provider_id: id } } });
    if (!data) return setError(failure(failed, response));
    setError(null);
    setDone(verified ? "The provider is verified." : "The provider's verification is withdrawn.");
    await load();
  });

  if (!provider) return <NotLoaded title="Provider" error={error} />;
  const { profile, owner, subscription } = provider;
  const area = profile.service_area;
  return (
    <>
      <Heading>{profile.business_name}</Heading>
      <Done message={done} />
      <ErrorNote message={error} />
      <section aria-labelledby="profile-heading">
        <h2 id="profile-heading">Profile</h2>
        <dl class="facts">
          <dt>Owner</dt><dd><a href={href(`/users/${owner.id}`)}>{owner.display_name}</a> ({owner.email}, {owner.status})</dd>
          <dt>Categories</dt><dd>{profile.categories.join(", ")}</dd>
          <dt>Description</dt><dd>{profile.description || "—"}</dd>
          <dt>Service area</dt><dd>{area ? `${area.radius_km} km around ${area.lat.toFixed(4)}, ${area.lng.toFixed(4)}` : "—"}</dd>
          <dt>Prices from</dt><dd>{profile.price_from ? formatMoney(profile.price_from.amount_minor, profile.price_from.currency) : "—"}</dd>
          <dt>Rating</dt><dd>{profile.rating.count ? `${profile.rating.mean?.toFixed(2)} from ${profile.rating.count} reviews` : "No reviews yet"}</dd>
          <dt>Verified</dt><dd>{provider.verified_at ? `Yes, since ${formatWhen(provider.verified_at)}` : "No"}</dd>
        </dl>
        {profile.verified
          ? <button type="button" class="secondary" onClick={() => setVerified(false)} aria-busy={busy} disabled={busy}>Withdraw verification</button>
          : <button type="button" onClick={() => setVerified(true)} aria-busy={busy} disabled={busy}>Mark as verified</button>}
        <p><a href={href("/audit", { target_id: profile.id })}>Audit entries about this provider</a></p>
      </section>
      <section aria-labelledby="subscription-heading">
        <h2 id="subscription-heading">Subscription</h2>
        <p class="hint">Read-only: it changes only when Stripe says so.</p>
        <dl class="facts">
          <dt>Status</dt><dd>{subscription.status}</dd>
          <dt>Tier</dt><dd>{subscription.tier ?? "—"}</dd>
          <dt>Current period ends</dt><dd>{formatWhen(subscription.current_period_end)}{subscription.cancel_at_period_end && " (cancels then)"}</dd>
          <dt>Takes requests and appears in search</dt><dd>{subscription.accepts_requests ? "Yes" : "No"}</dd>
          <dt>Last confirmed by Stripe</dt><dd>{formatWhen(subscription.updated_at)}</dd>
        </dl>
      </section>
    </>
  );
}
