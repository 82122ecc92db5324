"""What both stores can hold, checked before a query reaches them: PostgreSQL refuses NUL in text
and ids past its 32-bit `integer` columns, with an error rather than "not found"."""

from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # store ids are 32-bit integers on PostgreSQL
MAX_LIMIT = 100_000  # the most rows a listing asks for (a LIMIT past bigint is an error there)
TOKEN_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,200}$")
# Control characters other than tab and line breaks: never meant in a reason or a name.
_C = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
_CONTROL = re.compile(f"[{_C}]")
# A reason as a pattern (for OpenAPI and pydantic alike): no control character, not only spaces.
REASON = rf"^[^{_C}]*[^\s{_C}][^{_C}]*$"


def check_text(value: str, what: str) -> str:
    """`value`, or ValueError naming `what` if it holds a control character (NUL included)."""
    if _CONTROL.search(value):
        raise ValueError(f"{what} contains a control character")
    return value


def valid_id(value: int) -> bool:
    """Whether `value` can be a row id in either store."""
    return 0 < value <= MAX_ID
