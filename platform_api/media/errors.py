"""Failures of uploads and downloads (attaching an upload is `shared_models.services.media`')."""

from platform_api.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


class ContentTypeNotAllowed(Unprocessable):
    code = "content_type_not_allowed"
    message = "This content type is not accepted."


class FileTooLarge(Unprocessable):
    code = "file_too_large"
    message = "The file is larger than allowed."


class MediaNotFound(NotFound):
    code = "media_not_found"
    message = "No such upload."


class UploadMissing(Conflict):
    code = "upload_missing"
    message = "Nothing has been uploaded for this key yet."


class UploadRejected(Unprocessable):
    """The stored file failed its checks (size, type, content), now or at an earlier confirmation."""

    code = "upload_rejected"
    message = "The uploaded file was rejected."


class StorageDown(ServiceUnavailable):
    code = "storage_unavailable"
    message = "Object storage is not answering; retry shortly."
