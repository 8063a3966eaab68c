"""Merkle proofs over HTTP, checked the way a third party would: with nothing but the
answers, the public key and the event as the API returns it."""

from __future__ import annotations

import base64
import random
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient

from conftest import minimal_event
from staff_helpers import add_user, sign_in
from trailbook.api.app import create_app
from trailbook.integrity.canonical import canonical_json
from trailbook.integrity.merkle import leaf_hash, verify_consistency, verify_inclusion
from trailbook.integrity.signing import checkpoint_payload
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant


def _post(client: TestClient, count: int, offset: int = 0) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        size = min(count - len(ids), 300)
        batch = [minimal_event(action="miner.reboot", description=f"reboot {offset + len(ids) + i}",
                               metadata={"n": offset + len(ids) + i, "é": "ü"})
                 for i in range(size)]
        answer = client.post("/api/v1/events", json=batch)
        assert answer.status_code == 201, answer.text
        ids += [e["id"] for e in answer.json()["events"]]
    return ids


def _public_key(client: TestClient) -> Ed25519PublicKey:
    raw = client.get("/api/v1/keys").json()["keys"][0]["public_key"]
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw))


def _signed(public: Ed25519PublicKey, checkpoint: dict[str, Any]) -> bool:
    payload = checkpoint_payload(checkpoint["tenant"], checkpoint["seq"],
                                 bytes.fromhex(checkpoint["hash"]), checkpoint["time"],
                                 checkpoint["key_id"], bytes.fromhex(checkpoint["tree_root"]))
    public.verify(bytes.fromhex(checkpoint["signature"]), payload)
    return checkpoint["tree_size"] == checkpoint["seq"]


def test_inclusion_and_consistency_proofs_check_out_offline(client: TestClient,
                                                            tb: Trailbook) -> None:
    first = _post(client, 700)
    tb.checkpoints.checkpoint_pending()
    second = _post(client, 333, offset=700)
    tb.checkpoints.checkpoint_pending()
    public = _public_key(client)
    checkpoints = client.get("/api/v1/checkpoints").json()["checkpoints"]
    seqs = [c["seq"] for c in checkpoints]
    assert {700, 1033} <= set(seqs) and seqs == sorted(seqs)
    assert all(_signed(public, c) for c in checkpoints)

    rng = random.Random(5)
    for event_id in rng.sample(first, 25) + rng.sample(second, 10) + [first[0], second[-1]]:
        event = client.get(f"/api/v1/events/{event_id}").json()
        proof = client.get(f"/api/v1/events/{event_id}/proof").json()
        # The leaf is the event's canonical form, which anyone can recompute.
        leaf = leaf_hash(canonical_json({k: v for k, v in event.items() if k != "hash"}))
        assert proof["leaf_hash"] == leaf.hex()
        assert proof["leaf_index"] == event["seq"] - 1
        signed = proof["checkpoint"]
        assert signed["seq"] >= event["seq"] and _signed(public, signed)
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert verify_inclusion(leaf, proof["leaf_index"], signed["tree_size"], path,
                                bytes.fromhex(signed["tree_root"]))
        # ... and it fails for any other event or position.
        assert not verify_inclusion(leaf_hash(b"forged"), proof["leaf_index"],
                                    signed["tree_size"], path, bytes.fromhex(signed["tree_root"]))
    # Against a later checkpoint than the first covering one.
    later = client.get(f"/api/v1/events/{first[3]}/proof", params={"checkpoint": 1033}).json()
    assert later["tree_size"] == 1033
    assert verify_inclusion(bytes.fromhex(later["leaf_hash"]), 3, 1033,
                            [bytes.fromhex(h) for h in later["audit_path"]],
                            bytes.fromhex(later["checkpoint"]["tree_root"]))

    for old in seqs:
        for new in seqs[seqs.index(old):]:
            body = client.get("/api/v1/checkpoints/consistency",
                              params={"from": old, "to": new}).json()
            assert _signed(public, body["from"]) and _signed(public, body["to"])
            assert verify_consistency(old, new, bytes.fromhex(body["from"]["tree_root"]),
                                      bytes.fromhex(body["to"]["tree_root"]),
                                      [bytes.fromhex(h) for h in body["proof"]]), (old, new)
    body = client.get("/api/v1/checkpoints/consistency",
                      params={"from": 700, "to": 1033}).json()
    assert not verify_consistency(700, 1033, bytes.fromhex(body["to"]["tree_root"]),
                                  bytes.fromhex(body["to"]["tree_root"]),
                                  [bytes.fromhex(h) for h in body["proof"]])


def test_proof_errors_name_the_field(client: TestClient, tb: Trailbook) -> None:
    [early] = _post(client, 1)
    tb.checkpoints.checkpoint_pending()
    [late] = _post(client, 1, offset=1)
    uncovered = client.get(f"/api/v1/events/{late}/proof")
    assert uncovered.status_code == 404
    assert uncovered.json()["error"]["details"][0]["field"] == "checkpoint"
    before = client.get(f"/api/v1/events/{late}/proof", params={"checkpoint": 1})
    assert before.status_code == 422
    missing = client.get(f"/api/v1/events/{early}/proof", params={"checkpoint": 99})
    assert missing.status_code == 404
    unknown = client.get("/api/v1/events/0190a5a2-0000-7000-8000-000000000000/proof")
    assert unknown.status_code == 404
    backwards = client.get("/api/v1/checkpoints/consistency", params={"from": 2, "to": 1})
    assert backwards.status_code == 422
    assert backwards.json()["error"]["details"][0]["field"] == "from"
    absent = client.get("/api/v1/checkpoints/consistency", params={"from": 1, "to": 5})
    assert absent.status_code == 404
    assert absent.json()["error"]["details"][0]["field"] == "to"


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_roles_without_verify_get_no_proofs(tb: Trailbook, tenant: Tenant,
                                            client: TestClient, role: str) -> None:
    [event_id] = _post(client, 1)
    tb.checkpoints.checkpoint_pending()
    add_user(tb, tenant, f"{role}@acme.example", role)
    http = sign_in(create_app(tb), f"{role}@acme.example")
    answer = http.get(f"/api/v1/events/{event_id}/proof")
    assert answer.status_code == 403
    assert "integrity.verify" in orjson.dumps(answer.json()).decode()
