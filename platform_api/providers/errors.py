"""Failures of provider profiles."""

from platform_api.errors import Conflict, NotFound, Unprocessable


class ProviderNotFound(NotFound):
    code = "provider_not_found"
    message = "No such provider."


class UnknownProvider(Unprocessable):
    """The same failure named in a request body (`provider_id`) rather than the path: answered 422."""

    variant_of = ProviderNotFound
    code = ProviderNotFound.code
    message = ProviderNotFound.message


class ProfileNotFound(NotFound):
    code = "profile_not_found"
    message = "This provider has no profile."


class EditWithoutProfile(Conflict):
    """An edit of the caller's own profile when there is none: answered 409 (the account's state)."""

    variant_of = ProfileNotFound
    code = ProfileNotFound.code
    message = ProfileNotFound.message


class ProfileExists(Conflict):
    code = "profile_exists"
    message = "This provider already has a profile."


class SlugUnavailable(Conflict):
    code = "slug_unavailable"
    message = "Could not allocate a unique profile address; retry."


class TierLimit(Unprocessable):
    """An edit beyond what the subscription tier allows (categories, service radius)."""

    code = "tier_limit"
    message = "The subscription tier does not allow this."
