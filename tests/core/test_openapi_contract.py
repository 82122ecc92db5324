"""The OpenAPI document is the contract: schemathesis (every check, every phase, every operation)
finds no 5xx and no mismatch between what the API answers and what the document says, through
both routes for `GET /v1/decision` and on both stores. A bounded example count keeps it fast;
README (Development) says how to run it longer."""

from __future__ import annotations

import os

import httpx
import pytest
import schemathesis
from schemathesis.engine import Status, events, from_schema

from tests.conftest import LiveServer
from verifier.tokens import Scope

EXAMPLES = int(os.environ.get("TOOLGATE_SCHEMATHESIS_EXAMPLES", "10"))


def contract_failures(server: LiveServer) -> list[str]:
    """What schemathesis found wrong, one line per failed check or error."""
    token = server.token("contract", Scope.ADMIN)
    config = schemathesis.Config.from_dict(
        {
            "seed": 14,
            "headers": {"Authorization": f"Bearer {token}"},
            "checks": {"enabled": True},
            "generation": {"max-examples": EXAMPLES},
        }
    )
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)
    found = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.status != Status.SUCCESS:
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    if node.status == Status.FAILURE and node.failure_info:
                        failure = node.failure_info.failure
                        found.append(
                            f"{event.label}: {node.name}: {failure.title}: {failure.message}\n"
                            f"  {node.failure_info.code_sample}"[:800]
                        )
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            found.append(f"{getattr(event, 'label', '')}: error: {event.info.format()}"[:600])
    return sorted(set(found))


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-route", "fastapi-route"])
def test_the_api_matches_its_openapi_document(live_server, fast_path: bool):
    failures = contract_failures(live_server(fast_path=fast_path))
    assert not failures, "\n".join(failures)


def test_every_error_is_documented_in_the_api_s_own_shape(live_server):
    server = live_server()
    document = httpx.get(f"{server.url}/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    error = {"$ref": "#/components/schemas/ErrorBody"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/v1/"):
                continue
            assert {"401", "403", "503"} <= set(operation["responses"]), (method, path)
            assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    assert response["content"]["application/json"]["schema"] == error
    batch = document["paths"]["/v1/decisions"]["post"]["requestBody"]
    assert batch["content"]["application/json"]["schema"]["$ref"].endswith("/DecisionBatch")
