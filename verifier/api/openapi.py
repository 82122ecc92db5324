"""The OpenAPI document as the API's contract: the error shape every route answers with, the
statuses each can give, and the schemas of what routes read by hand (the decision query, the
batch body, the runner headers), so schemathesis can check the API against it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from verifier.api.decision import MAX_JOB, MAX_RUNNER
from verifier.api.queries import MAX_BODY_BYTES, DecisionBatch, DecisionQuery


class FieldError(BaseModel):
    """One bad part of a request: a dotted field path (or header name) and what is wrong."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer: a short name and either a message or the list of bad fields."""

    error: str
    detail: str | list[FieldError]


_WHY = {
    400: "The body is not text FastAPI can read as JSON (e.g. not UTF-8)",
    401: "No token, or not one toolgate knows (`WWW-Authenticate: Bearer`)",
    403: "The token lacks the scope this route needs",
    404: "The tool, override or token named does not exist",
    409: "A token with this name exists already",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes",
    415: "The body is not `application/json`",
    422: "Invalid request: `detail` lists each bad field",
    503: (
        "Starting: the first snapshot is not built yet; or, with `[audit] durable`, the answer's"
        " record could not be committed (`not-recorded`, `Retry-After`: ask again)"
    ),
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route that can answer with these error statuses."""
    return {status: {"model": ErrorBody, "description": _WHY[status]} for status in statuses}


AUTH = (401, 403, 503)  # every route behind a token


def _property(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's schema without pydantic's `null` branch (a parameter is absent instead)."""
    variants = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    return {key: value for key, value in variants[0].items() if key != "title"}


def _caller_headers() -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "header",
            "description": f"{what}, UTF-8, at most {limit} characters (kept in the audit trail)",
            "schema": {"type": "string", "maxLength": limit},
        }
        for name, what, limit in (
            ("X-Toolgate-Runner", "The runner asking", MAX_RUNNER),
            ("X-Toolgate-Job", "The job asking", MAX_JOB),
        )
    ]


def decision_parameters() -> list[dict[str, Any]]:
    """`GET /v1/decision`'s query parameters (from DecisionQuery) and runner headers."""
    schema = DecisionQuery.model_json_schema()
    return [
        {
            "name": name,
            "in": "query",
            "required": name in schema["required"],
            "schema": _property(field),
        }
        for name, field in schema["properties"].items()
    ] + _caller_headers()


def install_openapi(app: FastAPI) -> None:
    """Generate the document once, adding the batch body `POST /v1/decisions` reads by hand."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            _, definitions = models_json_schema(
                [(DecisionBatch, "validation")], ref_template="#/components/schemas/{model}"
            )
            document["components"]["schemas"].update(definitions["$defs"])
            operation = document["paths"]["/v1/decisions"]["post"]
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/DecisionBatch"}}
                },
            }
            operation.setdefault("parameters", []).extend(_caller_headers())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
