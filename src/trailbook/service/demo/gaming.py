"""Gaming back office (Lucky Orbit): payments approve and reject withdrawals, bonuses and
VIP managers hand out bonuses and adjust balances, risk blocks, unblocks and verifies
players; the PSP callback, risk engine, bonus scheduler and platform act on their own.
Player balances carry over between adjustments and deposits."""

from __future__ import annotations

from trailbook.service.demo.run import Builder, Burst, Json, Run
from trailbook.service.demo.text import money, money_text
from trailbook.service.demo.world import Record


def player_target(p: Record) -> Json:
    return {"id": p.id, "name": p.name, "type": "player"}


def player_balance_adjust(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.players)
    old = run.balance[p.id]
    delta = run.pick((1, 1, 1, -1)) * run.pick((500, 1000, 2500, 5000, 10_000, 25_000, 600_000))
    if old + delta < 0:
        delta = -delta
    new = old + delta
    run.balance[p.id] = new
    code = run.pick(("goodwill", "game malfunction", "duplicate deposit", "manual correction"))
    return run.event(
        b,
        "player.balance.adjust",
        "warning" if abs(delta) >= 500_000 else "info",
        [player_target(p)],
        b.actor.scope,
        f"Adjusted balance of {p.name} by {'+' if delta >= 0 else '-'}"
        f"{money_text(abs(delta))} EUR ({code})",
        [{"field": "balance", "old": money(old), "new": money(new)}],
        {
            "amount": money(delta),
            "currency": "EUR",
            "reason_code": code,
            "ticket": f"SUP-{48_000 + int(run.random() * 9000)}",
        },
    )


def bonus_manual_assign(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.players)
    code, cents = run.pick(
        (
            ("VIP-RELOAD-50", 5000),
            ("WELCOME-BACK-20", 2000),
            ("BDAY-25", 2500),
            ("HIGHROLLER-500", 50_000),
            ("FREESPINS-100", 0),
        )
    )
    reason = "bonus exceeds per-player weekly cap" if run.fails(0.05) else None
    return run.event(
        b,
        "bonus.manual_assign",
        "notice" if cents >= 50_000 else "info",
        [
            player_target(p),
            {"id": f"bonus-{code.lower()}", "name": code, "type": "bonus"},
        ],
        "bonuses",
        f"Assigned bonus {code} to {p.name}",
        metadata={
            "bonus_code": code,
            "amount": money(cents),
            "currency": "EUR",
            "wagering": run.pick((20, 30, 35, 40)),
        },
        reason=reason,
    )


def bonus_cancel(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.players)
    return run.event(
        b,
        "bonus.cancel",
        "info",
        [player_target(p)],
        "bonuses",
        f"Cancelled active bonus of {p.name}",
        [{"field": "bonus_status", "old": "active", "new": "cancelled"}],
        {"reason_code": run.pick(("abuse suspected", "player request", "wrong bonus"))},
    )


def bonus_campaign_run(run: Run, b: Burst) -> Json:
    players = 200 + int(run.random() * 3000)
    return run.event(
        b,
        "bonus.campaign.run",
        "info",
        [{"id": "camp-weekend-reload", "name": "Weekend reload", "type": "campaign"}],
        "bonuses",
        f"Weekend reload campaign credited {players} players",
        metadata={"players": players, "amount_each": "10.00", "currency": "EUR"},
    )


def withdrawal_approve(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.players)
    cents = int(run.random() ** 3 * 1_600_000) + 2000
    over = cents > 1_000_000
    reason = None
    if run.fails(0.05):
        reason = run.pick(
            (
                "payment provider declined: insufficient merchant balance",
                "player KYC not verified",
            )
        )
    wid = f"wd-{run.randbits(32):08x}"
    md: Json = {
        "amount": money(cents),
        "currency": "EUR",
        "method": run.pick(("bank_transfer", "skrill", "card", "trustly")),
        "limit": "10000.00",
        "over_limit": over,
    }
    if over:
        md["second_approver"] = run.pick(run.world.staff["gaming"][:3]).ref["email"]
    return run.event(
        b,
        "withdrawal.approve",
        "critical" if over else "info",
        [
            {"id": wid, "name": f"Withdrawal {money_text(cents)} EUR", "type": "withdrawal"},
            player_target(p),
        ],
        "payments",
        f"Approved withdrawal of {money_text(cents)} EUR for {p.name}"
        + (" above the 10,000 EUR limit" if over else ""),
        [{"field": "status", "old": "pending", "new": "approved"}],
        md,
        reason,
    )


