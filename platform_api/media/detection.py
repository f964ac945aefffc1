"""What an uploaded file really is: confirmation reads the whole file with its format's own well-kept decoder
(Pillow, pillow-heif, pypdf) and accepts it only when that decoder reads it as the type its uploader declared.

The decoders' verdict is the identification too. A signature library (we used `filetype`) names a file by its
first bytes, so anything that starts like a PNG, a JPEG or a PDF passed; a second, weaker opinion beside the
decoders would only add a parser whose disagreements with them we would have to explain.
"""

import io
import re
from collections.abc import Callable

import pillow_heif
from PIL import Image, UnidentifiedImageError
from pypdf import PasswordType, PdfReader

# Only the primary image is decoded; thumbnails, depth maps and auxiliary images are not read at all.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# Pillow refuses an image of more than twice this many pixels (DecompressionBombError) and only warns above it;
# we refuse above it, which bounds what one decode holds in memory (about 360 MB as RGBA) for files of at most
# MEDIA_MAX_BYTES.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485

# A PDF's first line is `%PDF-` and its version (ISO 32000: 1.0 to 2.0); Acrobat takes a PDF whose `%%EOF`
# marker is anywhere in its last 1024 bytes, and so do we.
PDF_HEADER = re.compile(rb"%PDF-[12]\.\d\s")
PDF_TAIL_BYTES = 1024
# Tolerant as the readers people open PDFs with: pypdf's strict mode also refuses correctable slips of real
# generators (a startxref a few bytes off, an xref table not starting at 0), and buys nothing against a forger,
# who can write a correct xref as easily as a wrong one.
PDF_STRICT = False

# The HEIF brands of still images coded with HEVC (ISO/IEC 23008-12): 8-bit Main (`heic`), 10-bit and range
# extensions (`heix`), multilayer (`heim`) and scalable (`heis`). A phone may write the generic `mif1` as the
# major brand and list its codec brand among the compatible ones. AVIF (`avif`, `avis`) is HEIF with AV1: not
# image/heic, even when it lists an HEVC brand too.
HEVC_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis"})
AV1_BRANDS = frozenset({b"avif", b"avis"})


class NotOfType(Exception):
    """The file is not a readable file of the declared type; the message says what the decoder found."""


def _image(*formats: str) -> Callable[[bytes], None]:
    """Pillow opens it with only this format's plugin, checks its structure and decodes its (first) image.

    `verify()` walks a PNG's chunks to IEND checking each CRC (a no-op for other formats); `load()` decodes the
    pixels, which for a JPEG is the only check of its entropy-coded data. An animated PNG is a PNG to Pillow
    (and to a decoder that shows its first frame); a JPEG with an MPF index (multi-picture, Ultra HDR gain map)
    is opened by the JPEG plugin as MPO. Data after the image (a motion photo's video) is not the image's."""

    def check(data: bytes) -> None:
        with Image.open(io.BytesIO(data), formats=formats) as image:
            if image.width * image.height > MAX_PIXELS:
                raise NotOfType(f"{image.width}x{image.height} is more than {MAX_PIXELS} pixels")
            image.verify()
        with Image.open(io.BytesIO(data), formats=formats) as image:
            image.load()

    return check


def ftyp_brands(data: bytes) -> list[bytes]:
    """The major and compatible brands of an ISO-BMFF file's leading `ftyp` box; [] if it has none."""
    size = int.from_bytes(data[:4], "big")
    if data[4:8] != b"ftyp" or not 16 <= size <= len(data):
        return []
    return [data[8:12]] + [data[at : at + 4] for at in range(16, size - 3, 4)]


_heif_image = _image("HEIF")


def _heic(data: bytes) -> None:
    brands = set(ftyp_brands(data))
    if not brands & HEVC_IMAGE_BRANDS or brands & AV1_BRANDS:
        found = b", ".join(sorted(brands)).decode("latin-1") or "none"
        raise NotOfType(f"its brands ({found}) are not those of an HEVC-coded HEIF image")
    # libheif (in pillow-heif) parses the boxes and libde265 decodes the primary image; pillow-heif is built
    # without an AV1 decoder, so an AV1 image could not pass here whatever its brands.
    _heif_image(data)


def _pdf(data: bytes) -> None:
    if not PDF_HEADER.match(data):
        raise NotOfType("it does not begin with a %PDF-n.n header line")
    if b"%%EOF" not in data[-PDF_TAIL_BYTES:]:
        raise NotOfType("it has no %%EOF marker at its end")
    # pypdf tries the empty user password itself, so a PDF with permissions only opens like any other.
    reader = PdfReader(io.BytesIO(data), strict=PDF_STRICT)
    if reader.is_encrypted and reader.decrypt("") is PasswordType.NOT_DECRYPTED:
        raise NotOfType("it opens only with a password, so it cannot be checked (upload it without one)")
    if len(reader.pages) < 1:  # walks the page tree from the trailer's catalog
        raise NotOfType("it has no pages")


CHECKS: dict[str, Callable[[bytes], None]] = {
    "image/jpeg": _image("JPEG"),
    "image/png": _image("PNG"),
    "image/webp": _image("WEBP"),
    "image/heic": _heic,
    "application/pdf": _pdf,
}

RECOGNISED_TYPES = frozenset(CHECKS)


def problem_with(declared: str, data: bytes) -> str | None:
    """Why `data` is not a file of the `declared` type (one of RECOGNISED_TYPES); None when it is one.

    Runs decoders over the whole file: call it off the event loop."""
    try:
        CHECKS[declared](data)
    except UnidentifiedImageError:  # its message names the buffer object, nothing about the file
        return f"it is not a readable {declared} file (its decoder does not recognise it)."
    # A decoder's failure on a hostile file can be any exception (Pillow's fuzzers found ValueError, struct.error,
    # IndexError, RecursionError in pypdf, MemoryError...): each means the same, the file is not readable as the
    # type. DecompressionBombError is one of them.
    except Exception as exc:
        reason = str(exc).strip() or type(exc).__name__
        return f"it is not a readable {declared} file ({reason[:300]})."
    return None
