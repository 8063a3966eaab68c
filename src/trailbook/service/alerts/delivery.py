"""The delivery worker: sends the outbox's due deliveries through their channels, at
least once. A delivery that fails is tried again after an exponential backoff with
jitter (``alert_backoff_base_seconds`` doubling up to ``alert_backoff_max_seconds``, or
later when the receiver says so), and becomes a dead letter after
``alert_max_attempts`` attempts, or at once when retrying cannot help (a refusal, a
deleted channel). Every attempt carries the delivery's id, so a receiver drops a
repeat. Each outcome is recorded in the tenant's trail as a ``system`` event:
``alert.delivered``, ``alert.failed`` (warning), ``alert.dead`` (critical)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from trailbook.model.timefmt import format_us, now_us
from trailbook.notify import channels
from trailbook.notify.backoff import next_delay
from trailbook.notify.channels import DeliveryFailed
from trailbook.notify.message import Message
from trailbook.notify.records import Channel, Delivery
from trailbook.service.access.audit import RequestContext, SelfAudit
from trailbook.settings import Settings
from trailbook.store.base import Store

log = logging.getLogger("trailbook.notify")

DUE_AT_ONCE = 100  # deliveries taken from the outbox per round
CONCURRENT_SENDS = 8
ACTOR = {"id": "trailbook-alerts", "type": "system", "name": "Trailbook alerts"}
NO_CONTEXT = RequestContext()


class AlertDelivery:
    def __init__(self, store: Store, audit: SelfAudit, settings: Settings) -> None:
        self.store = store
        self.alerts = store.alerts
        self.audit = audit
        self.settings = settings

    async def run_due(self) -> int:
        """Send what is due now; how many deliveries were attempted."""
        due = await asyncio.to_thread(self.alerts.due, now_us(), DUE_AT_ONCE)
        if not due:
            return 0
        limit = asyncio.Semaphore(CONCURRENT_SENDS)

        async def one(delivery: Delivery) -> None:
            async with limit:
                try:
                    await self._attempt(delivery)
                except Exception:  # one bad delivery must not stop the others
                    log.exception("alert delivery %s", delivery.id)

        await asyncio.gather(*(one(d) for d in due))
        return len(due)

    async def _attempt(self, delivery: Delivery) -> None:
        attempts = delivery.attempts + 1
        channel = await asyncio.to_thread(self.alerts.get_channel, delivery.tenant_id,
                                          delivery.channel_id)
        if channel is None:
            await asyncio.to_thread(self._dead, delivery, None, attempts,
                                    "the channel was deleted")
            return
        try:
            await channels.send(channel, Message.from_json(delivery.message), delivery.id,
                                self.settings)
        except DeliveryFailed as exc:
            await asyncio.to_thread(self._failed, delivery, channel, attempts, exc)
            return
        except Exception as exc:  # a fault of ours: retried like a network error
            log.exception("alert delivery %s through %s", delivery.id, channel.name)
            failure = DeliveryFailed(f"{type(exc).__name__}: {exc}")
            await asyncio.to_thread(self._failed, delivery, channel, attempts, failure)
            return
        await asyncio.to_thread(self._delivered, delivery, channel, attempts)

    def _delivered(self, delivery: Delivery, channel: Channel, attempts: int) -> None:
        if self.alerts.mark_delivered(delivery.id, attempts, format_us(now_us())):
            self._record(delivery, channel, "alert.delivered", "execute", attempts)

    def _failed(self, delivery: Delivery, channel: Channel, attempts: int,
                exc: DeliveryFailed) -> None:
        settings = self.settings
        if exc.permanent or attempts >= settings.alert_max_attempts:
            why = exc.reason if exc.permanent else (
                f"{attempts} attempts failed; the last: {exc.reason}")
            self._dead(delivery, channel, attempts, why)
            return
        delay = next_delay(attempts, settings.alert_backoff_base_seconds,
                           settings.alert_backoff_max_seconds, exc.retry_after)
        next_at = now_us() + int(delay * 1_000_000)
        if self.alerts.mark_failed(delivery.id, attempts, next_at, exc.reason):
            self._record(delivery, channel, "alert.failed", "execute", attempts,
                         result="failure", reason=exc.reason, severity="warning",
                         next_attempt_at=format_us(next_at))

    def _dead(self, delivery: Delivery, channel: Channel | None, attempts: int,
              why: str) -> None:
        if self.alerts.mark_dead(delivery.id, attempts, why):
            log.warning("alert delivery %s is dead: %s", delivery.id, why)
            self._record(delivery, channel, "alert.dead", "execute", attempts,
                         result="failure", reason=why, severity="critical")

    def _record(self, delivery: Delivery, channel: Channel | None, action: str,
                action_type: str, attempts: int, *, result: str = "success",
                reason: str | None = None, severity: str = "info",
                **more: Any) -> None:
        tenant = self.store.get_tenant_by_id(delivery.tenant_id)
        if tenant is None:
            return
        target = {"type": "alert_channel", "id": str(delivery.channel_id)}
        if channel is not None:
            target["name"] = channel.name
        message = delivery.message
        self.audit.record(
            tenant, category="system", action=action, action_type=action_type,
            actor=ACTOR, context=NO_CONTEXT, result=result,
            reason=None if reason is None else reason[:500], severity=severity,
            targets=[target],
            description=str(message.get("title", ""))[:500] or None,
            metadata={"delivery_id": delivery.id, "kind": delivery.kind,
                      "rule": message.get("rule"), "rule_id": delivery.rule_id,
                      "attempts": attempts, "channel_kind": channel.kind if channel else None,
                      "event_ids": list(message.get("event_ids", []))[:20], **more})
