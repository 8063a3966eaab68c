"""Retention as a service: the policies and legal holds staff manage (``rules``); the
purge run that applies them (``run``)."""

from trailbook.service.retention.rules import (
    DEFAULT_CATEGORY,
    PERMISSION,
    RetentionRules,
    effective_keep_days,
)

__all__ = ["DEFAULT_CATEGORY", "PERMISSION", "RetentionRules", "effective_keep_days"]
