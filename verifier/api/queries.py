"""The shapes of API requests, validated once for the fast path and for FastAPI alike."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from verifier.policy import Query
from verifier.storable import REASON, TOKEN_NAME
from verifier.tokens import Scope

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


# Durations over the API: up to four terms of up to three digits ("7d", "1h30m"): at most 76 years,
# so the document's pattern alone says which values are accepted.
ApiDuration = Annotated[
    str,
    Field(
        max_length=32,
        pattern=r"^([0-9]{1,3}(ms|[smhdw])){1,4}$",
        description='a duration such as "7d", "24h" or "1h30m"',
    ),
]
ReasonText = Annotated[str, Field(min_length=1, max_length=2000, pattern=REASON)]
TokenName = Annotated[str, Field(min_length=1, max_length=200, pattern=TOKEN_NAME.pattern)]


class _OverrideFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: ToolName
    commit: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{40}$")] | None = None
    reason: ReasonText
    expires: ApiDuration | None = None


class ApproveRequest(_OverrideFields):
    """An approval of one build (admin scope): the version and the digest you verified."""

    kind: Literal["approve"]
    version: Version
    sha256: Sha256


class BlockRequest(_OverrideFields):
    """A block (admin scope): of a version, a digest, a commit or the whole tool."""

    kind: Literal["block"]
    version: Version | None = None
    sha256: Sha256 | None = None


OverrideRequest = Annotated[ApproveRequest | BlockRequest, Field(discriminator="kind")]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TokenName
    scopes: list[Scope] = Field(min_length=1)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as `{"field", "message"}`, never echoing the (possibly huge) input."""
    return [
        {
            "field": ".".join(str(part) for part in error["loc"]) or "body",
            "message": error["msg"],
        }
        for error in exc.errors(include_input=False, include_url=False)
    ]
