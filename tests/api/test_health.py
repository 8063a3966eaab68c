"""GET /api/v1/health (liveness) and GET /api/v1/health/ready (readiness, with the
findings only for a caller who may verify integrity)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.conftest import setup_key

from trailbook.api.app import create_app
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant


@pytest.fixture
def http(tb: Trailbook, tenant: Tenant) -> Iterator[TestClient]:
    """An API client with no credentials of its own."""
    tb.tenants.create("globex")
    with TestClient(create_app(tb)) as client:
        yield client


def with_key(tb: Trailbook, tenant: Tenant, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {setup_key(tb, tenant, scopes)}"}


def break_signing_key(tb: Trailbook) -> None:
    tb.settings.resolved_signing_key_path.write_text("not a key\n")


def test_liveness_answers_anyone(http: TestClient) -> None:
    answer = http.get("/api/v1/health")

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_readiness_tells_anyone_only_the_status(http: TestClient) -> None:
    answer = http.get("/api/v1/health/ready")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ready"}


def test_readiness_hides_details_from_a_caller_who_cannot_verify(
        http: TestClient, tb: Trailbook, tenant: Tenant) -> None:
    answer = http.get("/api/v1/health/ready", headers=with_key(tb, tenant, "ingest"))

    assert answer.status_code == 200
    assert answer.json() == {"status": "ready"}


def test_readiness_hides_details_from_wrong_credentials(http: TestClient) -> None:
    answer = http.get("/api/v1/health/ready", headers={"Authorization": "Bearer tb_nope"})

    assert answer.json() == {"status": "ready"}


def test_readiness_details_for_a_caller_who_may_verify(
        http: TestClient, tb: Trailbook, tenant: Tenant) -> None:
    answer = http.get("/api/v1/health/ready", headers=with_key(tb, tenant, "read"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ready"
    assert body["health"] == "ok"
    by_check = {c["check"]: c for c in body["checks"]}
    assert {"database", "signing_key", "disk", "chain", "outbox_lag"} <= set(by_check)
    assert all(c["status"] == "ok" for c in body["checks"])
    # The caller's tenant only: nothing about another tenant's trail.
    assert {c.get("tenant") for c in body["checks"]} == {None, "acme"}


def test_a_broken_signing_key_makes_the_server_not_ready(
        http: TestClient, tb: Trailbook, tenant: Tenant) -> None:
    headers = with_key(tb, tenant, "read")
    break_signing_key(tb)

    anonymous = http.get("/api/v1/health/ready")
    detailed = http.get("/api/v1/health/ready", headers=headers)

    assert anonymous.status_code == 503
    assert anonymous.json() == {"status": "not_ready"}
    assert detailed.status_code == 503
    [key] = [c for c in detailed.json()["checks"] if c["check"] == "signing_key"]
    assert key["status"] == "critical"
    assert "cannot be loaded" in key["detail"]


def test_a_missing_signing_key_makes_the_server_not_ready(http: TestClient,
                                                          tb: Trailbook) -> None:
    tb.settings.resolved_signing_key_path.unlink()

    answer = http.get("/api/v1/health/ready")

    assert answer.status_code == 503


def test_readiness_is_in_the_openapi_without_security(http: TestClient) -> None:
    paths = http.get("/openapi.json").json()["paths"]

    assert paths["/api/v1/health/ready"]["get"]["security"] == []
    assert paths["/api/v1/health"]["get"]["security"] == []
