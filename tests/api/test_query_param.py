"""GET /api/v1/events?query=…: the query language through the API, on both backends:
results, negation, combination with the other parameters, and a 400 naming the
position of a malformed query."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import minimal_event

EVENTS = "/api/v1/events"


@pytest.fixture
def posted(client: TestClient) -> list[dict[str, Any]]:
    batch = [
        minimal_event(action="miner.reboot", category="device",
                      actor={"id": "u-1", "email": "alice@example.com"},
                      source={"ip": "10.1.2.3"}, description="Rebooted rack B4"),
        minimal_event(action="miner.pool.change", category="device", result="failure",
                      reason="pool unreachable", source={"ip": "192.0.2.9"}),
        minimal_event(action="user.login", category="access", scope="test",
                      actor={"id": "u-2", "email": "bob@example.com"}),
        minimal_event(action="user.login", category="access", result="failure",
                      reason="wrong password", source={"ip": "10.9.9.9"}),
    ]
    answer = client.post(EVENTS, json=batch)
    assert answer.status_code == 201, answer.text
    return list(answer.json()["events"])


def seqs(client: TestClient, **params: str) -> list[int]:
    answer = client.get(EVENTS, params=params)
    assert answer.status_code == 200, answer.text
    return [e["seq"] for e in answer.json()["events"]]


@pytest.mark.parametrize(("query", "expected"), [
    ("action:miner.*", [2, 1]),
    ("action:miner.* -result:failure", [1]),
    ("result:failure ip:10.0.0.0/8", [4]),
    ("actor:alice", [1]),
    ("actor.email:BOB@example.com", [3]),
    ('"rack b4"', [1]),
    ("-category:access", [2, 1]),
    ("-scope:test category:access", [4]),
    ("unreachable OR", []),  # words AND: there is no OR operator
    ("after:2000-01-01 -reboot", [4, 3, 2]),
])
def test_query(client: TestClient, posted: Any, query: str, expected: list[int]) -> None:
    assert seqs(client, query=query) == expected


def test_query_ands_with_parameters(client: TestClient, posted: Any) -> None:
    assert seqs(client, query="-ip:192.0.2.0/24", result="failure") == [4]


def test_malformed_query_is_a_400_with_the_position(client: TestClient, posted: Any) -> None:
    answer = client.get(EVENTS, params={"query": "action:miner.* reslt:failure"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "query_syntax"
    assert error["position"] == 16
    assert error["details"][0]["field"] == "query"
    assert "unknown field 'reslt'" in error["details"][0]["reason"]


def test_a_field_given_twice_is_refused(client: TestClient, posted: Any) -> None:
    answer = client.get(EVENTS, params={"query": "result:failure", "result": "success"})
    assert answer.status_code == 422
    assert "set in the query and as a parameter" in answer.text


def test_tags_are_searched_and_a_malformed_one_is_refused(client: TestClient,
                                                          posted: Any) -> None:
    # No event is tagged (tests/api/test_annotations.py tags some).
    assert seqs(client, query="tag:vip") == []
    assert seqs(client, query="-tag:vip category:device") == [2, 1]
    answer = client.get(EVENTS, params={"query": "tag:two,bad!"})
    assert answer.status_code == 400
    assert answer.json()["error"]["position"] == 5
