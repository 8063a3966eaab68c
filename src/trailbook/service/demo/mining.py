"""Mining farm (Hashvale): its staff console and machines. Ops reboot miners, move racks
between pools, flash firmware and set rack power limits; finance keeps the hosting
clients' bills, invoices and payments; the farm monitor, pool watchdog and payout
scheduler report on their own."""

from __future__ import annotations

from trailbook.service.demo.run import Builder, Burst, Json, Run
from trailbook.service.demo.text import money, money_text
from trailbook.service.demo.world import Rack

_FIRMWARE = {
    "Antminer S19j Pro": ("2023.11.28", "2024.05.06", "2024.09.17"),
    "Antminer S21": ("2024.03.12", "2024.07.30", "2024.12.04"),
    "Whatsminer M50S": ("20240311.22.REL", "20240618.12.REL", "20241020.15.REL"),
    "Avalon A1366": ("24071801_4ec6bb0", "24101502_61407fa", "25011501_9d31c2e"),
}
_POOLS = (
    "stratum+tcp://btc.f2pool.com:1314",
    "stratum+tcp://btc.viabtc.io:3333",
    "stratum+tcp://ss.antpool.com:3333",
    "stratum+tcp://stratum.braiins.com:3333",
    "stratum+tcp://pool.hashvale.example:3333",
)


def rack_for(run: Run, b: Burst) -> Rack:
    """A rack at the actor's own farm, or at any farm if they have none."""
    racks = run.world.racks.get(b.actor.scope)
    return run.pick(racks if racks else run.world.all_racks)


def rack_target(k: Rack) -> Json:
    return {"id": k.id, "name": f"Rack {k.label} ({k.farm})", "type": "rack"}


def _miner_target(k: Rack, slot: int) -> Json:
    return {
        "id": f"{k.id}-{slot:02d}",
        "name": f"{k.label}-{slot:02d} {k.model}",
        "type": "miner",
    }


def miner_reboot(run: Run, b: Burst) -> Json:
    k = rack_for(run, b)
    if run.random() < 0.55:
        slot = 1 + int(run.random() * k.miners)
        targets = [_miner_target(k, slot), rack_target(k)]
        desc = f"Rebooted miner {k.label}-{slot:02d} in rack {k.label}"
        count = 1
    else:
        count = 4 + int(run.random() * (k.miners - 4))
        first = 1 + int(run.random() * (k.miners - count + 1))
        targets = [rack_target(k)]
        targets += [_miner_target(k, s) for s in range(first, first + min(count, 12))]
        desc = f"Rebooted {count} miners in rack {k.label}"
    reason = None
    if run.fails(0.06):
        reason = run.pick(
            (
                "miner unreachable: no response on port 4028 after 30 s",
                "reboot refused: firmware update in progress",
                "PDU outlet did not respond",
            )
        )
    return run.event(
        b,
        "miner.reboot",
        "info",
        targets,
        k.farm,
        desc,
        metadata={
            "rack": k.label,
            "count": count,
            "model": k.model,
            "trigger": run.pick(("manual", "manual", "low hashrate", "chip errors")),
        },
        reason=reason,
    )


def miner_pool_change(run: Run, b: Burst) -> Json:
    k = rack_for(run, b)
    old = run.rack_pool[k.id]
    new = (old + 1 + int(run.random() * (len(_POOLS) - 1))) % len(_POOLS)
    reason = "pool rejected worker credentials" if run.fails(0.05) else None
    if reason is None:
        run.rack_pool[k.id] = new
    changes = [{"field": "pool_url", "old": _POOLS[old], "new": _POOLS[new]}]
    if (old == 4) != (new == 4):  # the own pool names workers by farm, public pools by rack
        by_rack, by_farm = f"hashvale.{k.label.lower()}", f"{k.farm}.{k.label.lower()}"
        changes.append(
            {
                "field": "worker",
                "old": by_farm if old == 4 else by_rack,
                "new": by_farm if new == 4 else by_rack,
            }
        )
    return run.event(
        b,
        "miner.pool.change",
        "notice",
        [rack_target(k)],
        k.farm,
        f"Switched {k.miners} miners in rack {k.label} to {_POOLS[new].split('//')[1]}",
        changes,
        {"rack": k.label, "miners": k.miners, "coin": "BTC"},
        reason,
    )


def miner_firmware_update(run: Run, b: Burst) -> Json:
    k = rack_for(run, b)
    versions = _FIRMWARE[k.model]
    old = run.rack_fw[k.id]
    rollback = old == len(versions) - 1
    new = old - 1 if rollback else old + 1
    reason = None
    if run.fails(0.07):
        reason = run.pick(
            (
                "firmware image checksum mismatch",
                "3 miners rebooted during flashing; rolled back",
            )
        )
    else:
        run.rack_fw[k.id] = new
    return run.event(
        b,
        "miner.firmware.update",
        "notice",
        [rack_target(k)],
        k.farm,
        f"{'Rolled back' if rollback else 'Updated'} firmware on {k.miners} {k.model} miners"
        f" in rack {k.label} to {versions[new]}",
        [{"field": "firmware", "old": versions[old], "new": versions[new]}],
        {"rack": k.label, "model": k.model, "miners": k.miners, "firmware": versions[new]},
        reason,
    )


