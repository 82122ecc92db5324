"""Durations as operators write them: "250ms", "90s", "15m", "72h", "7d", "1w" (and "0s")."""

from __future__ import annotations

import re
from datetime import timedelta

# The longest duration accepted anywhere (a lapse, a look-back, an interval): a century keeps every
# `now ± duration` a valid date in Python and in both stores.
MAX_DURATION = timedelta(days=36500)
_MAX_MS = int(MAX_DURATION.total_seconds()) * 1000
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)(ms|[smhdw])")


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "15m", "72h", "7d", "1w" or a sum like "1h30m"; raise ValueError otherwise
    (also past MAX_DURATION, 36500d)."""
    compact = text.strip().replace(" ", "")
    if not compact or len(compact) > 32:
        raise ValueError(f'"{text}" is not a duration (use e.g. "90s", "15m", "72h", "7d")')
    pos, milliseconds = 0, 0
    for match in _DURATION.finditer(compact):
        if match.start() != pos:
            break
        milliseconds += int(match.group(1)) * round(_UNITS[match.group(2)] * 1000)
        pos = match.end()
    if pos != len(compact):
        raise ValueError(f'"{text}" is not a duration (use e.g. "90s", "15m", "72h", "7d")')
    if milliseconds > _MAX_MS:
        raise ValueError(f'duration "{text}" is longer than {MAX_DURATION.days}d (a century)')
    return timedelta(milliseconds=milliseconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling of a duration in the units parse_duration accepts."""
    milliseconds = round(value.total_seconds() * 1000)
    if milliseconds == 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s", "ms"):
        amount, milliseconds = divmod(milliseconds, round(_UNITS[unit] * 1000))
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
