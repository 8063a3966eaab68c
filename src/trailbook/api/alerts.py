"""/api/v1/alerts: a tenant's alert channels and rules, the outbox of deliveries with
its dead letters, a retry, and a test message per channel. Needs ``rules.manage`` (a
staff role: owner and admin have it). Secrets in a channel's config are never shown:
they come back as ``********``, and sending that back keeps the stored secret."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from trailbook.api.auth import request_context, run_as, trailbook_of
from trailbook.api.render import JsonResponse
from trailbook.model.timefmt import format_us
from trailbook.notify.records import Delivery, Rule
from trailbook.service.access.principal import Principal
from trailbook.service.alerts.admin import PERMISSION, RuleSpec, channel_view, rule_fields
from trailbook.service.app import Trailbook

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])
T = TypeVar("T")


class NewChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=1000, description="1-100 characters, unique in the "
                      "tenant (ignoring case)")
    kind: str = Field(description="email, slack, telegram or webhook")
    config: dict[str, Any] = Field(description="the kind's settings (docs/alerts.md)")


class ChannelChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=1000)
    config: dict[str, Any] | None = Field(default=None, description=(
        "replaces the config; a secret sent back as ******** keeps the stored one"))


class NewRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=1000)
    query: str = Field(max_length=10_000, description="the query language, e.g. "
                       "severity:critical or action:user.login result:failure")
    threshold: int = Field(default=1, description="matches within the window that "
                           "raise an alert (1: every match)")
    window_seconds: int = Field(default=0, description="the window of a threshold")
    group_by: str | None = Field(default=None, description="count per value of this "
                                 "field, e.g. source.ip or actor.id")
    quiet_seconds: int | None = Field(default=None, description=(
        "after an alert, further matches of its group are counted for this long and "
        "summed up in one summary (default: alert_default_quiet_seconds)"))
    channels: list[str] = Field(max_length=10, description="channel names")
    enabled: bool = True


class RuleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=1000)
    query: str | None = Field(default=None, max_length=10_000)
    threshold: int | None = None
    window_seconds: int | None = None
    group_by: str | None = None
    quiet_seconds: int | None = None
    channels: list[str] | None = Field(default=None, max_length=10)
    enabled: bool | None = None




def rule_json(rule: Rule, names: dict[int, str]) -> dict[str, Any]:
    return {"id": rule.id, **rule_fields(rule, names), "created_at": rule.created_at,
            "updated_at": rule.updated_at}


def delivery_json(delivery: Delivery, names: dict[int, str]) -> dict[str, Any]:
    message = delivery.message
    return {"id": delivery.id, "kind": delivery.kind, "state": delivery.state,
            "attempts": delivery.attempts, "rule_id": delivery.rule_id,
            "rule": message.get("rule"), "channel_id": delivery.channel_id,
            "channel": names.get(delivery.channel_id),
            "title": message.get("title"), "event_ids": message.get("event_ids", []),
            "link": message.get("link"),
            "next_attempt_at": (format_us(delivery.next_attempt_us)
                                if delivery.state == "pending" else None),
            "last_error": delivery.last_error, "created_at": delivery.created_at,
            "delivered_at": delivery.delivered_at,
            "retry": f"/api/v1/alerts/deliveries/{delivery.id}/retry"}


# -- channels ----------------------------------------------------------------

@router.get("/channels", summary="The tenant's alert channels (secrets masked)")
async def list_channels(request: Request) -> JsonResponse:
    found = await run_as(request, PERMISSION, lambda tb, p: tb.alerts.channels(p, p.tenant))
    return JsonResponse({"channels": [channel_view(c) for c in found]})


@router.post("/channels", status_code=201, summary="Add an alert channel")
async def add_channel(request: Request, body: NewChannel) -> JsonResponse:
    context = request_context(request)
    made = await run_as(request, PERMISSION, lambda tb, p: tb.alerts.add_channel(
        p, p.tenant, body.name, body.kind, body.config, context))
    return JsonResponse(channel_view(made), status_code=201)


@router.get("/channels/{channel_id}", summary="One alert channel (secrets masked)")
async def get_channel(request: Request, channel_id: int) -> JsonResponse:
    found = await run_as(request, PERMISSION,
        lambda tb, p: tb.alerts.channel(p, p.tenant, channel_id))
    return JsonResponse(channel_view(found))


@router.patch("/channels/{channel_id}", summary="Rename or reconfigure an alert channel")
async def change_channel(request: Request, channel_id: int,
                         body: ChannelChange) -> JsonResponse:
    context = request_context(request)
    changed = await run_as(request, PERMISSION, lambda tb, p: tb.alerts.update_channel(
        p, p.tenant, channel_id, context, name=body.name, config=body.config))
    return JsonResponse(channel_view(changed))


@router.delete("/channels/{channel_id}", summary="Delete an alert channel no rule uses")
async def delete_channel(request: Request, channel_id: int) -> JsonResponse:
    context = request_context(request)
    gone = await run_as(request, PERMISSION, lambda tb, p: tb.alerts.delete_channel(
        p, p.tenant, channel_id, context))
    return JsonResponse(channel_view(gone))


@router.post("/channels/{channel_id}/test", summary="Send a test message through a channel",
             description="Sent at once, not through the outbox: the answer says whether "
             "it was delivered (`delivered`, and `error` when not). Audited.")
async def test_channel(request: Request, channel_id: int) -> JsonResponse:
    context = request_context(request)
    outcome = await run_as(request, PERMISSION, lambda tb, p: tb.alerts.send_test(
        p, p.tenant, channel_id, context))
    return JsonResponse({"delivered": outcome.delivered, "error": outcome.error,
                         "seconds": round(outcome.seconds, 3)})


# -- rules -------------------------------------------------------------------

@router.get("/rules", summary="The tenant's alert rules")
async def list_rules(request: Request) -> JsonResponse:
    def work(tb: Trailbook, p: Principal) -> list[dict[str, Any]]:
        names = tb.alerts.channel_names(p.tenant)
        return [rule_json(r, names) for r in tb.alerts.rules(p, p.tenant)]
    return JsonResponse({"rules": await run_as(request, PERMISSION, work)})


@router.post("/rules", status_code=201, summary="Add an alert rule")
async def add_rule(request: Request, body: NewRule) -> JsonResponse:
    context = request_context(request)

    def work(tb: Trailbook, p: Principal) -> dict[str, Any]:
        spec = RuleSpec(**{**body.model_dump(), "channels": tuple(body.channels)})
        made = tb.alerts.add_rule(p, p.tenant, spec, context)
        return rule_json(made, tb.alerts.channel_names(p.tenant))
    return JsonResponse(await run_as(request, PERMISSION, work), status_code=201)


@router.get("/rules/{rule_id}", summary="One alert rule")
async def get_rule(request: Request, rule_id: int) -> JsonResponse:
    def work(tb: Trailbook, p: Principal) -> dict[str, Any]:
        return rule_json(tb.alerts.rule(p, p.tenant, rule_id),
                         tb.alerts.channel_names(p.tenant))
    return JsonResponse(await run_as(request, PERMISSION, work))


@router.patch("/rules/{rule_id}", summary="Change an alert rule (the fields sent)")
async def change_rule(request: Request, rule_id: int, body: RuleChange) -> JsonResponse:
    context = request_context(request)
    change = body.model_dump(exclude_unset=True)
    if "channels" in change and change["channels"] is not None:
        change["channels"] = tuple(change["channels"])

    def work(tb: Trailbook, p: Principal) -> dict[str, Any]:
        changed = tb.alerts.update_rule(p, p.tenant, rule_id, change, context)
        return rule_json(changed, tb.alerts.channel_names(p.tenant))
    return JsonResponse(await run_as(request, PERMISSION, work))


@router.delete("/rules/{rule_id}", summary="Delete an alert rule")
async def delete_rule(request: Request, rule_id: int) -> JsonResponse:
    context = request_context(request)

    def work(tb: Trailbook, p: Principal) -> dict[str, Any]:
        names = tb.alerts.channel_names(p.tenant)
        return rule_json(tb.alerts.delete_rule(p, p.tenant, rule_id, context), names)
    return JsonResponse(await run_as(request, PERMISSION, work))


# -- the outbox --------------------------------------------------------------

@router.get("/deliveries", summary="The outbox: alert deliveries, newest first",
            description="`state=dead` lists the dead letters. `before` (a delivery id) "
            "gives the next page.")
async def list_deliveries(
    request: Request,
    state: Annotated[str | None, Query(description="pending, delivered or dead")] = None,
    limit: Annotated[int, Query()] = 50,
    before: Annotated[str | None, Query(max_length=64)] = None,
) -> JsonResponse:
    def work(tb: Trailbook, p: Principal) -> dict[str, Any]:
        names = tb.alerts.channel_names(p.tenant)
        found = tb.alerts.deliveries(p, p.tenant, state, limit, before)
        return {"deliveries": [delivery_json(d, names) for d in found],
                "counts": tb.alerts.counts(p, p.tenant),
                "next": found[-1].id if len(found) == limit else None}
    return JsonResponse(await run_as(request, PERMISSION, work))


@router.get("/deliveries/{delivery_id}", summary="One alert delivery")
async def get_delivery(request: Request, delivery_id: str) -> JsonResponse:
    def work(tb: Trailbook, p: Principal) -> dict[str, Any]:
        return delivery_json(tb.alerts.delivery(p, p.tenant, delivery_id),
                             tb.alerts.channel_names(p.tenant))
    return JsonResponse(await run_as(request, PERMISSION, work))


@router.post("/deliveries/{delivery_id}/retry",
             summary="Send a dead (or waiting) delivery again now",
             description="A fresh round of attempts, under the same delivery id. 409 for "
             "a delivery that was delivered. Audited.")
async def retry_delivery(request: Request, delivery_id: str) -> JsonResponse:
    context = request_context(request)

    def work(tb: Trailbook, p: Principal) -> dict[str, Any]:
        again = tb.alerts.retry(p, p.tenant, delivery_id, context)
        return delivery_json(again, tb.alerts.channel_names(p.tenant))
    answer = await run_as(request, PERMISSION, work)
    trailbook_of(request).alert_runner.wake()
    return JsonResponse(answer)
