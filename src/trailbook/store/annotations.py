"""Annotations (comments and tags on events): one SQL text for both backends, run
through their ``SqlRunner`` adapters (see ``trailbook.store.accounts``). Append-only:
there is no way here to change or remove one, and the database refuses it too."""

from __future__ import annotations

from trailbook.errors import Conflict, ErrorDetail
from trailbook.store.accounts import Row, SqlRunner
from trailbook.store.records import Annotation

_COLUMNS = ("id, tenant_id, event_pos, event_id, kind, body, author_user_id, author_email,"
            " author_name, created_at")
# Oldest first; ids are time-ordered, so they settle ties of the same microsecond.
_ORDER = " ORDER BY created_at, id"
PAGE = 1000


def _annotation(row: Row) -> Annotation:
    return Annotation(str(row[0]), int(row[1]), int(row[2]), str(row[3]), str(row[4]),
                      str(row[5]), int(row[6]), str(row[7]), str(row[8]), str(row[9]))


class AnnotationStore:
    def __init__(self, runner: SqlRunner) -> None:
        self._run = runner

    def add(self, annotation: Annotation) -> tuple[Annotation, bool]:
        """Store ``annotation``: (it, True). A tag the event already has is not stored
        again: (the stored one, False)."""
        a = annotation
        _, changed = self._run.write(
            f"INSERT INTO annotations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (a.id, a.tenant_id, a.event_pos, a.event_id, a.kind, a.body, a.author_user_id,
             a.author_email, a.author_name, a.created_at))
        if changed:
            return a, True
        if a.kind == "tag":
            rows = self._run.read(
                f"SELECT {_COLUMNS} FROM annotations WHERE tenant_id = ? AND kind = 'tag'"
                " AND body = ? AND event_pos = ?", (a.tenant_id, a.body, a.event_pos))
            if rows:
                return _annotation(rows[0]), False
        raise Conflict("an annotation with that id exists", [ErrorDetail("id", a.id)])

    def for_event(self, tenant_id: int, event_pos: int) -> list[Annotation]:
        """The event's comments and tags, oldest first."""
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM annotations WHERE tenant_id = ? AND event_pos = ?"
            + _ORDER, (tenant_id, event_pos))
        return [_annotation(r) for r in rows]

    def tags_of(self, tenant_id: int, positions: list[int]) -> dict[int, frozenset[str]]:
        """The tags of the events at ``positions`` (those with any), to evaluate
        filters on documents (``query.evaluate``) with their tags."""
        found: dict[int, set[str]] = {}
        for start in range(0, len(positions), 500):
            chunk = positions[start:start + 500]
            for pos, tag in self._run.read(
                "SELECT event_pos, body FROM annotations WHERE tenant_id = ? AND kind = 'tag'"
                f" AND event_pos IN ({', '.join('?' * len(chunk))})", (tenant_id, *chunk)):
                found.setdefault(int(pos), set()).add(str(tag))
        return {pos: frozenset(tags) for pos, tags in found.items()}

    def for_tenant(self, tenant_id: int, after_id: str = "",
                   limit: int = PAGE) -> list[Annotation]:
        """A page of the tenant's annotations in id order, after ``after_id`` (for
        copying a trail)."""
        rows = self._run.read(
            f"SELECT {_COLUMNS} FROM annotations WHERE tenant_id = ? AND id > ?"
            " ORDER BY id LIMIT ?", (tenant_id, after_id, limit))
        return [_annotation(r) for r in rows]
