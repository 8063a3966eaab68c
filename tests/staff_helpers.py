"""Signing staff in through the API, for tests of accounts, roles and sessions."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant, User

PASSWORD = "a long staff password 1"
LOGIN = "/api/v1/auth/login"


def add_user(tb: Trailbook, tenant: Tenant, email: str, role: str,
             password: str = PASSWORD) -> User:
    """A user made from the command line (as an operator would)."""
    return tb.users.add(tenant, email, email.partition("@")[0], role, password, by=None,
                        context=CLI)[0]


def sign_in(app: FastAPI, email: str, password: str = PASSWORD) -> TestClient:
    """A client holding the user's session cookie and sending its CSRF token."""
    http = TestClient(app)
    answer = http.post(LOGIN, json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return http


def actions(events: list[dict[str, Any]]) -> list[str]:
    return [e["action"] for e in events]
