"""Failures of search: where to search, and which page."""

from platform_api.errors import ServiceUnavailable, Unprocessable


class UnknownLocation(Unprocessable):
    code = "unknown_location"
    message = "No such place was found."


class GeocoderUnavailable(ServiceUnavailable):
    code = "geocoder_unavailable"
    message = "The geocoding service is unavailable; retry shortly."


class InvalidCursor(Unprocessable):
    code = "invalid_cursor"
    message = "This cursor is not one this API issued."
