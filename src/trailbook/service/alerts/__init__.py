"""Alerts as a service: rules and channels managed (``admin``), events matched after
they are stored (``evaluator``), the outbox delivered (``delivery``), and the loop
that runs both in a serving process (``runner``)."""

from trailbook.service.alerts.admin import AlertAdmin, RuleSpec, TestOutcome
from trailbook.service.alerts.delivery import AlertDelivery
from trailbook.service.alerts.evaluator import AlertEvaluator
from trailbook.service.alerts.runner import AlertRunner

__all__ = ["AlertAdmin", "AlertDelivery", "AlertEvaluator", "AlertRunner", "RuleSpec",
           "TestOutcome"]
