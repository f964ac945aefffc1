"""Entitlements: what a provider's plan lets them do — the tiers and their entitlements table (`tiers`), the
read-only view of the subscription billing's webhook wrote (`subscriptions`: the standing search and
bookings read), and the guards built on it (`guards`). Billing writes subscription state; every other domain
reads it here, so none depends on billing (Stripe draws the same line between Billing and Entitlements)."""
