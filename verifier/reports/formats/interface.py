"""The one seam every output format implements: a `Report` in, the bytes of a document out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from verifier.reports.report import Report


class ReportFormat(ABC):
    """An output format; adding a format is adding a module with one subclass."""

    name: ClassVar[str]  # what `--format` takes
    media_type: ClassVar[str]
    suffix: ClassVar[str]  # the usual file extension, with its dot

    @abstractmethod
    def render(self, report: Report) -> bytes:
        """The document; the same report always gives the same bytes."""
