"""Failures of writing and answering reviews."""

from platform_api.errors import Conflict, NotFound


class NotReviewable(Conflict):
    code = "not_reviewable"
    message = "Only a confirmed job can be reviewed."


class ReviewWindowClosed(Conflict):
    code = "review_window_closed"
    message = "The review window has closed."


class AlreadyReviewed(Conflict):
    code = "already_reviewed"
    message = "You have already reviewed this job."


class ReviewNotFound(NotFound):
    code = "review_not_found"
    message = "No such review."


class AlreadyReplied(Conflict):
    code = "already_replied"
    message = "You have already replied to this review."
