"""Who a record is about, as typed: medical record numbers and free text (pure layer: standard
library and ``pumpmgr.errors`` only).

- :func:`normalize_mrn`: one stored form per medical record number. Compatibility characters
  become their plain form (Unicode NFKC: a full-width ``Ｄ０００００１`` is ``D000001``) and letters
  the clinic's upper case, so ``d000001``, ``Ｄ000001`` and ``D000001`` are one patient. A
  character that cannot be seen or typed on purpose (zero-width and other format characters,
  control characters, line breaks, any space inside) is refused rather than removed: it makes
  two numbers that look alike, and whoever typed it should see the number they meant.
- :func:`clean_text`: names and free text refuse control characters and the characters that
  reorder or hide text (a newline in a name would forge a line of the due list; a
  right-to-left override would show another name than the one stored), and have a length limit.
  Multi-line text (notes, reasons) may hold line breaks and tabs.
- :func:`clean_phone`: a telephone number holds digits and the separators people write, so a
  word typed in the phone box is never printed as the number a patient is to call.

Every refusal names the field, what was found and where.
"""

from __future__ import annotations

import re
import unicodedata

from pumpmgr.errors import Code, InputError

MRN_LIMIT = 64
#: A telephone number as people write it: an optional leading ``+``, digits with spaces and
#: ``( ) . / -`` between them, and an extension (``ext 42``, ``x42``).
_PHONE = re.compile(r"\+?[0-9(][0-9 ()./-]*(?:\s*(?:ext\.?|x)\s*[0-9]+)?", re.IGNORECASE)
#: The shortest number kept: a hospital's internal extension.
PHONE_DIGITS_MIN = 3

#: Invisible characters that change how text reads or where it breaks (Unicode category Cf
#: would also take the zero-width joiners some scripts need in names, so these are listed):
#: zero-width space, word joiner, byte-order mark, soft hyphen, Mongolian vowel separator,
#: and the bidirectional marks, embeddings, overrides and isolates.
HIDDEN = frozenset(
    "\u200b\u2060\ufeff\u00ad\u180e\u200e\u200f\u061c"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def _refuse(field: str, message: str, code: Code = Code.OUT_OF_RANGE) -> InputError:
    return InputError(f"{field}: {message}", code=code, field=field)


def normalize_mrn(value: object, field: str = "medical record number") -> str:
    """The stored form of a medical record number: NFKC, surrounding spaces removed, upper
    case. Refuses (:class:`InputError` naming ``field``) an empty one, one longer than
    ``MRN_LIMIT`` characters, and one holding a space, a control, format or other invisible
    character, or a character that is not a letter, digit, mark or punctuation."""
    text = value if isinstance(value, str) else ""
    normalized = unicodedata.normalize("NFKC", text).strip().upper()
    if not normalized:
        raise _refuse(field, "is required", Code.NO_VALUE)
    for position, char in enumerate(normalized, start=1):
        category = unicodedata.category(char)
        if char in HIDDEN or category[0] in "CZ":
            what = "a space" if char == " " else _describe(char)
            raise _refuse(
                field,
                f"holds {what} at character {position}; type the number "
                "with letters, digits and punctuation only",
            )
    if len(normalized) > MRN_LIMIT:
        raise _refuse(field, f"at most {MRN_LIMIT} characters")
    return normalized


def clean_text(
    value: object, field: str, *, required: bool = True, limit: int = 200, multiline: bool = False
) -> str:
    """``value`` without surrounding spaces, or :class:`InputError` naming ``field`` when it is
    empty (and ``required``), longer than ``limit`` characters, or holds a control character
    (line breaks and tabs are allowed in ``multiline`` text), a line or paragraph separator, or
    a hidden character (:data:`HIDDEN`)."""
    cleaned = value.strip() if isinstance(value, str) else ""
    if multiline:  # a line break pasted from Windows
        cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n")
    if required and not cleaned:
        raise _refuse(field, "is required", Code.NO_VALUE)
    if len(cleaned) > limit:
        raise _refuse(field, f"at most {limit} characters")
    allowed = "\n\t" if multiline else ""
    for position, char in enumerate(cleaned, start=1):
        category = unicodedata.category(char)
        if char in allowed:
            continue
        if char in HIDDEN or category in ("Cc", "Cs", "Zl", "Zp"):
            kind = "a line break" if char in "\r\n\u2028\u2029\x85" else _describe(char)
            raise _refuse(
                field,
                f"holds {kind} at character {position}; "
                + ("type it on one line" if not multiline else "remove it")
                + " (control and hidden characters are not kept)",
            )
    return cleaned


def clean_phone(value: object, field: str, *, required: bool = False, limit: int = 64) -> str:
    """``value`` as :func:`clean_text` keeps it, refused (:class:`InputError` naming ``field``)
    unless it is a telephone number: digits (at least ``PHONE_DIGITS_MIN``), a leading ``+``,
    spaces, ``( ) . / -`` and an extension."""
    cleaned = clean_text(value, field, required=required, limit=limit)
    digits = sum(char.isdigit() for char in cleaned)
    if cleaned and (_PHONE.fullmatch(cleaned) is None or digits < PHONE_DIGITS_MIN):
        raise _refuse(
            field,
            f"'{cleaned}' is not a telephone number; type digits, with "
            "spaces or + ( ) - . / if you like, for example +44 20 7946 0100",
        )
    return cleaned
