"""The Django app: add ``"trailbook.integrations.django"`` to ``INSTALLED_APPS`` and
``"trailbook.integrations.django.middleware.TrailbookMiddleware"`` to ``MIDDLEWARE``
(after ``AuthenticationMiddleware``), and configure it in ``settings.TRAILBOOK``::

    TRAILBOOK = {
        "URL": "https://audit.example.com", "API_KEY": "tb_...",
        "MODELS": ["shop.Product", "billing"],     # models, or whole apps, to audit
        "TRUSTED_PROXIES": ["10.0.0.0/8"],
        "SKIP_PATHS": ["/health", "/static"],
        "LOG_REQUESTS": True,
    }

Model saves and deletes become ``<app>.<model>.create|update|delete`` events with a
``changes`` diff; ``QuerySet.update()``, ``bulk_create``, ``bulk_update`` and
``delete()`` on models whose manager is ``AuditedManager`` (or a queryset of
``AuditedQuerySet``) become ONE changeset event naming every target, and so does
everything inside ``with changeset(...):``. See docs/sdk.md for every setting.

Exports (imported lazily, so that this package loads before Django is set up):
``changeset``, ``AuditedQuerySet``, ``AuditedManager``, ``get_client``."""

from __future__ import annotations

from typing import Any

__all__ = ["AuditedManager", "AuditedQuerySet", "changeset", "get_client"]

_WHERE = {
    "changeset": "trailbook.integrations.django.records",
    "AuditedQuerySet": "trailbook.integrations.django.queryset",
    "AuditedManager": "trailbook.integrations.django.queryset",
    "get_client": "trailbook.integrations.django.conf",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