def withdrawal_reject(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.players)
    cents = int(run.random() ** 2 * 500_000) + 2000
    why = run.pick(
        (
            "kyc_incomplete",
            "bonus wagering not met",
            "payment method mismatch",
            "multi-accounting suspected",
        )
    )
    return run.event(
        b,
        "withdrawal.reject",
        "notice",
        [
            {
                "id": f"wd-{run.randbits(32):08x}",
                "name": f"Withdrawal {money_text(cents)} EUR",
                "type": "withdrawal",
            },
            player_target(p),
        ],
        "payments",
        f"Rejected withdrawal of {money_text(cents)} EUR for {p.name}: {why}",
        [{"field": "status", "old": "pending", "new": "rejected"}],
        {"amount": money(cents), "currency": "EUR", "reject_reason": why},
    )


def _block(run: Run, b: Burst, rule: str, score: float) -> Json:
    p = run.pick(run.world.players)
    run.blocked.add(p.id)
    return run.event(
        b,
        "player.block",
        "warning",
        [player_target(p)],
        "risk",
        f"Blocked player {p.name}: {rule}",
        [{"field": "status", "old": "active", "new": "blocked"}],
        {"rule": rule, "score": score, "country": p.extra[0]},
    )


def player_block(run: Run, b: Burst) -> Json:
    return _block(
        run,
        b,
        run.pick(("self-exclusion request", "chargeback", "bonus abuse")),
        round(run.random(), 2),
    )


def risk_block(run: Run, b: Burst) -> Json:
    return _block(
        run,
        b,
        run.pick(("multi-accounting", "device fingerprint match", "velocity")),
        round(0.8 + run.random() * 0.19, 2),
    )


def player_unblock(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.players)
    run.blocked.discard(p.id)
    return run.event(
        b,
        "player.unblock",
        "notice",
        [player_target(p)],
        "risk",
        f"Unblocked player {p.name} after review",
        [{"field": "status", "old": "blocked", "new": "active"}],
        {"review": f"RISK-{500 + int(run.random() * 400)}"},
    )


def player_kyc_verify(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.players)
    reason = "document expired" if run.fails(0.08) else None
    return run.event(
        b,
        "player.kyc.verify",
        "info",
        [player_target(p)],
        "risk",
        f"Verified identity documents of {p.name}",
        [{"field": "kyc_level", "old": 1, "new": 2}],
        {
            "documents": run.pick(
                (["passport"], ["id_card", "utility_bill"], ["passport", "bank_statement"])
            ),
            "country": p.extra[0],
        },
        reason,
    )


def deposit_record(run: Run, b: Burst) -> Json:
    p = run.pick(run.world.players)
    cents = run.pick((1000, 2000, 2500, 5000, 10_000, 20_000, 50_000))
    run.balance[p.id] += cents
    reason = "3-D Secure authentication failed" if run.fails(0.03) else None
    return run.event(
        b,
        "payment.record",
        "info",
        [player_target(p)],
        "payments",
        f"Deposit of {money_text(cents)} EUR by {p.name}",
        metadata={
            "amount": money(cents),
            "currency": "EUR",
            "method": run.pick(("card", "trustly", "skrill", "apple_pay")),
            "psp_reference": f"PSP{run.randbits(48):012X}",
        },
        reason=reason,
    )


def database_failover(run: Run, b: Burst) -> Json:
    return run.event(
        b,
        "database.failover",
        "critical",
        [{"id": "db-wallet-primary", "name": "wallet database", "type": "database"}],
        "backoffice",
        "Wallet database failed over to the standby replica",
        metadata={
            "old_primary": "db-wallet-1",
            "new_primary": "db-wallet-2",
            "lag_bytes": int(run.random() * 4096),
            "downtime_s": 6 + int(run.random() * 20),
        },
    )


def disk_space_low(run: Run, b: Burst) -> Json:
    pct = 85 + int(run.random() * 12)
    return run.event(
        b,
        "disk.space.low",
        "warning",
        [{"id": "host-game-log-2", "name": "game-log-2", "type": "host"}],
        "backoffice",
        f"Disk /var/lib/postgresql on game-log-2 is {pct}% full",
        metadata={
            "used_pct": pct,
            "free_gb": round((100 - pct) * 4.8, 1),
            "mount": "/var/lib/postgresql",
        },
    )


# Event builders by the name ``actions.TEAM_ACTIONS`` and ``actors.BOTS`` use.
BUILDERS: dict[str, Builder] = {
    "player_balance_adjust": player_balance_adjust,
    "bonus_manual_assign": bonus_manual_assign,
    "bonus_cancel": bonus_cancel,
    "bonus_campaign_run": bonus_campaign_run,
    "withdrawal_approve": withdrawal_approve,
    "withdrawal_reject": withdrawal_reject,
    "player_block": player_block,
    "risk_block": risk_block,
    "player_unblock": player_unblock,
    "player_kyc_verify": player_kyc_verify,
    "deposit_record": deposit_record,
    "database_failover": database_failover,
    "disk_space_low": disk_space_low,
}
