"""ISP billing (Skylink): billing records payments and changes plans, support edits
client details and restores service, the NOC syncs, reboots and reconfigures routers;
the router sync key, payment gateway and billing cron act on their own. The monthly
invoice run also serves the mining farm's hosting billing cron."""

from __future__ import annotations

from typing import Any

from trailbook.service.demo.run import Builder, Burst, Json, Run
from trailbook.service.demo.text import ascii_fold, money, money_text
from trailbook.service.demo.world import ISP_CITIES, ISP_PLANS, Record, polish_name

_STREETS = ("ul. Legnicka", "ul. Kościuszki", "ul. Opolska", "ul. Świdnicka", "ul. Lipowa")


def client_target(c: Record) -> Json:
    return {"id": c.id, "name": c.name, "type": "client"}


def payment_record(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.isp_clients)
    fee = ISP_PLANS[run.plan[c.id]][1]
    months = run.pick((1, 1, 1, 2, 3))
    reason = None
    if run.fails(0.04):
        reason = run.pick(("duplicate transaction id", "amount does not match open invoice"))
    return run.event(
        b,
        "payment.record",
        "info",
        [client_target(c)],
        "billing",
        f"Recorded payment of {money_text(fee * months)} PLN from {c.name}",
        metadata={
            "amount": money(fee * months),
            "currency": "PLN",
            "method": run.pick(("bank_transfer", "cash", "card")),
            "invoice": f"FV/{run.month.replace('-', '/')}/{int(run.random() * 9000) + 1000:05d}",
        },
        reason=reason,
    )


def payment_gateway(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.isp_clients)
    fee = ISP_PLANS[run.plan[c.id]][1]
    reason = "signature verification failed" if run.fails(0.01) else None
    return run.event(
        b,
        "payment.record",
        "info",
        [client_target(c)],
        "billing",
        f"Online payment of {money_text(fee)} PLN from {c.name}",
        metadata={
            "amount": money(fee),
            "currency": "PLN",
            "method": run.pick(("blik", "card", "pbl")),
            "provider_txn": f"P24-{run.randbits(40):010d}",
        },
        reason=reason,
    )


def client_plan_change(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.isp_clients)
    old = run.plan[c.id]
    new = (old + 1 + int(run.random() * (len(ISP_PLANS) - 1))) % len(ISP_PLANS)
    run.plan[c.id] = new
    (op, of), (np_, nf) = ISP_PLANS[old], ISP_PLANS[new]
    return run.event(
        b,
        "client.plan.change",
        "info",
        [client_target(c)],
        b.actor.scope,
        f"Changed plan of {c.name} from {op} to {np_}",
        [
            {"field": "plan", "old": op, "new": np_},
            {"field": "monthly_fee", "old": money(of), "new": money(nf)},
        ],
        {"city": c.extra[1], "effective": "next_cycle" if run.random() < 0.7 else "immediately"},
    )


def client_account_create(run: Run, b: Burst) -> Json:
    run.account_no += 1 + int(run.random() * 5)
    name = polish_name(run.pick)
    plan, fee = run.pick(ISP_PLANS)
    city = run.pick(ISP_CITIES)
    acc = f"acc-{run.account_no}"
    return run.event(
        b,
        "client.account.create",
        "info",
        [{"id": acc, "name": name, "type": "client"}],
        b.actor.scope,
        f"Created account {acc} for {name} ({plan}, {city})",
        [
            {"field": "plan", "old": None, "new": plan},
            {"field": "status", "old": None, "new": "active"},
        ],
        {
            "plan": plan,
            "monthly_fee": money(fee),
            "city": city,
            "address": f"{run.pick(_STREETS)} {1 + int(run.random() * 120)}",
            "connection": run.pick(("FTTH", "FTTH", "LTE", "Ethernet")),
        },
    )


