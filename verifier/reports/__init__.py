"""Reports: the inventory, its verification evidence, advisories, exposure and audit trail,
as JSON, CSV, Markdown, self-contained HTML or CycloneDX 1.6.

Public surface (other parts of toolgate call exactly this):

- `render(kind, fmt, engine, config, now) -> bytes`: one report, deterministic for given store
  contents and `now` (stable ordering, every time taken from `now`);
- `KINDS`, `FORMATS`: the accepted names;
- `ReportError`: an unknown kind or format;
- the data values in `verifier.reports.model` (collected by `verifier.reports.collect`), which
  the dashboard reuses.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from advisories.gcpause import paused_gc
from verifier.config import Config
from verifier.errors import ToolgateError
from verifier.reports import formats
from verifier.reports.kinds import BUILDERS, build_report

KINDS: tuple[str, ...] = tuple(BUILDERS)
FORMATS: tuple[str, ...] = tuple(formats.FORMATS)


class ReportError(ToolgateError, ValueError):
    """An unknown report kind or format."""


def render(kind: str, fmt: str, engine: Engine, config: Config, now: datetime) -> bytes:
    """Collect report `kind` from the store as of `now` (timezone-aware) and render it as `fmt`."""
    if kind not in BUILDERS:
        raise ReportError(f'unknown report kind "{kind}": choose one of {", ".join(KINDS)}')
    if fmt not in formats.FORMATS:
        raise ReportError(f'unknown report format "{fmt}": choose one of {", ".join(FORMATS)}')
    if now.tzinfo is None:
        raise ReportError("`now` must be timezone-aware (UTC)")
    with paused_gc():
        return formats.FORMATS[fmt].render(build_report(kind, engine, config, now))


__all__ = ["FORMATS", "KINDS", "ReportError", "render"]
