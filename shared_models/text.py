"""Text a person writes for another to read — a message, a name, a statement, a note, a reason: never blank.

Blank is nothing but characters that show nothing: white space (`str.isspace`); controls, format characters
(zero-width space and joiners, byte-order mark, tags) and space, line and paragraph separators (Unicode
general categories Cc, Cf, Zs, Zl, Zp); combining marks with nothing to combine with (Mn, Me: the combining
grapheme joiner, variation selectors); and the letters and symbols whose glyph is empty (Hangul fillers, the
blank Braille pattern, Khmer's inherent vowels, the Mongolian vowel separator). Both services use the one
rule: the chat server for messages, the platform for every written field of its requests (`Written`; a field
that may be left empty, `WrittenOrEmpty`), where a blank value is the typed 422 `validation_error` naming the
field. The text is stored as sent.
"""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})
EMPTY_GLYPHS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180e")


def is_blank(text: str) -> bool:
    return all(c.isspace() or c in EMPTY_GLYPHS or unicodedata.category(c) in INVISIBLE for c in text)


def not_blank(value: str) -> str:
    if is_blank(value):
        raise ValueError("must not be blank")
    return value


def empty_or_not_blank(value: str) -> str:
    return value if value == "" else not_blank(value)


Written = Annotated[str, AfterValidator(not_blank)]
WrittenOrEmpty = Annotated[str, AfterValidator(empty_or_not_blank)]
