"""Managing alerts: a tenant's channels and rules (``rules.manage``), every change
audited in ``admin`` with the old and new values (secrets redacted); the outbox read
and a dead delivery retried; a test message sent through a channel at once."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from trailbook.errors import Conflict, ErrorDetail, NotFound, ValidationFailed
from trailbook.model.timefmt import format_us, now_us
from trailbook.notify import channels as channel_kinds
from trailbook.notify.channels import DeliveryFailed
from trailbook.notify.engine import check_rule
from trailbook.notify.message import test_message
from trailbook.notify.records import CHANNEL_KINDS, DELIVERY_STATES, Channel, Delivery, Rule
from trailbook.service.access.audit import REDACTED, RequestContext, SelfAudit, change_list
from trailbook.service.access.principal import Principal
from trailbook.service.saved_searches import clean_name
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.records import Tenant

PERMISSION = "rules.manage"
MAX_QUERY = 2000
MAX_CHANNELS_PER_RULE = 10
MAX_LISTED = 500
# Rule fields a change may set to null: no grouping, the server's default quiet period.
NULLABLE = frozenset({"group_by", "quiet_seconds"})


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule as a caller describes it (by channel names)."""

    name: str
    query: str
    threshold: int = 1
    window_seconds: int = 0
    group_by: str | None = None
    quiet_seconds: int | None = None  # None: the server's default
    channels: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class TestOutcome:
    delivered: bool
    error: str | None
    seconds: float


def channel_view(channel: Channel) -> dict[str, Any]:
    """A channel with its secrets masked: what the API, pages and audit show."""
    return {"id": channel.id, "name": channel.name, "kind": channel.kind,
            "config": channel_kinds.masked_config(channel.kind, channel.config),
            "created_at": channel.created_at, "updated_at": channel.updated_at}


def _audited_config(channel: Channel) -> dict[str, Any]:
    masked = channel_kinds.masked_config(channel.kind, channel.config)
    return {k: (REDACTED if v == channel_kinds.MASK else v) for k, v in masked.items()}


def rule_fields(rule: Rule, names: dict[int, str]) -> dict[str, Any]:
    return {"name": rule.name, "query": rule.query, "threshold": rule.threshold,
            "window_seconds": rule.window_seconds, "group_by": rule.group_by,
            "quiet_seconds": rule.quiet_seconds,
            "channels": [names.get(c, f"#{c}") for c in rule.channels],
            "enabled": rule.enabled}


