"""Output formats, one module each behind `ReportFormat`; `FORMATS` maps `--format` names.

A format's module is imported the first time it is used: `toolgate report … --format json`
does not pay for the CycloneDX library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module

from verifier.reports.formats.interface import ReportFormat

# --format name -> (module in this package, its ReportFormat class)
_WRITERS = {
    "json": ("json", "JsonFormat"),
    "csv": ("csv", "CsvFormat"),
    "md": ("markdown", "MarkdownFormat"),
    "html": ("html", "HtmlFormat"),
    "cyclonedx": ("cyclonedx", "CycloneDxFormat"),
}


class _Formats(Mapping[str, ReportFormat]):
    """The formats by name, each created on first use."""

    def __init__(self) -> None:
        self._loaded: dict[str, ReportFormat] = {}

    def __getitem__(self, name: str) -> ReportFormat:
        if (loaded := self._loaded.get(name)) is not None:
            return loaded
        module, cls = _WRITERS[name]  # KeyError for an unknown name, as a dict gives
        writer: ReportFormat = getattr(import_module(f"{__name__}.{module}"), cls)()
        self._loaded[name] = writer
        return writer

    def __iter__(self) -> Iterator[str]:
        return iter(_WRITERS)

    def __len__(self) -> int:
        return len(_WRITERS)


FORMATS: Mapping[str, ReportFormat] = _Formats()

__all__ = ["FORMATS", "ReportFormat"]
