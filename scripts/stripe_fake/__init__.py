"""The local Stripe stand-in: `python -m scripts.stripe_fake --port 12111` (see app.py)."""
