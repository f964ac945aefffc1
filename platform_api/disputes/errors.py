"""Failures of disputes (an illegal transition, a lost compare-and-set and a step not due yet are shared by
the state machines: `platform_api.errors`; an evidence file that cannot be attached is
`shared_models.services.media.NotAttachable`)."""

from platform_api.errors import Conflict, NotFound, Unprocessable


class DisputeNotFound(NotFound):
    code = "dispute_not_found"
    message = "No such dispute."


class EvidenceClosed(Conflict):
    code = "evidence_closed"
    message = "Evidence is closed for you in this dispute."


class EvidenceInvalid(Unprocessable):
    code = "evidence_invalid"
    message = "Give either text or media_id."


class DisputeResolved(Conflict):
    code = "dispute_resolved"
    message = "This dispute is already resolved."


class NoQuote(Unprocessable):
    code = "no_quote"
    message = "The booking has no agreed price to refund from."
