"""Bulk operations as one changeset event.

Django sends no signals for ``QuerySet.update()``, ``bulk_create`` and ``bulk_update``,
and ``QuerySet.delete()`` sends one per object. On a model whose manager is
``AuditedManager()`` (or ``models.Manager.from_queryset(AuditedQuerySet)``, or a custom
QuerySet that inherits ``AuditedQuerySet``) each of these becomes ONE changeset event
``<app>.<model>.bulk_update|bulk_create|bulk_delete`` naming every target, with the
per-object ``changes`` (field ``shop.product:3.price``). ``update()`` reads the touched
rows before and after (in chunks by primary key), inside one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import models, transaction

from trailbook.integrations.django.records import Record, changeset, emit
from trailbook.integrations.django.signals import (
    diff,
    full,
    instance_values,
    is_audited,
    name_of,
    tracked_fields,
)

M = TypeVar("M", bound=models.Model)
CHUNK = 500  # primary keys per "pk IN (...)" query


class AuditedQuerySet(models.QuerySet[M]):  # type: ignore[misc]  # Django is untyped
    """A QuerySet whose bulk operations are audited as one changeset."""

    def _audited(self) -> bool:
        return is_audited(self.model)

    def _rows(self, pks: Sequence[Any], attnames: list[str]) -> dict[Any, dict[str, Any]]:
        rows: dict[Any, dict[str, Any]] = {}
        manager = self.model._base_manager.using(self.db)
        for start in range(0, len(pks), CHUNK):
            for row in manager.filter(pk__in=pks[start:start + CHUNK]).values(
                    "pk", *attnames):
                rows[row.pop("pk")] = row
        return rows

    def update(self, **kwargs: Any) -> int:
        if not self._audited():
            return int(super().update(**kwargs))
        names = set(kwargs)
        fields = [f for f in tracked_fields(self.model) if f.name in names or f.attname in names]
        attnames = [f.attname for f in fields]
        with transaction.atomic(using=self.db, savepoint=False), changeset(using=self.db):
            pks = list(self.values_list("pk", flat=True))
            before = self._rows(pks, attnames) if fields else {}
            count = int(super().update(**kwargs))
            after = self._rows(pks, attnames) if fields else {}
            names_by_pk = self._names(pks)
            for pk in pks:
                changes = diff(self.model, fields, before.get(pk, {}), after.get(pk, {}))
                emit(Record(self.model, str(pk), names_by_pk.get(pk), "update", changes),
                     self.db)
        return count

    def _names(self, pks: Sequence[Any]) -> dict[Any, str | None]:
        """Target names (``str(obj)``) of a few hundred objects; beyond, ids only."""
        if len(pks) > CHUNK:
            return {}
        manager = self.model._base_manager.using(self.db)
        return {obj.pk: name_of(obj) for obj in manager.filter(pk__in=list(pks))}

    def bulk_create(self, objs: Iterable[M], *args: Any, **kwargs: Any) -> list[M]:
        if not self._audited():
            return list(super().bulk_create(objs, *args, **kwargs))
        fields = tracked_fields(self.model)
        with transaction.atomic(using=self.db, savepoint=False), changeset(using=self.db):
            made: list[M] = list(super().bulk_create(objs, *args, **kwargs))
            for obj in made:
                emit(Record(self.model, str(obj.pk), name_of(obj), "create",
                            full(self.model, fields, instance_values(obj, fields), old=False)),
                     self.db)
        return made

    def bulk_update(self, objs: Iterable[M], fields: Sequence[str], *args: Any,
                    **kwargs: Any) -> int:
        if not self._audited():
            return int(super().bulk_update(objs, fields, *args, **kwargs) or 0)
        objs = list(objs)
        names = set(fields)
        tracked = [f for f in tracked_fields(self.model) if f.name in names or f.attname in names]
        attnames = [f.attname for f in tracked]
        with transaction.atomic(using=self.db, savepoint=False), changeset(using=self.db):
            pks = [obj.pk for obj in objs]
            before = self._rows(pks, attnames)
            count = int(super().bulk_update(objs, fields, *args, **kwargs) or 0)
            for obj in objs:
                changes = diff(self.model, tracked, before.get(obj.pk, {}),
                               instance_values(obj, tracked))
                emit(Record(self.model, str(obj.pk), name_of(obj), "update", changes),
                     self.db)
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted: tuple[int, dict[str, int]]
        # Deleting sends post_delete per object (and per cascaded object); the
        # changeset gathers them into one event.
        if not self._audited():
            deleted = super().delete()
            return deleted
        with transaction.atomic(using=self.db, savepoint=False), changeset(using=self.db):
            deleted = super().delete()
        return deleted


class AuditedManager(models.Manager.from_queryset(AuditedQuerySet)):  # type: ignore[misc]
    """``objects = AuditedManager()``: a manager whose bulk operations are audited."""
