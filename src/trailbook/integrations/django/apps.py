"""The Django app config: connects the model signals of the audited models."""

from __future__ import annotations

from django.apps import AppConfig


class TrailbookConfig(AppConfig):  # type: ignore[misc]  # Django is untyped
    name = "trailbook.integrations.django"
    label = "trailbook"
    verbose_name = "Trailbook audit trail"

    def ready(self) -> None:
        from trailbook.integrations.django.signals import connect

        connect()
