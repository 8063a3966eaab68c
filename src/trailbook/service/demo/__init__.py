"""Demo events: a convincing audit trail from the five kinds of back office Trailbook
serves (DESIGN §1): a mining farm's staff console, an ISP's billing system, a cluster
platform, a CRM and a gaming back office.

``demo_events`` yields plain JSON-compatible dicts, each a valid ``EventIn`` input,
in ascending ``occurred_at`` order. The trail is built from *bursts*: a staff member's
session (login, a handful of actions and page views a minute or so apart, perhaps a
logout), a machine job (cron, autoscaler, API key, monitoring) or, rarely, a password
guessing attempt. Bursts start more often in working hours than at night or at
weekends, and overlap. Values that change are followed: a cluster scaled from 3 to 5
nodes is later scaled from 5, a player's balance carries over between adjustments.

Everything random comes from ``random.Random`` instances seeded from ``seed``, so a
seed and an ``end_us`` give the same events every time. The cast (staff, machines,
racks, clients, clusters, players …) is fixed and built once per process.

Addresses come from documentation and private ranges (198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32, 10.0.0.0/8, fd00::/8) and every company domain ends in ``.example``, so
the demo names no real network or mailbox.

The modules, from the bottom up:

- ``text``: ASCII folding, e-mail addresses, money amounts.
- ``actors``: the staff, machines, new hires and attackers of each company.
- ``actions``: every action with its category and type; what each team does.
- ``world``: the things events point at, and the cast, built once per process.
- ``run``: one run's random stream, clock and changing values; the event envelope.
- ``mining``, ``isp``, ``cloud``, ``crm``, ``gaming``: each back office's event builders.
- ``staff_admin``, ``access``: builders every company shares (roles, users, keys;
  sign-ins, page views, exports).
- ``bursts``: sessions, machine jobs and attacks, and which builder runs next.
- ``timeline``: when bursts start, their merge into one ordered stream, ``demo_events``.
"""

from __future__ import annotations

from trailbook.service.demo.timeline import demo_events

__all__ = ["demo_events"]
