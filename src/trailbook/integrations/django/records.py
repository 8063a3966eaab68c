"""Model changes as events: one record per changed object, logged alone or gathered
into a changeset (one event naming every target).

An event holds at most 64 targets, 256 changes and 32 KiB of changes (docs/events.md),
so a changeset larger than that is logged as several parts that share
``metadata.changeset.id`` (``part`` i of ``parts``); every target is still named.
Events are logged once the database transaction commits (``transaction.on_commit``):
a rolled-back change leaves no event."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Model

from trailbook.integrations._request import logger
from trailbook.integrations.django.conf import config, get_client
from trailbook.sdk.context import current_context

MAX_TARGETS = 64
MAX_CHANGES = 256
CHANGES_BUDGET = 30_000  # bytes of changes JSON per event, under the 32 KiB limit
MAX_TEXT = 1000  # a longer string value is cut, ending in "…"
MAX_SAFE_INTEGER = 2**53 - 1
MASK = "***"
_ACTION_SEGMENT = re.compile(r"[^a-z0-9_-]+")


def label_of(model: type[Model]) -> str:
    """``shop.product``: the target type and the action prefix of a model."""
    meta = model._meta
    app = _ACTION_SEGMENT.sub("_", meta.app_label.lower()) or "app"
    name = _ACTION_SEGMENT.sub("_", meta.model_name or "model") or "model"
    return f"{app}.{name}"


def jsonable(value: Any, depth: int = 0) -> Any:
    """A field value as event JSON: exact where JSON allows, text elsewhere."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT - 1] + "…"
    if isinstance(value, int):
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping) and depth < 5:
        return {str(k)[:128]: jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple) and depth < 5:
        return [jsonable(v, depth + 1) for v in value]
    name = getattr(value, "name", None)  # FieldFile
    if isinstance(name, str) and hasattr(value, "storage"):
        return name
    return jsonable(str(value), depth)


@dataclass(slots=True)
class Record:
    """One object's change: ``op`` is create, update or delete; ``changes`` are
    ``(field, old, new)`` with JSON values."""

    model: type[Model]
    pk: str
    name: str | None
    op: str
    changes: list[tuple[str, Any, Any]]

    @property
    def label(self) -> str:
        return label_of(self.model)

    def target(self) -> dict[str, Any]:
        target: dict[str, Any] = {"id": self.pk[:256], "type": self.label[:64]}
        if self.name:
            target["name"] = self.name[:256]
        return target


@dataclass
class Changeset:
    """The records gathered by ``changeset()``; logged as one event when it ends."""

    action: str | None = None
    description: str | None = None
    records: list[Record] = field(default_factory=list)
    using: str | None = None

    def add(self, record: Record, using: str) -> None:
        self.records.append(record)
        self.using = self.using or using


_CURRENT: ContextVar[Changeset | None] = ContextVar("trailbook_changeset", default=None)


@contextmanager
def changeset(action: str | None = None, *, description: str | None = None,
              using: str | None = None) -> Iterator[Changeset]:
    """Gather every audited model change made inside into ONE event (in parts of at
    most 64 targets when larger). ``action`` defaults to ``<app>.<model>.bulk_<op>``
    when all changes are of one model and kind, else ``db.changeset``. A changeset
    inside another joins the outer one. Wrap it in ``transaction.atomic()`` to tie
    the event to one transaction; on an exception nothing is logged unless the
    changes were already committed (outside any transaction)."""
    outer = _CURRENT.get()
    if outer is not None:
        yield outer
        return
    current = Changeset(action, description, using=using)
    token = _CURRENT.set(current)
    try:
        yield current
    except BaseException:
        _CURRENT.reset(token)
        if current.records and not transaction.get_connection(
                current.using or "default").in_atomic_block:
            _log_changeset(current)
        raise
    _CURRENT.reset(token)
    if current.records:
        records = Changeset(current.action, current.description, list(current.records),
                            current.using)
        transaction.on_commit(lambda: _log_changeset(records), using=records.using)


def emit(record: Record, using: str) -> None:
    """Log ``record`` when its transaction commits, or add it to the open changeset."""
    current = _CURRENT.get()
    if current is not None:
        current.add(record, using)
        return
    transaction.on_commit(lambda: _log_record(record), using=using)


def _changes_json(changes: list[tuple[str, Any, Any]], prefix: str = "") -> list[dict[str, Any]]:
    return [{"field": f"{prefix}{name}"[:256], "old": old, "new": new}
            for name, old, new in changes]


def _actor() -> dict[str, Any] | None:
    """None when the context has an actor (the client takes it), else the system's."""
    return None if current_context().actor is not None else dict(config().system_actor)


def _log(action: str, **fields: Any) -> None:
    try:
        get_client().log(action, actor=_actor(), category=config().category, **fields)
    except Exception:
        logger.warning("could not log the audit event %s", action, exc_info=True)


def _log_record(record: Record) -> None:
    changes = _changes_json(record.changes)
    if len(changes) > MAX_CHANGES or _size(changes) > CHANGES_BUDGET:
        _log_changeset(Changeset(f"{record.label}.{record.op}", None, [record]))
        return
    _log(f"{record.label}.{record.op}", action_type=record.op, targets=[record.target()],
         changes=changes)


def _size(changes: list[dict[str, Any]]) -> int:
    return len(json.dumps(changes, ensure_ascii=False, separators=(",", ":")).encode())


def _parts(records: list[Record]) -> list[list[tuple[Record, list[dict[str, Any]]]]]:
    """Records in groups that fit one event: ≤64 targets, ≤256 changes, ≤30 KB."""
    parts: list[list[tuple[Record, list[dict[str, Any]]]]] = [[]]
    count = size = 0
    for record in records:
        changes = _changes_json(record.changes, f"{record.label}:{record.pk}.")
        cost = _size(changes) + 1
        if len(changes) > MAX_CHANGES or cost > CHANGES_BUDGET:
            changes, cost = [], 0  # too big for any event: the target alone
        current = parts[-1]
        if current and (len(current) >= MAX_TARGETS or count + len(changes) > MAX_CHANGES
                        or size + cost > CHANGES_BUDGET):
            parts.append([])
            count = size = 0
        parts[-1].append((record, changes))
        count += len(changes)
        size += cost
    return parts


def _log_changeset(cs: Changeset) -> None:
    kinds = Counter(f"{r.label}.{r.op}" for r in cs.records)
    if cs.action:
        action = cs.action
    elif len(kinds) == 1:
        label, _, op = next(iter(kinds)).rpartition(".")
        action = f"{label}.bulk_{op}"
    else:
        action = "db.changeset"
    ops = {r.op for r in cs.records}
    action_type = next(iter(ops)) if len(ops) == 1 else "update"
    parts = _parts(cs.records)
    ident = uuid.uuid4().hex
    for number, part in enumerate(parts, start=1):
        meta: dict[str, Any] = {"id": ident, "count": len(cs.records),
                                "operations": dict(kinds)}
        if len(parts) > 1:
            meta.update(part=number, parts=len(parts))
        description = cs.description or ", ".join(
            f"{n} x {kind}" for kind, n in sorted(kinds.items()))
        _log(action, action_type=action_type, description=description[:2000],
             targets=[record.target() for record, _ in part],
             changes=[change for _, changes in part for change in changes],
             metadata={"changeset": meta})
