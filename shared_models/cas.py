"""Transitional: `replace_if` lives in `shared_models.store` now. This name stays only for the modules being
split while the store landed (platform_api/billing/webhook.py, platform_api/disputes/service.py); delete it
once they import the store (tests/test_store.py refuses any other importer)."""

from shared_models.store import replace_if

__all__ = ["replace_if"]
