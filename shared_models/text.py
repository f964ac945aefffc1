"""Text a person writes for another to read — a message, a name, a statement, a note, a reason: never blank.

Blank is nothing but white space (`str.isspace`) and characters that show nothing: controls, format
characters such as the zero-width space and joiners or the byte-order mark, and space, line and paragraph
separators (Unicode general categories Cc, Cf, Zs, Zl, Zp). Both services use the one rule: the chat
server for messages, the platform for every written field of its requests (`Written`), where a blank value
is the typed 422 `validation_error` naming the field. The text is stored as sent.
"""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

INVISIBLE = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})


def is_blank(text: str) -> bool:
    return all(c.isspace() or unicodedata.category(c) in INVISIBLE for c in text)


def not_blank(value: str) -> str:
    if is_blank(value):
        raise ValueError("must not be blank")
    return value


Written = Annotated[str, AfterValidator(not_blank)]
