"""One generation run: its random stream, the time of the event being built, the values
that change as events happen, and the envelope every event is built in.

A ``Burst`` is one actor's stretch of activity (a session, a machine job, a password
guessing attempt); a ``Builder`` makes one event of a burst. The builders live in one
module per back office (``mining``, ``isp``, ``cloud``, ``crm``, ``gaming``) plus the
shared ``staff_admin`` and ``access``; ``bursts`` decides which one runs next.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from random import Random
from typing import Any, TypeVar

from trailbook.service.demo.actions import ACTIONS, failed
from trailbook.service.demo.actors import Actor
from trailbook.service.demo.world import build_world

_T = TypeVar("_T")

Json = dict[str, Any]

# The clock is in microseconds since the epoch.
SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR

# Kinds of burst.
SESSION, MACHINE, ATTACK = 0, 1, 2


class Burst:
    __slots__ = (
        "actions", "actor", "country", "fail_first", "idx", "ip", "job", "kind", "login_at",
        "logout", "session", "size", "started", "ua",
    )  # fmt: skip

    def __init__(self, kind: int, size: int, actor: Actor, ip: str, ua: str, country: str) -> None:
        self.kind = kind
        self.size = size
        self.idx = 0
        self.actor = actor
        self.ip = ip
        self.ua = ua
        self.country = country
        self.session: str | None = None
        self.job: Builder | None = None
        self.actions: tuple[list[Builder], list[float]] | None = None
        self.fail_first = False
        self.logout = False
        self.login_at = 0
        self.started = 0


class Run:
    def __init__(self, seed: int) -> None:
        self.world = build_world()
        self.rng = Random(seed)
        self.random = self.rng.random
        self.randbits = self.rng.getrandbits
        self.occurred_at = ""  # the event being built: its RFC 3339 time,
        self.month = ""  # its "YYYY-MM",
        self.clock_us = 0  # and its time in microseconds
        # Values that change, so that a later event's "old" is an earlier one's "new".
        w = self.world
        self.rack_pool = {k.id: i % 3 for i, k in enumerate(w.all_racks)}
        self.rack_fw = {k.id: i % 2 for i, k in enumerate(w.all_racks)}
        self.rack_power = {k.id: k.power_kw for k in w.all_racks}
        self.bill = {c.id: int(c.extra[0]) for c in w.hosting_clients}
        self.plan = {c.id: int(c.extra[0]) for c in w.isp_clients}
        self.suspended: set[str] = set()
        self.nodes = {c.id: int(c.extra[3]) for c in w.clusters}
        self.k8s = {c.id: i % 3 for i, c in enumerate(w.clusters)}
        self.image: dict[str, int] = {}
        self.profile_values: dict[tuple[str, str], Any] = {}
        self.stage = {d.id: int(d.extra[1]) for d in w.deals}
        self.balance = {p.id: int(p.extra[1]) for p in w.players}
        self.blocked: set[str] = set()
        self.roles: dict[str, str] = {}
        self.invoice_no = 4100 + (seed % 997)
        self.account_no = 640_000 + (seed % 9973)
        self.next_cluster = 0

    def pick(self, seq: Sequence[_T]) -> _T:
        return seq[int(self.random() * len(seq))]

    def weighted(self, items: Sequence[_T], cum: list[float]) -> _T:
        """Pick from ``items`` by their cumulative weights ``cum``."""
        return items[bisect_right(cum, self.random() * cum[-1])]

    def fails(self, p: float) -> bool:
        return self.random() < p

    def event(
        self,
        b: Burst,
        action: str,
        severity: str,
        targets: list[Json],
        scope: str | None,
        description: str,
        changes: list[Json] | None = None,
        metadata: Json | None = None,
        reason: str | None = None,
    ) -> Json:
        """The event of ``b`` doing ``action`` now; a ``reason`` makes it a failure (and
        drops the ``changes``, since nothing changed)."""
        category, action_type = ACTIONS[action]
        if reason is not None:
            description = failed(description)
        e: Json = {
            "occurred_at": self.occurred_at,
            "category": category,
            "action": action,
            "action_type": action_type,
            "severity": severity,
            "actor": b.actor.ref.copy(),
            "targets": targets,
            "scope": scope,
            "result": "success" if reason is None else "failure",
            "source": {"ip": b.ip, "user_agent": b.ua, "country": b.country},
            "request_id": f"req_{self.randbits(64):016x}",
            "description": description,
            "changes": changes if changes is not None and reason is None else [],
            "metadata": metadata if metadata is not None else {},
        }
        if reason is not None:
            e["reason"] = reason
        if b.session is not None:
            e["session_id"] = b.session
        return e


Builder = Callable[[Run, Burst], Json]
