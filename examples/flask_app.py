"""A Flask app audited by Trailbook: a tiny notes API.

Run it (with a Trailbook server and an API key with the ingest scope)::

    TRAILBOOK_URL=http://127.0.0.1:8600 TRAILBOOK_API_KEY=tb_... \
        flask --app examples/flask_app.py run --port 8000
    curl -X POST localhost:8000/notes -H 'Authorization: Bearer alice-token' \
        -H 'Content-Type: application/json' -d '{"text": "hello"}'

The WSGI middleware wraps ``app.wsgi_app``: every request but /health is logged as an
``http.request`` access event, and the views' own ``note.create`` / ``note.delete``
events get the request's actor, IP, user agent and request id from its context.
Settings from the environment: TRAILBOOK_URL, TRAILBOOK_API_KEY,
TRAILBOOK_TRUSTED_PROXIES (comma-separated, default none), TRAILBOOK_SPOOL."""

from __future__ import annotations

import itertools
import os
from typing import Any

from flask import Flask, abort, request

from trailbook.integrations.wsgi import TrailbookMiddleware
from trailbook.sdk import Client

# Demo tokens; a real app checks its own sessions here.
USERS = {"alice-token": {"id": "u-alice", "name": "Alice", "email": "alice@example.com"},
         "bob-token": {"id": "u-bob", "name": "Bob"}}

client = Client(os.environ["TRAILBOOK_URL"], os.environ["TRAILBOOK_API_KEY"],
                spool_path=os.environ.get("TRAILBOOK_SPOOL") or None)


def user_of(environ: Any) -> dict[str, Any] | None:
    """The actor of a request, from its bearer token (None: anonymous)."""
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    return USERS.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None


app = Flask(__name__)
app.wsgi_app = TrailbookMiddleware(  # type: ignore[method-assign]
    app.wsgi_app, client, user=user_of,
    trusted_proxies=os.environ.get("TRAILBOOK_TRUSTED_PROXIES", ""),
    skip_paths=["/health"],
)
notes: dict[str, str] = {}
ids = itertools.count(1)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/notes")
def create_note() -> tuple[dict[str, str], int]:
    text = str((request.get_json(silent=True) or {}).get("text", ""))
    note_id = f"n-{next(ids)}"
    notes[note_id] = text
    client.log("note.create", targets=[{"type": "note", "id": note_id}],
               changes=[{"field": "text", "old": None, "new": text}])
    return {"id": note_id, "text": text}, 201


@app.get("/notes/<note_id>")
def read_note(note_id: str) -> dict[str, str]:
    if note_id not in notes:
        abort(404)
    return {"id": note_id, "text": notes[note_id]}


@app.delete("/notes/<note_id>")
def delete_note(note_id: str) -> tuple[str, int]:
    text = notes.pop(note_id, None)
    if text is None:
        abort(404)
    client.log("note.delete", targets=[{"type": "note", "id": note_id}],
               changes=[{"field": "text", "old": text, "new": None}])
    return "", 204
