"""What an uploaded file really is, read from its bytes by the `filetype` library: confirmation accepts a file
only when this equals the type its uploader declared."""

import re

import filetype

# filetype looks at most this far into a file (its utils._NUM_SIGNATURE_BYTES); an ISO-BMFF `ftyp` box, whose
# brands tell HEIC from MP4, QuickTime and AVIF, is only recognised when the whole box is in the buffer.
HEAD_BYTES = 8192
# Acrobat takes a PDF whose `%%EOF` marker is anywhere in its last 1024 bytes; so do we.
TAIL_BYTES = 1024

RECOGNISED_TYPES = frozenset(kind.mime for kind in filetype.TYPES)

# Detected types whose files are also files of a declared type: an animated PNG is a valid PNG (a decoder that
# does not know APNG shows its first frame), and browsers declare `.png` files as image/png.
ALSO: dict[str, frozenset[str]] = {"image/png": frozenset({"image/apng"})}

# filetype names a PDF by its first four bytes, `%PDF`, whatever follows. A PDF's first line is `%PDF-` and its
# version (ISO 32000: 1.0 to 2.0), and its last bytes carry `%%EOF`.
PDF_HEADER = re.compile(rb"%PDF-[12]\.\d\s")


def detected_type(head: bytes, tail: bytes) -> str | None:
    """The MIME type of the file whose first HEAD_BYTES and last TAIL_BYTES these are; None if unknown."""
    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = str(kind.mime)
    if mime == "application/pdf" and not (PDF_HEADER.match(head) and b"%%EOF" in tail):
        return None
    return mime


def is_a(declared: str, detected: str | None) -> bool:
    return detected is not None and (detected == declared or detected in ALSO.get(declared, frozenset()))
