"""The dashboard's forms, validated with the API's own field types."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from verifier.api.queries import Sha256, ToolName, Version, field_errors
from verifier.storable import MAX_ID

# Free text: no control characters but tabs and line breaks (PostgreSQL refuses NUL outright).
Text = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=2000,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",
    ),
]
Optional = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=64)]


class FormError(ValueError):
    """A form field that is missing or malformed; the message names it."""


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class OverrideForm(_Form):
    """Approve or block a version from the tool page (admin)."""

    kind: Literal["approve", "block"]
    tool: ToolName
    version: Version | None = None
    sha256: Sha256 | None = None
    reason: Text
    expires: Optional = None


class ExposureQuery(_Form):
    """Who fetched this build: a tool, a version and optionally the bytes."""

    tool: ToolName
    version: Version
    sha256: Sha256 | None = None


class ResendForm(_Form):
    """Queue an alert delivery again (admin)."""

    delivery: Annotated[int, Field(ge=1, le=MAX_ID)]
    incident: Annotated[int, Field(ge=1, le=MAX_ID)]


F = TypeVar("F", bound=_Form)


def parse_form(model: type[F], fields: dict[str, str]) -> F:
    """Validate submitted fields (empty ones count as absent); FormError names what is wrong."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v.strip()})
    except ValidationError as exc:
        raise FormError(
            "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc))
        ) from None
