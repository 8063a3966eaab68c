"""Trailbook audits itself into each tenant's own trail: sign-ins and what staff read
(category ``access``) and every administrative change (category ``admin``, with the
old and new values in ``changes``)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trailbook.model.event import convert_event
from trailbook.model.limits import MAX_REASON
from trailbook.service.access.principal import Principal
from trailbook.store.records import Tenant

if TYPE_CHECKING:  # the event service imports the tenant service, which audits
    from trailbook.service.events import EventService

# Value shown in place of a secret in ``changes``.
REDACTED = "[redacted]"


@dataclass(frozen=True)
class RequestContext:
    """Where a request came from, for audit events."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


CLI = RequestContext()


def cli_actor() -> dict[str, Any]:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return {"id": "cli", "type": "system", "name": f"trailbook CLI ({who})"}


def actor_of(by: Principal | None) -> dict[str, Any]:
    """The audit actor for a caller; None is the command line on the server."""
    return cli_actor() if by is None else by.actor()


def change_list(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """``changes`` for the fields whose value differs between ``old`` and ``new``."""
    return [{"field": k, "old": old.get(k), "new": new.get(k)}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


class SelfAudit:
    def __init__(self, events: EventService) -> None:
        self.events = events

    def record(
        self,
        tenant: Tenant,
        *,
        category: str,
        action: str,
        action_type: str,
        actor: dict[str, Any],
        context: RequestContext,
        result: str = "success",
        reason: str | None = None,
        severity: str = "info",
        targets: list[dict[str, Any]] | None = None,
        changes: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        session_id: str | None = None,
        description: str | None = None,
    ) -> int:
        """Append one event to ``tenant``'s trail, and return its seq (raises if it
        cannot be stored: an action Trailbook cannot audit does not go ahead
        silently)."""
        event: dict[str, Any] = {
            "category": category, "action": action, "action_type": action_type,
            "actor": actor, "result": result, "severity": severity,
            "targets": targets or [], "changes": changes or [], "metadata": metadata or {},
        }
        source = {k: v for k, v in (("ip", context.ip), ("user_agent", context.user_agent))
                  if v}
        if source:
            event["source"] = source
        if reason:
            event["reason"] = reason[:MAX_REASON]
        if context.request_id:
            event["request_id"] = context.request_id
        if session_id:
            event["session_id"] = session_id
        if description:
            event["description"] = description
        return self.events.ingest(tenant, [convert_event(event)], batch=False)[0].seq

    def admin(self, tenant: Tenant, by: Principal | None, context: RequestContext,
              action: str, action_type: str, target: dict[str, Any],
              changes: list[dict[str, Any]] | None = None) -> None:
        """An administrative change, by a staff user, a key or the CLI."""
        self.record(tenant, category="admin", action=action, action_type=action_type,
                    actor=actor_of(by), context=context, targets=[target],
                    changes=changes, severity="notice",
                    session_id=by.session.id if by and by.session else None)

    def access(self, principal: Principal, context: RequestContext, action: str,
               action_type: str, **extra: Any) -> None:
        """A read (search, view, export) or a refusal, by a caller."""
        self.record(principal.tenant, category="access", action=action,
                    action_type=action_type, actor=principal.actor(), context=context,
                    session_id=principal.session.id if principal.session else None, **extra)
