"""The evaluator: runs each tenant's newly stored events through its alert rules, after
they are stored and never in the way of ingest.

Each tenant has a cursor (the seq up to which its events have been looked at). A pass
reads the events after it in seq order, a batch at a time, runs them through the rule
engine (``notify.engine``), and stores in ONE transaction the outbox rows of what fired
(one delivery per firing per channel), the rules' changed states and the new cursor:
a crash before that commit repeats the batch, after it the deliveries are in the
outbox. So an alert is neither lost nor raised twice across a restart.

A tenant's cursor starts at its chain head when it gets its first rule (alerts are for
what happens from then on, not for the history already stored)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import orjson
import uuid_utils

from trailbook.model.timefmt import format_us, now_us
from trailbook.notify.engine import Firing, RuleEngine
from trailbook.notify.message import alert_message, summary_message
from trailbook.notify.records import Delivery, Rule
from trailbook.settings import Settings
from trailbook.store.base import Store
from trailbook.store.records import Tenant

log = logging.getLogger("trailbook.notify")

BATCH = 2000  # events read and committed at a time


@dataclass
class _TenantState:
    tenant: Tenant
    rules: list[Rule]
    engine: RuleEngine


@dataclass
class PassReport:
    events: int = 0
    deliveries: int = 0
    tenants: dict[str, int] = field(default_factory=dict)


def new_delivery_id() -> str:
    """A delivery id: a UUIDv7 (time-ordered, so the outbox lists by it)."""
    return str(uuid_utils.uuid7())


class AlertEvaluator:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.alerts = store.alerts
        self.settings = settings
        self._tenants: dict[int, _TenantState] = {}

    def run_pass(self, now: int | None = None) -> PassReport:
        """Look at every tenant with enabled rules: new events, then quiet periods
        that ended. Returns what it did."""
        report = PassReport()
        now = now_us() if now is None else now
        by_tenant: dict[int, list[Rule]] = {}
        for rule in self.alerts.enabled_rules():
            by_tenant.setdefault(rule.tenant_id, []).append(rule)
        for tenant_id in list(self._tenants):
            if tenant_id not in by_tenant:
                del self._tenants[tenant_id]
        for tenant_id, rules in by_tenant.items():
            state = self._tenant(tenant_id, rules, now)
            if state is None:
                continue
            events, deliveries = self._advance(state, now)
            report.events += events
            report.deliveries += deliveries
            if events or deliveries:
                report.tenants[state.tenant.name] = deliveries
        return report

    def _tenant(self, tenant_id: int, rules: list[Rule], now: int) -> _TenantState | None:
        """The tenant's engine, made again when its rules changed (the rules are read
        at every pass, so a change by any process is seen at the next one)."""
        known = self._tenants.get(tenant_id)
        if known is not None and known.rules == rules:
            return known
        tenant = self.store.get_tenant_by_id(tenant_id)
        if tenant is None:
            return None
        if known is not None:  # keep what the old engine had not stored yet
            self._commit(known, None, [])
        states = self.alerts.states([r.id for r in rules])
        engine = RuleEngine(rules, states)
        for rule_id, why in engine.skipped.items():
            log.warning("alert rule %s of tenant %s cannot run: %s", rule_id, tenant.name, why)
        state = _TenantState(tenant, rules, engine)
        self._tenants[tenant_id] = state
        return state

    def _advance(self, state: _TenantState, now: int) -> tuple[int, int]:
        tenant = state.tenant
        cursor = self.alerts.cursor(tenant.id)
        if cursor is None:  # the first rule: from the head on
            head = self.store.chain_head(tenant.id)
            cursor = head.seq if head is not None else 0
            self._commit(state, cursor, [])
        seen = delivered = 0
        while True:
            events = self.store.events_after_seq(tenant.id, cursor, BATCH)
            firings: list[Firing] = []
            for event in events:
                doc = orjson.loads(event.doc)
                firings.extend(state.engine.observe(doc, frozenset(), now))
            if events:
                cursor = events[-1].seq
            firings.extend(state.engine.tick(now))
            deliveries = self._deliveries(tenant, firings, now)
            self._commit(state, cursor, deliveries, always=bool(events))
            seen += len(events)
            delivered += len(deliveries)
            if len(events) < BATCH:
                return seen, delivered

    def _commit(self, state: _TenantState, cursor: int | None,
                deliveries: list[Delivery], always: bool = True) -> None:
        changed, deleted = state.engine.take_changes()
        if not (always or deliveries or changed or deleted):
            return
        if cursor is None:
            cursor = self.alerts.cursor(state.tenant.id) or 0
        self.alerts.commit_batch(state.tenant.id, cursor, changed, deleted, deliveries)

    def _deliveries(self, tenant: Tenant, firings: list[Firing], now: int) -> list[Delivery]:
        out: list[Delivery] = []
        console = self.settings.resolved_console_url
        now = now_us()  # due at once (``now`` of the pass may be a test's clock)
        created = format_us(now)
        for firing in firings:
            rule = firing.rule
            if firing.kind == "alert":
                message = alert_message(tenant.name, rule, list(firing.docs), firing.count,
                                        console, firing.event_ids)
            else:
                message = summary_message(tenant.name, rule, firing.group_key, firing.count,
                                          firing.first_us, firing.last_us,
                                          list(firing.event_ids), console)
            body = message.to_json()
            for channel_id in rule.channels:
                out.append(Delivery(new_delivery_id(), tenant.id, rule.id, channel_id,
                                    firing.kind, body, "pending", 0, now, None, created,
                                    None))
        return out
