"""Failures of signing up, logging in and account links (a session's own refusals are
`shared_models.services.sessions`')."""

from platform_api.errors import BadRequest, Conflict, Unauthorized, Unprocessable


class ConsentRequired(Unprocessable):
    code = "consent_required"
    message = "Accept the current terms and privacy policy to sign up."


class EmailTaken(Conflict):
    code = "email_taken"
    message = "An account with this email already exists."


class InvalidCredentials(Unauthorized):
    """The same for an unknown email and a wrong password."""

    code = "invalid_credentials"
    message = "Email or password is incorrect."


class AccountDeleted(Conflict):
    code = "account_deleted"
    message = "This account was deleted."


class LinkInvalid(BadRequest):
    """A verification or password-reset link that is unknown, used or expired."""

    code = "link_invalid"
    message = "This link is not valid any more; ask for a new one."
