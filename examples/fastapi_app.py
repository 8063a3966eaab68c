"""A FastAPI app audited by Trailbook: a tiny notes API.

Run it (with a Trailbook server and an API key with the ingest scope)::

    TRAILBOOK_URL=http://127.0.0.1:8600 TRAILBOOK_API_KEY=tb_... \
        uvicorn --app-dir examples fastapi_app:app --port 8000
    curl -X POST localhost:8000/notes -H 'Authorization: Bearer alice-token' \
        -H 'Content-Type: application/json' -d '{"text": "hello"}'

Every request but /health is logged as an ``http.request`` access event; the routes log
``note.create`` and ``note.delete`` themselves, and the middleware's context gives those
events their actor, IP, user agent and request id. Settings from the environment:
TRAILBOOK_URL, TRAILBOOK_API_KEY, TRAILBOOK_TRUSTED_PROXIES (comma-separated, default
none) and TRAILBOOK_SPOOL (the client's spool file, default in ~/.cache/trailbook)."""

from __future__ import annotations

import itertools
import os
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from trailbook.integrations.asgi import TrailbookMiddleware
from trailbook.sdk import Client

# Demo tokens; a real app checks its own sessions or JWTs here.
USERS = {"alice-token": {"id": "u-alice", "name": "Alice", "email": "alice@example.com"},
         "bob-token": {"id": "u-bob", "name": "Bob"}}

client = Client(os.environ["TRAILBOOK_URL"], os.environ["TRAILBOOK_API_KEY"],
                spool_path=os.environ.get("TRAILBOOK_SPOOL") or None)


def user_of(scope: dict[str, Any]) -> dict[str, Any] | None:
    """The actor of a request, from its bearer token (None: anonymous)."""
    for key, value in scope.get("headers", ()):
        if key == b"authorization" and value.startswith(b"Bearer "):
            return USERS.get(value[7:].decode("latin-1"))
    return None


class NoteIn(BaseModel):
    text: str


app = FastAPI(title="notes")
app.add_middleware(
    TrailbookMiddleware, client=client, user=user_of,
    trusted_proxies=os.environ.get("TRAILBOOK_TRUSTED_PROXIES", ""),
    skip_paths=["/health"],
)
notes: dict[str, str] = {}
ids = itertools.count(1)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/notes", status_code=201)
def create_note(note: NoteIn) -> dict[str, str]:
    note_id = f"n-{next(ids)}"
    notes[note_id] = note.text
    client.log("note.create", targets=[{"type": "note", "id": note_id}],
               changes=[{"field": "text", "old": None, "new": note.text}])
    return {"id": note_id, "text": note.text}


@app.get("/notes/{note_id}")
def read_note(note_id: str) -> dict[str, str]:
    if note_id not in notes:
        raise HTTPException(404, "no such note")
    return {"id": note_id, "text": notes[note_id]}


@app.delete("/notes/{note_id}", status_code=204)
def delete_note(note_id: str) -> None:
    text = notes.pop(note_id, None)
    if text is None:
        raise HTTPException(404, "no such note")
    client.log("note.delete", targets=[{"type": "note", "id": note_id}],
               changes=[{"field": "text", "old": text, "new": None}])
