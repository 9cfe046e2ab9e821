"""Schemathesis over the OpenAPI document, against the API serving the real materialized pipeline: whatever a client
sends, no server error, and every response matches the status codes, headers and schema the document declares."""

from collections.abc import Callable

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from f1_serving.main import create_app
from tests.api_support import api_settings, bearer, register


@pytest.fixture(scope="module")
def api(trained, tmp_path_factory):
    pipeline, result = trained
    assert result.success
    app_settings = api_settings(
        tmp_path_factory.mktemp("schema"),
        pipeline,
        rate_limit_per_minute=1_000_000,
        client_rate_limit_per_minute=1_000_000,
    )
    with TestClient(create_app(app_settings)) as client:
        yield client


@pytest.fixture(scope="module")
def token(api):
    return register(api)


@pytest.fixture(scope="module")
def api_schema(api):
    """Every operation, deleting the caller's own account included (each of its cases with an account of its own)."""
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app)


STRICTER_THAN_THE_SCHEMA = {"POST /api/v1/auth/register": [positive_data_acceptance]}
"""JSON Schema's `format: email` admits addresses registration refuses on purpose (reserved domains such as
`.test`, quoted local parts, IP literals): a 422 there is the rule working, not a contract broken."""


def _fuzz(operation, mode: GenerationMode, headers: Callable[[], dict[str, str]]) -> None:
    excluded = STRICTER_THAN_THE_SCHEMA.get(operation.label, [])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        case.call_and_validate(headers=headers(), excluded_checks=excluded)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # an operation without parameters or body (the health probes) has no invalid input to send


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_operation_answers_within_its_documented_contract(api, api_schema, token, mode):
    """Schemathesis's pytest plugin does not run on pytest 9 (`from_fixture` reads a removed attribute), so each
    operation's strategy runs under Hypothesis directly; every failure is reported, not just the first."""
    failures = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        deletes_its_account = operation.method.upper() == "DELETE"
        try:
            _fuzz(operation, mode, (lambda: bearer(register(api))) if deletes_its_account else (lambda: bearer(token)))
        except Exception as error:
            failures[operation.label] = error
    assert not failures, "\n\n".join(f"{label}: {error}" for label, error in failures.items())


def test_the_document_declares_the_error_envelope_for_every_operation(api):
    """Health probes excepted: they take no input and readiness answers its own body with a 503."""
    document = api.get("/api/v1/openapi.json").json()
    for path, operations in document["paths"].items():
        if path.startswith("/api/v1/health"):
            continue
        for method, operation in operations.items():
            errors = {code for code in operation["responses"] if code.startswith(("4", "5"))}
            assert errors, f"{method.upper()} {path} declares no error response"
            for code in errors:
                schema_ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert schema_ref.endswith("/ErrorResponse"), f"{method.upper()} {path} {code}"