def client_suspend(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.isp_clients)
    run.suspended.add(c.id)
    days = 30 + int(run.random() * 60)
    return run.event(
        b,
        "client.suspend",
        "notice",
        [client_target(c)],
        "billing",
        f"Suspended {c.name} for non-payment ({days} days overdue)",
        [{"field": "status", "old": "active", "new": "suspended"}],
        {
            "overdue_days": days,
            "balance": money(-ISP_PLANS[run.plan[c.id]][1] * (days // 30)),
        },
    )


def client_restore(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.isp_clients)
    run.suspended.discard(c.id)
    return run.event(
        b,
        "client.restore",
        "info",
        [client_target(c)],
        "support",
        f"Restored service for {c.name} after payment",
        [{"field": "status", "old": "suspended", "new": "active"}],
        {"ticket": f"SUP-{20_000 + int(run.random() * 9000)}"},
    )


def client_contact_update(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.isp_clients)
    fld = run.pick(("phone", "email", "billing_address"))
    if fld == "phone":
        old: Any = f"+48 6{int(run.random() * 1e8):08d}"
        new: Any = f"+48 5{int(run.random() * 1e8):08d}"
    elif fld == "email":
        base = ascii_fold(c.name).lower().replace(" ", ".")
        old, new = f"{base}@poczta.example", f"{base}@mail.example"
    else:
        number = 1 + int(run.random() * 120)
        old = f"{run.pick(_STREETS)} {number}"
        new = f"{run.pick(_STREETS)} {number + 1 + int(run.random() * 40)}"
    return run.event(
        b,
        "client.contact.update",
        "info",
        [client_target(c)],
        "support",
        f"Updated {fld.replace('_', ' ')} of {c.name}",
        [{"field": fld, "old": old, "new": new}],
        {
            "ticket": f"SUP-{20_000 + int(run.random() * 9000)}",
            "channel": run.pick(("phone", "email", "chat")),
        },
    )


def router_target(rt: Record) -> Json:
    return {"id": rt.id, "name": rt.name, "type": "router"}


def _router_sync(run: Run, b: Burst, scope: str) -> Json:
    rt = run.pick(run.world.routers)
    pop, model, ver = rt.extra
    reason = None
    if run.fails(0.05):
        reason = run.pick(
            (
                "SNMP timeout after 10 s",
                "RouterOS API: login failure for user 'billing'",
                "connection reset by peer",
            )
        )
    sessions = 120 + int(run.random() * 600)
    return run.event(
        b,
        "router.sync",
        "info",
        [router_target(rt)],
        scope,
        f"Synced {sessions} PPPoE accounts and queues to {rt.id}",
        metadata={
            "pop": pop,
            "model": model,
            "routeros": ver,
            "pppoe_sessions": sessions,
            "queues_changed": int(run.random() * 14),
        },
        reason=reason,
    )


def router_sync(run: Run, b: Burst) -> Json:
    return _router_sync(run, b, "noc")


def router_sync_manual(run: Run, b: Burst) -> Json:
    return _router_sync(run, b, "noc")


def router_reboot(run: Run, b: Burst) -> Json:
    rt = run.pick(run.world.routers)
    reason = "router unreachable over management VLAN" if run.fails(0.05) else None
    return run.event(
        b,
        "router.reboot",
        "warning",
        [router_target(rt)],
        "noc",
        f"Rebooted {rt.name}",
        metadata={
            "pop": rt.extra[0],
            "uptime_days": 3 + int(run.random() * 200),
            "ticket": f"NOC-{3000 + int(run.random() * 900)}",
        },
        reason=reason,
    )


def router_config_update(run: Run, b: Burst) -> Json:
    rt = run.pick(run.world.routers)
    fld, old, new = run.pick(
        (
            ("qos_profile", "residential-v2", "residential-v3"),
            ("ntp_server", "10.20.0.1", "10.20.0.2"),
            ("dhcp_lease_time", "1h", "4h"),
            ("bgp_max_prefix", 1000, 2000),
            ("vlan_mgmt", 910, 911),
        )
    )
    return run.event(
        b,
        "router.config.update",
        "notice",
        [router_target(rt)],
        "noc",
        f"Changed {fld} on {rt.id}",
        [{"field": fld, "old": old, "new": new}],
        {"pop": rt.extra[0], "change_ticket": f"CHG-{1200 + int(run.random() * 300)}"},
    )


def subscription_expire(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.isp_clients)
    plan = ISP_PLANS[run.plan[c.id]][0]
    return run.event(
        b,
        "subscription.expire",
        "info",
        [client_target(c)],
        "billing",
        f"Subscription {plan} of {c.name} expired",
        [{"field": "status", "old": "active", "new": "expired"}],
        {"plan": plan, "job": "expire-subscriptions", "grace_days": 7},
    )


def invoice_batch_generate(run: Run, b: Burst) -> Json:
    isp = b.actor.org == "isp"
    count = 300 + int(run.random() * 60) if isp else len(run.world.hosting_clients)
    reason = None
    if run.fails(0.04):
        reason = (
            "tax rate missing for region 'opolskie'"
            if isp
            else "meter readings missing for farm-kz-2"
        )
    return run.event(
        b,
        "invoice.batch.generate",
        "info",
        [
            {
                "id": f"job-invoices-{run.month}",
                "name": f"Monthly invoices {run.month}",
                "type": "job",
            }
        ],
        "billing" if isp else "finance",
        f"Generated {count} invoices for {run.month}",
        metadata={
            "invoices": count,
            "period": run.month,
            "duration_ms": 800 + int(run.random() * 9000),
        },
        reason=reason,
    )


# Event builders by the name ``actions.TEAM_ACTIONS`` and ``actors.BOTS`` use.
BUILDERS: dict[str, Builder] = {
    "payment_record": payment_record,
    "payment_gateway": payment_gateway,
    "client_plan_change": client_plan_change,
    "client_account_create": client_account_create,
    "client_suspend": client_suspend,
    "client_restore": client_restore,
    "client_contact_update": client_contact_update,
    "router_sync": router_sync,
    "router_sync_manual": router_sync_manual,
    "router_reboot": router_reboot,
    "router_config_update": router_config_update,
    "subscription_expire": subscription_expire,
    "invoice_batch_generate": invoice_batch_generate,
}