class AlertAdmin:
    def __init__(self, store: Store, audit: SelfAudit, settings: Settings) -> None:
        self.alerts = store.alerts
        self.audit = audit
        self.settings = settings

    # -- channels ------------------------------------------------------------

    def channels(self, principal: Principal | None, tenant: Tenant) -> list[Channel]:
        _require(principal)
        return self.alerts.channels(tenant.id)

    def channel(self, principal: Principal | None, tenant: Tenant, ref: str | int) -> Channel:
        _require(principal)
        found = (self.alerts.get_channel(tenant.id, ref) if isinstance(ref, int)
                 else self.alerts.channel_by_name(tenant.id, ref))
        if found is None:
            raise NotFound("no such channel", [ErrorDetail("channel", f"{ref!r}: unknown")])
        return found

    def add_channel(self, principal: Principal | None, tenant: Tenant, name: str,
                    kind: str, config: Any, context: RequestContext) -> Channel:
        _require(principal)
        name = clean_name(name)
        if kind not in CHANNEL_KINDS:
            raise ValidationFailed("unknown channel kind", [ErrorDetail(
                "kind", f"one of {', '.join(CHANNEL_KINDS)}")])
        clean = channel_kinds.validate_config(kind, config)
        made = self.alerts.add_channel(tenant.id, name, kind, clean,
                                       format_us(now_us()))
        self.audit.admin(tenant, principal, context, "alert.channel.create", "create",
                         _channel_target(made), change_list({}, {
                             "name": made.name, "kind": made.kind,
                             "config": _audited_config(made)}))
        return made

    def update_channel(self, principal: Principal | None, tenant: Tenant, ref: str | int,
                       context: RequestContext, *, name: str | None = None,
                       config: Any = None) -> Channel:
        old = self.channel(principal, tenant, ref)
        new_name = old.name if name is None else clean_name(name)
        new_config = old.config
        if config is not None:
            merged = channel_kinds.merge_config(old.kind, old.config, config)
            new_config = channel_kinds.validate_config(old.kind, merged)
        changed = self.alerts.update_channel(tenant.id, old.id, new_name, new_config,
                                             format_us(now_us()))
        if changed is None:
            raise NotFound("no such channel", [ErrorDetail("channel", "deleted meanwhile")])
        self.audit.admin(tenant, principal, context, "alert.channel.update", "update",
                         _channel_target(changed), change_list(
                             {"name": old.name, "config": _audited_config(old)},
                             {"name": changed.name, "config": _audited_config(changed)}))
        return changed

    def delete_channel(self, principal: Principal | None, tenant: Tenant, ref: str | int,
                       context: RequestContext) -> Channel:
        old = self.channel(principal, tenant, ref)
        if not self.alerts.delete_channel(tenant.id, old.id):
            raise NotFound("no such channel", [ErrorDetail("channel", "deleted meanwhile")])
        self.audit.admin(tenant, principal, context, "alert.channel.delete", "delete",
                         _channel_target(old), change_list(
                             {"name": old.name, "kind": old.kind}, {}))
        return old

    def send_test(self, principal: Principal | None, tenant: Tenant, ref: str | int,
                  context: RequestContext) -> TestOutcome:
        """Send a test message through a channel now (not through the outbox: the
        answer says whether it arrived), and audit it."""
        channel = self.channel(principal, tenant, ref)
        message = test_message(tenant.name, channel.name, self.settings.resolved_console_url)
        delivery_id = f"test-{format_us(now_us())}-{channel.id}"
        started = time.monotonic()
        error: str | None = None
        try:
            asyncio.run(channel_kinds.send(channel, message, delivery_id, self.settings))
        except DeliveryFailed as exc:
            error = exc.reason
        outcome = TestOutcome(error is None, error, time.monotonic() - started)
        self.audit.admin(tenant, principal, context, "alert.channel.test", "execute",
                         _channel_target(channel), change_list({}, {
                             "delivered": outcome.delivered, "error": error}))
        return outcome

    # -- rules ---------------------------------------------------------------

    def rules(self, principal: Principal | None, tenant: Tenant) -> list[Rule]:
        _require(principal)
        return self.alerts.rules(tenant.id)

    def rule(self, principal: Principal | None, tenant: Tenant, ref: str | int) -> Rule:
        _require(principal)
        found = (self.alerts.get_rule(tenant.id, ref) if isinstance(ref, int)
                 else self.alerts.rule_by_name(tenant.id, ref))
        if found is None:
            raise NotFound("no such rule", [ErrorDetail("rule", f"{ref!r}: unknown")])
        return found

    def channel_names(self, tenant: Tenant) -> dict[int, str]:
        return {c.id: c.name for c in self.alerts.channels(tenant.id)}

    def _checked(self, tenant: Tenant, spec: RuleSpec) -> tuple[str, int, tuple[int, ...]]:
        name = clean_name(spec.name)
        if len(spec.query) > MAX_QUERY:
            raise ValidationFailed("bad rule", [ErrorDetail(
                "query", f"at most {MAX_QUERY} characters")])
        quiet = (self.settings.alert_default_quiet_seconds if spec.quiet_seconds is None
                 else spec.quiet_seconds)
        flt = check_rule(spec.query, spec.threshold, spec.window_seconds, spec.group_by,
                         quiet)
        if flt.tags:
            raise ValidationFailed("bad rule", [ErrorDetail(
                "query", "tags are added after an event is stored: a rule cannot match them")])
        if not spec.channels:
            raise ValidationFailed("bad rule", [ErrorDetail(
                "channels", "name at least one channel")])
        if len(spec.channels) > MAX_CHANNELS_PER_RULE:
            raise ValidationFailed("bad rule", [ErrorDetail(
                "channels", f"at most {MAX_CHANNELS_PER_RULE}")])
        ids = []
        for ref in spec.channels:
            found = self.alerts.channel_by_name(tenant.id, ref)
            if found is None:
                raise ValidationFailed("bad rule", [ErrorDetail(
                    "channels", f"{ref!r}: no such channel")])
            ids.append(found.id)
        return name, quiet, tuple(dict.fromkeys(ids))

    def add_rule(self, principal: Principal | None, tenant: Tenant, spec: RuleSpec,
                 context: RequestContext) -> Rule:
        _require(principal)
        name, quiet, ids = self._checked(tenant, spec)
        made = self.alerts.add_rule(
            tenant.id, name, query=spec.query, threshold=spec.threshold,
            window_seconds=spec.window_seconds, group_by=spec.group_by,
            quiet_seconds=quiet, channels=ids, enabled=spec.enabled,
            now=format_us(now_us()))
        self.audit.admin(tenant, principal, context, "alert.rule.create", "create",
                         _rule_target(made), change_list(
                             {}, rule_fields(made, self.channel_names(tenant))))
        return made

    def update_rule(self, principal: Principal | None, tenant: Tenant, ref: str | int,
                    change: dict[str, Any], context: RequestContext) -> Rule:
        """Change the fields named in ``change`` (those of ``RuleSpec``)."""
        old = self.rule(principal, tenant, ref)
        names = self.channel_names(tenant)
        unknown = set(change) - set(RuleSpec.__slots__)
        if unknown:
            raise ValidationFailed("bad rule change", [ErrorDetail(
                sorted(unknown)[0], "not a field of a rule")])
        nulled = sorted(k for k, v in change.items() if v is None and k not in NULLABLE)
        if nulled:
            raise ValidationFailed("bad rule change", [ErrorDetail(
                k, "must not be null (leave it out to keep it)") for k in nulled])
        current = rule_fields(old, names)
        spec = RuleSpec(**{**current, "channels": tuple(current["channels"]), **change})
        name, quiet, ids = self._checked(tenant, spec)
        changed = self.alerts.update_rule(
            tenant.id, old.id, name, query=spec.query, threshold=spec.threshold,
            window_seconds=spec.window_seconds, group_by=spec.group_by,
            quiet_seconds=quiet, channels=ids, enabled=spec.enabled,
            now=format_us(now_us()))
        if changed is None:
            raise NotFound("no such rule", [ErrorDetail("rule", "deleted meanwhile")])
        self.audit.admin(tenant, principal, context, "alert.rule.update", "update",
                         _rule_target(changed), change_list(
                             current, rule_fields(changed, names)))
        return changed

    def delete_rule(self, principal: Principal | None, tenant: Tenant, ref: str | int,
                    context: RequestContext) -> Rule:
        old = self.rule(principal, tenant, ref)
        if not self.alerts.delete_rule(tenant.id, old.id):
            raise NotFound("no such rule", [ErrorDetail("rule", "deleted meanwhile")])
        self.audit.admin(tenant, principal, context, "alert.rule.delete", "delete",
                         _rule_target(old), change_list(
                             rule_fields(old, self.channel_names(tenant)), {}))
        return old

    # -- the outbox ----------------------------------------------------------

    def deliveries(self, principal: Principal | None, tenant: Tenant, state: str | None,
                   limit: int = 50, before: str | None = None) -> list[Delivery]:
        _require(principal)
        if state is not None and state not in DELIVERY_STATES:
            raise ValidationFailed("bad state", [ErrorDetail(
                "state", f"one of {', '.join(DELIVERY_STATES)}")])
        if not 1 <= limit <= MAX_LISTED:
            raise ValidationFailed("bad limit", [ErrorDetail("limit", f"1-{MAX_LISTED}")])
        return self.alerts.deliveries(tenant.id, state, limit, before)

    def delivery(self, principal: Principal | None, tenant: Tenant,
                 delivery_id: str) -> Delivery:
        _require(principal)
        found = self.alerts.get_delivery(tenant.id, delivery_id)
        if found is None:
            raise NotFound("no such delivery", [ErrorDetail("delivery_id", "unknown")])
        return found

    def counts(self, principal: Principal | None, tenant: Tenant) -> dict[str, int]:
        _require(principal)
        counts = self.alerts.counts(tenant.id)
        return {state: counts.get(state, 0) for state in DELIVERY_STATES}

    def retry(self, principal: Principal | None, tenant: Tenant, delivery_id: str,
              context: RequestContext) -> Delivery:
        """Send a dead (or waiting) delivery again now, with a fresh round of
        attempts; its delivery id stays, so a receiver that had it can drop it."""
        old = self.delivery(principal, tenant, delivery_id)
        if old.state == "delivered":
            raise Conflict("the delivery was delivered", [ErrorDetail(
                "delivery_id", "only a dead or pending delivery can be retried")])
        again = self.alerts.retry(tenant.id, delivery_id, now_us())
        if again is None:
            raise NotFound("no such delivery", [ErrorDetail("delivery_id", "unknown")])
        self.audit.admin(tenant, principal, context, "alert.delivery.retry", "execute",
                         {"type": "alert_delivery", "id": delivery_id},
                         change_list({"state": old.state}, {"state": again.state}))
        return again


def _require(principal: Principal | None) -> None:
    if principal is not None:  # None: the command line on the server
        principal.require(PERMISSION)


def _channel_target(channel: Channel) -> dict[str, Any]:
    return {"type": "alert_channel", "id": str(channel.id), "name": channel.name}


def _rule_target(rule: Rule) -> dict[str, Any]:
    return {"type": "alert_rule", "id": str(rule.id), "name": rule.name}
