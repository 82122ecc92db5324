"""The shapes of API requests, validated once for the fast path and for FastAPI alike."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from verifier.policy import Query

ToolName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/+@:-]*$"),
]
Version = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Sha256 = Annotated[
    str,
    StringConstraints(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]{64}$", to_lower=True),
]
AssetName = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^/\\\x00-\x1f\x7f]+$")
]
MAX_BATCH = 1000
MAX_BODY_BYTES = 1024 * 1024  # any request body (a full batch of long queries is about 400 KB)


class DecisionQuery(BaseModel):
    """One question: may this tool at this version (and these bytes) be fetched?"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: ToolName
    version: Version
    sha256: Sha256 | None = None
    asset: AssetName | None = None

    def to_query(self) -> Query:
        return Query(self.tool, self.version, self.sha256, self.asset)


class DecisionBatch(BaseModel):
    """Up to 1,000 questions answered against the same snapshot."""

    model_config = ConfigDict(extra="forbid")

    queries: list[DecisionQuery] = Field(min_length=1, max_length=MAX_BATCH)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as `{"field", "message"}`, never echoing the (possibly huge) input."""
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "body",
            "message": error["msg"],
        }
        for error in exc.errors(include_input=False, include_url=False)
    ]
