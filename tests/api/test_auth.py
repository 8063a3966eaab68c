"""API keys: who may call what, tenants kept apart, and the public, documented parts."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from conftest import minimal_event, setup_key
from trailbook.errors import ValidationFailed
from trailbook.integrity.signing import checkpoint_payload
from trailbook.service.app import Trailbook
from trailbook.service.keys import hash_secret
from trailbook.store.records import Tenant

EVENTS = "/api/v1/events"
PROTECTED = [
    ("POST", EVENTS),
    ("GET", EVENTS),
    ("GET", f"{EVENTS}/01900000-0000-7000-8000-000000000000"),
    ("GET", "/api/v1/verify"),
    ("GET", "/api/v1/checkpoints"),
]


def error_of(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code, error
    assert error["details"], error
    for detail in error["details"]:
        assert set(detail) == {"field", "reason"}
    return dict(error)


def call(http: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    if method == "POST":
        return http.post(path, json=minimal_event(), **kwargs)
    return http.get(path, **kwargs)


def head_seq(tb: Trailbook, tenant: Tenant) -> int:
    head = tb.store.chain_head(tenant.id)
    return 0 if head is None else head.seq


@pytest.fixture
def anonymous(client: TestClient) -> TestClient:
    """A client of the same app that sends no credentials."""
    return TestClient(client.app)


# -- who is refused ------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_key_is_401_with_www_authenticate(anonymous: TestClient, tb: Trailbook,
                                              tenant: Tenant, method: str, path: str) -> None:
    answer = call(anonymous, method, path)

    error = error_of(answer, 401, "unauthenticated")
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert error["details"][0]["field"] == "authorization"
    assert head_seq(tb, tenant) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer tb_not-a-key-we-ever-made"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Token abc"},
        {"X-API-Key": "tb_not-a-key-we-ever-made"},
    ],
)
def test_bad_credentials_are_401(anonymous: TestClient, tb: Trailbook, tenant: Tenant,
                                 headers: dict[str, str]) -> None:
    answer = anonymous.post(EVENTS, json=minimal_event(), headers=headers)

    error = error_of(answer, 401, "unauthenticated")
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert error["details"][0]["field"] == "authorization"
    assert head_seq(tb, tenant) == 0


def test_basic_auth_with_a_real_key_as_password_is_still_401(
    anonymous: TestClient, api_key: str, tb: Trailbook, tenant: Tenant
) -> None:
    basic = base64.b64encode(f"user:{api_key}".encode()).decode()

    answer = anonymous.post(EVENTS, json=minimal_event(),
                            headers={"Authorization": f"Basic {basic}"})

    error_of(answer, 401, "unauthenticated")
    assert head_seq(tb, tenant) == 0


def test_the_key_works_as_bearer_and_as_x_api_key(anonymous: TestClient, api_key: str) -> None:
    by_bearer = anonymous.post(EVENTS, json=minimal_event(),
                               headers={"Authorization": f"bearer {api_key}"})
    by_header = anonymous.post(EVENTS, json=minimal_event(), headers={"X-API-Key": api_key})

    assert by_bearer.status_code == 201, by_bearer.text
    assert by_header.status_code == 201, by_header.text
    assert by_header.json()["events"][0]["seq"] == 2


def test_a_revoked_key_is_401(client: TestClient, tb: Trailbook, tenant: Tenant,
                              anonymous: TestClient) -> None:
    key, secret = tb.keys.create(tenant, "soon revoked", ("ingest", "read"))
    auth = {"Authorization": f"Bearer {secret}"}
    assert anonymous.post(EVENTS, json=minimal_event(), headers=auth).status_code == 201

    tb.keys.revoke(tenant, key.id)

    for method, path in PROTECTED:
        answer = call(anonymous, method, path, headers=auth)
        error = error_of(answer, 401, "unauthenticated")
        assert "revoked" in error["message"]
    # The one event posted, between the key's creation and revocation (both audited).
    assert head_seq(tb, tenant) == 3
    admin = client.get(EVENTS, params={"category": "admin"}).json()["events"]
    assert [e["action"] for e in admin] == ["api_key.revoke", "api_key.create"]
    # The other key of the tenant still works.
    assert client.get(EVENTS).status_code == 200


def test_an_expired_key_is_401(tb: Trailbook, tenant: Tenant, anonymous: TestClient) -> None:
    # A key made with an expiry that has since passed (made directly in the store:
    # the service refuses an expiry in the past).
    secret = "tb_expired-key-for-the-test"
    tb.store.accounts.add_api_key(tenant.id, "old", secret[:10], hash_secret(secret),
                         ("ingest", "read"), "2019-01-01T00:00:00.000000Z",
                         "2020-01-01T00:00:00.000000Z")
    auth = {"Authorization": f"Bearer {secret}"}

    for method, path in PROTECTED:
        answer = call(anonymous, method, path, headers=auth)
        error = error_of(answer, 401, "unauthenticated")
        assert "expired" in error["message"]
    assert head_seq(tb, tenant) == 0


def test_a_key_cannot_be_made_already_expired(tb: Trailbook, tenant: Tenant) -> None:
    with pytest.raises(ValidationFailed) as refused:
        tb.keys.create(tenant, "old", ("read",), expires_at="2020-01-01T00:00:00Z")
    assert refused.value.details[0].field == "expires_at"
    assert tb.keys.for_tenant(tenant) == []


def test_a_key_expiring_later_works(tb: Trailbook, tenant: Tenant,
                                    anonymous: TestClient) -> None:
    _, secret = tb.keys.create(tenant, "later", ("ingest",), expires_at="2999-01-01T00:00:00Z")

    answer = anonymous.post(EVENTS, json=minimal_event(),
                            headers={"Authorization": f"Bearer {secret}"})

    assert answer.status_code == 201, answer.text


# -- scopes ---------------------------------------------------------------------------


def test_a_read_only_key_cannot_ingest(client: TestClient, tb: Trailbook, tenant: Tenant,
                                       anonymous: TestClient) -> None:
    secret = setup_key(tb, tenant, ("read",))
    auth = {"Authorization": f"Bearer {secret}"}

    for body in (minimal_event(), [minimal_event(), minimal_event()]):
        answer = anonymous.post(EVENTS, json=body, headers=auth)
        error = error_of(answer, 403, "forbidden")
        assert "ingest" in error["message"]
        assert error["details"][0]["field"] == "authorization"
    # Nothing was ingested: the trail holds only the audit of the two refusals.
    trail = anonymous.get(EVENTS, headers=auth).json()["events"]
    assert [(e["category"], e["action"], e["result"]) for e in trail] == [
        ("access", "access.denied", "failure")] * 2
    assert trail[0]["actor"]["type"] == "api_key"
    assert trail[0]["metadata"]["permission"] == "events.ingest"
    assert anonymous.get("/api/v1/verify", headers=auth).json()["last_seq"] == 2


def test_a_read_only_key_cannot_ingest_even_an_invalid_body(
    tb: Trailbook, tenant: Tenant, anonymous: TestClient
) -> None:
    secret = setup_key(tb, tenant, ("read",))

    answer = anonymous.post(EVENTS, content=b"{bad",
                            headers={"Authorization": f"Bearer {secret}"})

    # The scope is checked before the body is looked at.
    error_of(answer, 403, "forbidden")
    assert head_seq(tb, tenant) == 1  # the refusal's audit event, and nothing else


def test_an_ingest_only_key_cannot_read(client: TestClient, tb: Trailbook, tenant: Tenant,
                                        anonymous: TestClient) -> None:
    secret = setup_key(tb, tenant, ("ingest",))
    auth = {"Authorization": f"Bearer {secret}"}
    posted = anonymous.post(EVENTS, json=minimal_event(), headers=auth)
    assert posted.status_code == 201
    event_id = posted.json()["events"][0]["id"]

    for path in (EVENTS, f"{EVENTS}/{event_id}", "/api/v1/verify", "/api/v1/checkpoints"):
        error = error_of(anonymous.get(path, headers=auth), 403, "forbidden")
        assert "read" in error["message"], path
    assert client.get(f"{EVENTS}/{event_id}").status_code == 200
    denied = client.get(EVENTS, params={"action": "access.denied"}).json()["events"]
    assert sorted(e["metadata"]["path"] for e in denied) == sorted(
        ["/api/v1/events", f"/api/v1/events/{event_id}", "/api/v1/verify",
         "/api/v1/checkpoints"])


# -- tenants are apart ------------------------------------------------------------------


def test_a_key_of_another_tenant_sees_nothing_of_this_one(
    client: TestClient, tb: Trailbook, anonymous: TestClient
) -> None:
    posted = client.post(EVENTS, json=minimal_event(
        action="miner.reboot", description="secret reboot of rack B4", scope="finance",
        actor={"id": "u-alice", "email": "alice@example.com"},
        source={"ip": "10.9.8.7"}, request_id="req-secret",
        targets=[{"id": "rig-1", "name": "Rig One", "type": "miner"}],
    ))
    assert posted.status_code == 201
    event_id = posted.json()["events"][0]["id"]

    beta = tb.tenants.create("beta")
    secret = setup_key(tb, beta)
    auth = {"Authorization": f"Bearer {secret}"}

    error_of(anonymous.get(f"{EVENTS}/{event_id}", headers=auth), 404, "not_found")
    for params in ({}, {"q": "secret"}, {"q": "reboot rack"}, {"action": "miner.reboot"},
                   {"action": "miner.*"}, {"actor": "alice"}, {"actor_id": "u-alice"},
                   {"actor_email": "alice@example.com"}, {"ip": "10.0.0.0/8"},
                   {"ip": "10.9.8.7"}, {"target": "rig-1"}, {"target": "rig"},
                   {"target_name": "Rig One"}, {"scope": "finance"},
                   {"request_id": "req-secret"}, {"category": "general"},
                   {"severity": "info"}, {"since": "30d"}):
        answer = anonymous.get(EVENTS, params=params, headers=auth)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"events": [], "next_cursor": None}, params
    report = anonymous.get("/api/v1/verify", headers=auth).json()
    assert (report["tenant"], report["last_seq"]) == ("beta", 0)

    # Beta's own event gets seq 1 of beta's chain, and acme sees only its own.
    own = anonymous.post(EVENTS, json=minimal_event(action="miner.reboot"), headers=auth)
    assert own.json()["events"][0]["seq"] == 1
    seen = client.get(EVENTS, params={"action": "miner.reboot"}).json()["events"]
    assert [e["id"] for e in seen] == [event_id]
    error_of(client.get(f"{EVENTS}/{own.json()['events'][0]['id']}"), 404, "not_found")


# -- public, documented parts ---------------------------------------------------------


def test_public_keys_need_no_auth_and_match_the_checkpoints(
    client: TestClient, anonymous: TestClient, tb: Trailbook
) -> None:
    every = tb.settings.checkpoint_every_events
    assert client.post(EVENTS, json=[minimal_event()] * every).status_code == 201

    answer = anonymous.get("/api/v1/keys")

    assert answer.status_code == 200, answer.text
    (key,) = answer.json()["keys"]
    assert key["algorithm"] == "Ed25519"
    raw = base64.b64decode(key["public_key"])
    assert len(raw) == 32
    public = Ed25519PublicKey.from_public_bytes(raw)
    from_pem = serialization.load_pem_public_key(key["public_key_pem"].encode())
    assert isinstance(from_pem, Ed25519PublicKey)
    assert from_pem.public_bytes(serialization.Encoding.Raw,
                                 serialization.PublicFormat.Raw) == raw

    checkpoints = client.get("/api/v1/checkpoints").json()["checkpoints"]
    assert [c["seq"] for c in checkpoints] == [every]
    for checkpoint in checkpoints:
        assert checkpoint["key_id"] == key["key_id"]
        assert checkpoint["tenant"] == "acme"
        assert checkpoint["tree_size"] == checkpoint["seq"]
        payload = checkpoint_payload("acme", checkpoint["seq"], bytes.fromhex(checkpoint["hash"]),
                                     checkpoint["time"], checkpoint["key_id"],
                                     bytes.fromhex(checkpoint["tree_root"]))
        public.verify(bytes.fromhex(checkpoint["signature"]), payload)
    report = client.get("/api/v1/verify").json()
    assert report["ok"] is True
    assert report["checkpoints_checked"] == 1
    assert report["last_checkpoint_seq"] == every


def test_openapi_documents_ingest_with_the_event_schema(anonymous: TestClient) -> None:
    answer = anonymous.get("/openapi.json")

    assert answer.status_code == 200, answer.text
    spec = answer.json()
    post = spec["paths"]["/api/v1/events"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    refs = [schema.get("$ref")] + [s.get("$ref") or s.get("items", {}).get("$ref")
                                   for s in schema.get("oneOf", [])]
    assert "#/components/schemas/EventIn" in refs
    event_in = spec["components"]["schemas"]["EventIn"]
    assert set(event_in["required"]) == {"action", "actor"}
    for field in ("action", "actor", "occurred_at", "category", "targets", "source",
                  "metadata", "idempotency_key"):
        assert field in event_in["properties"], field
    # Every $ref in the document resolves.
    text = answer.text
    for name in ("ActorIn", "TargetIn", "SourceIn", "ChangeIn"):
        if f"#/components/schemas/{name}" in text:
            assert name in spec["components"]["schemas"], name
    assert "get" in spec["paths"]["/api/v1/events"]
    assert "get" in spec["paths"]["/api/v1/events/{event_id}"]


def test_openapi_event_schema_does_not_offer_server_owned_fields(anonymous: TestClient) -> None:
    properties = anonymous.get("/openapi.json").json()["components"]["schemas"]["EventIn"][
        "properties"]

    assert not {"id", "tenant", "seq", "received_at", "hash"} & set(properties)


def test_docs_page_answers(anonymous: TestClient) -> None:
    answer = anonymous.get("/docs")

    assert answer.status_code == 200
    assert "text/html" in answer.headers["content-type"]
    assert "/openapi.json" in answer.text


def test_health_needs_no_auth(anonymous: TestClient) -> None:
    answer = anonymous.get("/api/v1/health")

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
