"""Bursts: the trail is made of them. A staff member's session (perhaps a failed sign-in
first, then a login, a handful of actions and page views, perhaps a logout), a machine
job (one event, or a few within seconds) or, rarely, a password guessing attempt that
may end with the account locked. ``plan_burst`` picks the kind and length of the next
burst, ``Bursts.start`` who it belongs to, and ``Bursts.next_event`` builds its next
event with the builders of the actor's back office.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from random import Random

from trailbook.service.demo import access, cloud, crm, gaming, isp, mining, staff_admin
from trailbook.service.demo.actions import TEAM_ACTIONS
from trailbook.service.demo.actors import BOTS, TZ, Job, office_hours
from trailbook.service.demo.run import ATTACK, HOUR, MACHINE, SESSION, Builder, Burst, Json, Run
from trailbook.service.demo.world import cumulative

# Every event builder by name, as ``TEAM_ACTIONS`` and ``BOTS`` refer to them.
BUILDERS: dict[str, Builder] = {
    **mining.BUILDERS,
    **isp.BUILDERS,
    **cloud.BUILDERS,
    **crm.BUILDERS,
    **gaming.BUILDERS,
    **staff_admin.BUILDERS,
    **access.BUILDERS,
}


def plan_burst(r: Random) -> tuple[int, int]:
    """The kind and number of events of the next burst. Called twice per burst, with
    the same stream: once to count the bursts needed, once while generating."""
    x = r.random()
    if x < 0.47:
        return SESSION, 3 + min(int(-math.log(1.0 - r.random()) * 5.0), 30)
    if x < 0.989:
        y = r.random()
        return MACHINE, 1 if y < 0.72 else 2 + int((y - 0.72) * 18)
    return ATTACK, 3 + int(r.random() * 5)


class Bursts:
    """Starts bursts and builds their events, all from ``run``'s random stream."""

    def __init__(self, run: Run) -> None:
        self.run = run
        # What each team does: its builders and their cumulative weights.
        self.team_tables = {
            key: ([BUILDERS[name] for name, _ in table], cumulative([wt for _, wt in table]))
            for key, table in TEAM_ACTIONS.items()
        }
        # Each org's machine jobs with their builders, and their cumulative weights: of
        # all jobs, and of the repeatable ones only (for bursts of several events).
        self.jobs: dict[str, tuple[list[tuple[Job, Builder]], list[float], list[float]]] = {
            org: (
                [(job, BUILDERS[job.action]) for job in jobs],
                cumulative([bot[5] for bot in BOTS[org]]),
                cumulative([bot[5] if bot[4] else 0.0 for bot in BOTS[org]]),
            )
            for org, jobs in run.world.jobs.items()
        }

    def start(self, kind: int, size: int, start_us: int) -> Burst:
        """A burst of ``kind`` and ``size`` events starting at ``start_us``: whose it is,
        from which address and browser."""
        run = self.run
        w = run.world
        r = run.random
        if kind == SESSION:
            if r() < 0.025 and w.auditor is not None:
                actor = w.auditor
            else:
                hour = (start_us // HOUR) % 24
                cum = w.staff_cum_by_hour[hour]
                org = w.orgs[bisect_right(cum, r() * cum[-1])]
                actor = run.pick(w.staff[org])
                for _ in range(3):  # prefer someone whose working day it is
                    if r() < office_hours((hour + TZ[actor.country]) % 24):
                        break
                    actor = run.pick(w.staff[org])
            b = Burst(kind, size, actor, run.pick(actor.ips), run.pick(actor.uas), actor.country)
            b.actions = self.team_tables[(actor.org, actor.team)]
            b.fail_first = size >= 4 and r() < 0.13
            b.logout = r() < 0.55
            b.login_at = 1 if b.fail_first else 0
            return b
        if kind == MACHINE:
            org = w.orgs[bisect_right(w.org_cum, r() * w.org_cum[-1])]
            jobs, cum_all, cum_rep = self.jobs[org]
            job, builder = run.weighted(jobs, cum_rep if size > 1 else cum_all)
            a = job.actor
            b = Burst(kind, size, a, a.ips[0], a.uas[0], a.country)
            b.job = builder
            return b
        org = w.orgs[bisect_right(w.org_cum, r() * w.org_cum[-1])]
        victim = run.pick(w.staff[org])
        ip, ua, country = run.pick(w.attackers)
        return Burst(kind, size, victim, ip, ua, country)

    def next_event(self, b: Burst) -> Json:
        run = self.run
        i = b.idx
        b.idx = i + 1
        if b.kind == MACHINE:
            assert b.job is not None
            return b.job(run, b)
        if b.kind == ATTACK:
            locked = i == b.size - 1 and b.size >= 5
            why = "account locked" if locked else "bad password"
            return access.login_failure(run, b, why, locked)
        if i < b.login_at:
            why = run.pick(("bad password", "bad password", "MFA code expired"))
            return access.login_failure(run, b, why, False)
        if i == b.login_at:
            b.session = f"sess_{run.randbits(96):024x}"
            b.started = run.clock_us
            return access.login(run, b)
        if b.logout and i == b.size - 1:
            return access.logout(run, b)
        assert b.actions is not None
        builders, cum = b.actions
        return builders[bisect_right(cum, run.random() * cum[-1])](run, b)
