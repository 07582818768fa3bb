"""Turn spec names into Python identifiers, in one place.

Every identifier that reaches generated code is built here, so a name from the
spec can never carry code into the output: the result only ever contains ASCII
letters, digits and underscores, never starts with a digit and is never a keyword.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def words(text: str) -> list[str]:
    """Split a name such as `receiveLead`, `lead-id` or `HTTPServer` into words."""
    ascii_text = (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    )
    return _WORD.findall(ascii_text)


def snake_case(text: str, *, fallback: str = "value") -> str:
    """Return a lower_snake_case identifier for `text`, never empty or a keyword."""
    name = "_".join(w.lower() for w in words(text)) or fallback
    return _safe(name)


def pascal_case(text: str, *, fallback: str = "Model") -> str:
    """Return a PascalCase identifier for `text`, keeping existing inner capitals."""
    parts = words(text)
    name = "".join(p[:1].upper() + p[1:] for p in parts) or fallback
    return _safe(name)


def upper_snake_case(text: str, *, fallback: str = "VALUE") -> str:
    return snake_case(text, fallback=fallback.lower()).upper()


def is_identifier(text: str) -> bool:
    return text.isascii() and text.isidentifier() and not keyword.iskeyword(text)


def _safe(name: str) -> str:
    if name[0].isdigit():
        name = "_" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def unique(name: str, taken: set[str]) -> str:
    """Return `name`, or `name` with the lowest numeric suffix not in `taken`."""
    candidate = name
    counter = 2
    while candidate in taken:
        candidate = f"{name}{counter}"
        counter += 1
    taken.add(candidate)
    return candidate
