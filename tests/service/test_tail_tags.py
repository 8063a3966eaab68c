"""The live tail honours tag filters: an event tagged by the time the tail reads it
matches ``tag:``, and ``-tag:`` leaves it out."""

from __future__ import annotations

from staff_helpers import add_user
from trailbook.model.event import convert_event
from trailbook.query.language import combine
from trailbook.service.access.audit import CLI
from trailbook.service.app import Trailbook
from trailbook.store.records import Tenant


def test_tail_matches_tags_of_new_events(tb: Trailbook, tenant: Tenant) -> None:
    user = add_user(tb, tenant, "ana@acme.example", "admin")
    ana = tb.sessions.principal_of(user)
    start = tb.tail.start(ana, combine("tag:incident-7", {}))
    stored = tb.events.ingest(tenant, [convert_event({"action": f"miner.reboot.{i}",
                                                      "actor": {"id": "u"}})
                                       for i in range(3)], batch=True)
    tb.annotations.tag(ana, stored[1].id, "incident-7", CLI)

    tagged, _ = tb.tail.poll(ana, combine("tag:incident-7", {}), start)
    assert [e.seq for e in tagged] == [stored[1].seq]
    untagged, _ = tb.tail.poll(ana, combine("action:miner.* -tag:incident-7", {}), start)
    assert [e.seq for e in untagged] == [stored[0].seq, stored[2].seq]