def rack_power_set(run: Run, b: Burst) -> Json:
    k = rack_for(run, b)
    old = run.rack_power[k.id]
    if run.random() < 0.06:
        new, severity = 0, "critical"
        desc = f"Powered off rack {k.label} at {k.farm} ({old} kW)"
    else:
        delta = run.pick((-12, -8, -5, 5, 8, 10))
        new = old + delta if old + delta >= 20 else old - delta
        severity = "notice"
        desc = f"Set power limit of rack {k.label} to {new} kW"
    run.rack_power[k.id] = new if new else k.power_kw
    return run.event(
        b,
        "rack.power.set",
        severity,
        [rack_target(k)],
        k.farm,
        desc,
        [{"field": "power_limit_kw", "old": old, "new": new}],
        {"rack": k.label, "pdu": f"pdu-{k.label.lower()}-a", "feed": run.pick(("A", "B"))},
    )


def miner_overheat(run: Run, b: Burst) -> Json:
    k = run.pick(run.world.all_racks)
    slot = 1 + int(run.random() * k.miners)
    temp = round(88.0 + run.random() * 9.0, 1)
    severity = "critical" if temp >= 96.0 else "warning"
    return run.event(
        b,
        "miner.overheat",
        severity,
        [_miner_target(k, slot), rack_target(k)],
        k.farm,
        f"Miner {k.label}-{slot:02d} chip temperature {temp} °C (limit 90 °C)",
        metadata={
            "rack": k.label,
            "temperature_c": temp,
            "threshold_c": 90,
            "fan_rpm": 5800 + int(run.random() * 900),
            "model": k.model,
        },
    )


def miner_pool_failover(run: Run, b: Burst) -> Json:
    k = run.pick(run.world.all_racks)
    old = run.rack_pool[k.id]
    new = 4 if old != 4 else 0
    run.rack_pool[k.id] = new
    return run.event(
        b,
        "miner.pool.failover",
        "warning",
        [rack_target(k)],
        k.farm,
        f"Rack {k.label} failed over to the backup pool after"
        f" {2 + int(run.random() * 6)} min without accepted shares",
        [{"field": "pool_url", "old": _POOLS[old], "new": _POOLS[new]}],
        {"rack": k.label, "rejected_pct": round(run.random() * 40 + 10, 1)},
    )


def pool_payout_run(run: Run, b: Burst) -> Json:
    clients = 3 + int(run.random() * 9)
    btc = round(0.2 + run.random() * 2.4, 8)
    reason = "hot wallet balance below payout total" if run.fails(0.04) else None
    return run.event(
        b,
        "pool.payout.run",
        "info",
        [{"id": "job-payouts-daily", "name": "Daily client payouts", "type": "job"}],
        "finance",
        f"Paid out {btc} BTC to {clients} hosting clients",
        metadata={
            "clients": clients,
            "amount_btc": btc,
            "network_fee_sat": 1200 + int(run.random() * 9000),
        },
        reason=reason,
    )


def client_bill_update(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.hosting_clients)
    old = run.bill[c.id]
    new = old + run.pick((-1, 1, 1)) * (500 + int(run.random() * 40_000))
    if new < 10_000:
        new = old + 5_000
    run.bill[c.id] = new
    rates = ("0.047", "0.049", "0.052", "0.055")
    kwh = int(run.random() * len(rates))
    changes = [{"field": "amount", "old": money(old), "new": money(new)}]
    if run.random() < 0.3:
        changes.append(
            {"field": "rate_usd_kwh", "old": rates[kwh], "new": rates[(kwh + 1) % len(rates)]}
        )
    return run.event(
        b,
        "client.bill.update",
        "info",
        [
            {"id": f"bill-{c.id}-{run.month}", "name": f"{c.name} {run.month}", "type": "bill"},
            {"id": c.id, "name": c.name, "type": "client"},
        ],
        "finance",
        f"Updated {run.month} hosting bill of {c.name}: {money_text(old)} → {money_text(new)} USD",
        changes,
        {
            "currency": "USD",
            "period": run.month,
            "note": run.pick(
                ("curtailment credit", "extra rack", "metering correction", "late fee")
            ),
        },
    )


def hosting_invoice_create(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.hosting_clients)
    run.invoice_no += 1
    inv = f"HV-{run.month}-{run.invoice_no:05d}"
    amount = run.bill[c.id]
    return run.event(
        b,
        "invoice.create",
        "info",
        [
            {"id": inv, "name": f"Invoice {inv}", "type": "invoice"},
            {"id": c.id, "name": c.name, "type": "client"},
        ],
        "finance",
        f"Issued invoice {inv} to {c.name} for {money_text(amount)} USD",
        metadata={"amount": money(amount), "currency": "USD", "due_days": 14},
    )


def hosting_payment(run: Run, b: Burst) -> Json:
    c = run.pick(run.world.hosting_clients)
    amount = run.bill[c.id]
    reason = "amount does not match any open invoice" if run.fails(0.05) else None
    return run.event(
        b,
        "payment.record",
        "info",
        [{"id": c.id, "name": c.name, "type": "client"}],
        "finance",
        f"Recorded payment of {money_text(amount)} USD from {c.name}",
        metadata={
            "amount": money(amount),
            "currency": "USD",
            "method": run.pick(("wire", "wire", "USDT")),
            "reference": f"TX{run.randbits(32):08X}",
        },
        reason=reason,
    )


# Event builders by the name ``actions.TEAM_ACTIONS`` and ``actors.BOTS`` use.
BUILDERS: dict[str, Builder] = {
    "miner_reboot": miner_reboot,
    "miner_pool_change": miner_pool_change,
    "miner_firmware_update": miner_firmware_update,
    "rack_power_set": rack_power_set,
    "miner_overheat": miner_overheat,
    "miner_pool_failover": miner_pool_failover,
    "pool_payout_run": pool_payout_run,
    "client_bill_update": client_bill_update,
    "hosting_invoice_create": hosting_invoice_create,
    "hosting_payment": hosting_payment,
}
