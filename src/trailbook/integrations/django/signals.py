"""Signal receivers: ``pre_save`` reads the row as stored (one query by primary key),
``post_save`` logs ``<app>.<model>.create`` with every field or ``.update`` with the
fields that differ (no event when nothing changed), ``post_delete`` logs ``.delete``
with the last values. Receivers are connected per audited model (``MODELS``), so
other models keep Django's fast paths."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.core.signals import setting_changed
from django.db.models import Field, Model
from django.db.models.signals import post_delete, post_save, pre_save

from trailbook.integrations.django.conf import config
from trailbook.integrations.django.records import MASK, Record, emit, jsonable

SNAPSHOT = "_trailbook_stored"
# Models Django keeps for itself: auditing them is noise ("__all__" skips them).
NOT_BY_DEFAULT = frozenset({"sessions", "contenttypes", "admin", "migrations", "trailbook"})
_fields_cache: dict[type[Model], list[Field[Any, Any]]] = {}


def is_audited(model: type[Model]) -> bool:
    models = config().models
    meta = model._meta
    if meta.abstract:
        return False
    if models is None:
        return meta.app_label not in NOT_BY_DEFAULT
    return (meta.app_label.lower() in models
            or f"{meta.app_label}.{meta.object_name}".lower() in models)


def tracked_fields(model: type[Model]) -> list[Field[Any, Any]]:
    """The concrete fields whose changes are recorded (not the primary key, not the
    excluded ones)."""
    found = _fields_cache.get(model)
    if found is None:
        exclude = config().exclude_fields
        prefix = f"{model._meta.app_label}.{model._meta.model_name}.".lower()
        found = [f for f in model._meta.concrete_fields
                 if not f.primary_key and f.name.lower() not in exclude
                 and prefix + f.name.lower() not in exclude]
        _fields_cache[model] = found
    return found


def _masked(model: type[Model], name: str) -> bool:
    mask = config().mask_fields
    return (name.lower() in mask
            or f"{model._meta.app_label}.{model._meta.model_name}.{name}".lower() in mask)


def shown(model: type[Model], name: str, value: Any) -> Any:
    if value is not None and _masked(model, name):
        return MASK
    return jsonable(value)


def _normal(field: Field[Any, Any], value: Any) -> Any:
    try:
        return field.to_python(value)
    except Exception:
        return value


def diff(model: type[Model], fields: Iterable[Field[Any, Any]], stored: dict[str, Any],
         values: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """``(field, old, new)`` for the fields whose value differs."""
    changes = []
    for f in fields:
        if f.attname not in stored or f.attname not in values:
            continue
        old, new = stored[f.attname], values[f.attname]
        if old == new:
            continue
        normal = _normal(f, new)
        if old == normal or jsonable(old) == jsonable(normal):
            continue
        changes.append((f.name, shown(model, f.name, old), shown(model, f.name, normal)))
    return changes


def full(model: type[Model], fields: Iterable[Field[Any, Any]], values: dict[str, Any],
         *, old: bool) -> list[tuple[str, Any, Any]]:
    """Every field: ``(field, None, value)`` for a new object, ``(field, value, None)``
    for a deleted one."""
    out = []
    for f in fields:
        value = shown(model, f.name, values.get(f.attname))
        out.append((f.name, value, None) if old else (f.name, None, value))
    return out


def instance_values(instance: Model, fields: Iterable[Field[Any, Any]]) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname, None) for f in fields}


def name_of(instance: Model) -> str | None:
    try:
        return str(instance)[:256] or None
    except Exception:
        return None


def _fields_for(sender: type[Model], update_fields: Iterable[str] | None
                ) -> list[Field[Any, Any]]:
    fields = tracked_fields(sender)
    if update_fields is None:
        return fields
    wanted = set(update_fields)
    return [f for f in fields if f.name in wanted or f.attname in wanted]


def on_pre_save(sender: type[Model], instance: Model, raw: bool = False,
                using: str = "default", update_fields: Iterable[str] | None = None,
                **kwargs: Any) -> None:
    if raw or instance._state.adding or instance.pk is None:
        return
    fields = _fields_for(sender, update_fields)
    # [:1], not first(): no ORDER BY to build or run.
    rows = list(sender._base_manager.using(using).filter(pk=instance.pk)
                .values(*(f.attname for f in fields))[:1])
    instance.__dict__[SNAPSHOT] = rows[0] if rows else None


def on_post_save(sender: type[Model], instance: Model, created: bool = False,
                 raw: bool = False, using: str = "default",
                 update_fields: Iterable[str] | None = None, **kwargs: Any) -> None:
    stored = instance.__dict__.pop(SNAPSHOT, None)
    if raw:
        return
    fields = _fields_for(sender, update_fields)
    values = instance_values(instance, fields)
    if created or stored is None:
        record = Record(sender, str(instance.pk), name_of(instance), "create",
                        full(sender, fields, values, old=False))
    else:
        changes = diff(sender, fields, stored, values)
        if not changes:
            return
        record = Record(sender, str(instance.pk), name_of(instance), "update", changes)
    emit(record, using)


def on_post_delete(sender: type[Model], instance: Model, using: str = "default",
                   **kwargs: Any) -> None:
    fields = tracked_fields(sender)
    record = Record(sender, str(instance.pk), name_of(instance), "delete",
                    full(sender, fields, instance_values(instance, fields), old=True))
    emit(record, using)


def connect() -> None:
    """Connect the receivers to every audited model (called by the app's ready())."""
    _fields_cache.clear()
    for model in apps.get_models():
        uid = f"trailbook:{model._meta.label_lower}"
        if not is_audited(model):
            for signal in (pre_save, post_save, post_delete):
                signal.disconnect(sender=model, dispatch_uid=uid)
            continue
        pre_save.connect(on_pre_save, sender=model, dispatch_uid=uid, weak=False)
        post_save.connect(on_post_save, sender=model, dispatch_uid=uid, weak=False)
        post_delete.connect(on_post_delete, sender=model, dispatch_uid=uid, weak=False)


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "TRAILBOOK":
        _fields_cache.clear()


setting_changed.connect(_settings_changed, dispatch_uid="trailbook.integrations.django.signals")
