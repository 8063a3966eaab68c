"""Alert messages: who did what to what, when and from where, with console links."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from trailbook.model.timefmt import parse_rfc3339
from trailbook.notify import message as msg
from trailbook.notify.message import Message, alert_message, summary_message
from trailbook.notify.records import Rule

CONSOLE = "https://audit.example.com/"


def rule(**changes: Any) -> Rule:
    base: dict[str, Any] = dict(
        id=1, tenant_id=1, name="Failed logins", query="action:user.login result:failure",
        threshold=5, window_seconds=600, group_by="source.ip", quiet_seconds=300,
        channels=(1,), enabled=True, created_at="2026-01-01T00:00:00.000000Z",
        updated_at="2026-01-01T00:00:00.000000Z")
    base.update(changes)
    return Rule(**base)


def doc(n: int = 1, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"evt-{n}", "seq": n, "occurred_at": f"2026-03-04T05:06:{n:02d}.123456Z",
        "category": "auth", "action": "user.login", "result": "failure",
        "severity": "warning",
        "actor": {"id": "42", "name": "Alice Smith", "email": "alice@example.com",
                  "type": "user"},
        "targets": [{"type": "account", "id": "7", "name": "Bob"}],
        "source": {"ip": "203.0.113.9"}, "description": "bad password",
    }
    base.update(changes)
    return base


def test_one_event_says_who_did_what_to_what_when_and_from_where() -> None:
    m = alert_message("acme", rule(threshold=1), [doc()], 1, CONSOLE)
    assert m.kind == "alert" and m.rule == "Failed logins" and m.count == 1
    assert m.severity == "warning"
    assert m.link == "https://audit.example.com/events/evt-1"
    assert m.title == "Failed logins: Alice Smith <alice@example.com> did user.login"
    assert m.text.splitlines() == [
        "2026-03-04 05:06:01 UTC Alice Smith <alice@example.com> did user.login (failure) "
        "to account:7 (Bob) from 203.0.113.9",
        "https://audit.example.com/events/evt-1",
    ]
    assert m.event_ids == ("evt-1",)
    event = m.events[0]
    assert (event.id, event.seq, event.ip, event.description) == (
        "evt-1", 1, "203.0.113.9", "bad password")


def test_several_events_link_to_a_search_of_the_rule() -> None:
    docs = [doc(n) for n in range(1, 6)]
    docs[2]["severity"] = "critical"
    m = alert_message("acme", rule(), docs, 5, CONSOLE)
    assert m.title == "Failed logins: 5 matching events"
    assert m.severity == "critical"
    parts = urlsplit(m.link)
    assert parts.path == "/logs"
    assert parse_qs(parts.query) == {"query": ["action:user.login result:failure"]}
    lines = m.text.splitlines()
    assert len(lines) == 6 and lines[-1] == m.link
    assert all(" did user.login (failure) " in line for line in lines[:5])


def test_at_most_ten_events_shown_and_the_rest_counted() -> None:
    docs = [doc(n) for n in range(1, 16)]
    ids = [f"evt-{n}" for n in range(1, 151)]
    m = alert_message("acme", rule(), docs, 150, CONSOLE, event_ids=ids)
    assert len(m.events) == msg.MAX_EVENTS
    assert m.count == 150
    assert "… and 140 more" in m.text.splitlines()
    assert len(m.event_ids) == msg.MAX_EVENT_IDS and m.event_ids[0] == "evt-1"


def test_missing_parts_are_left_out_of_the_line() -> None:
    bare = {"id": "e1", "seq": 3, "occurred_at": "2026-03-04T05:06:07Z",
            "category": "general", "action": "job.run",
            "actor": {"id": "cron", "type": "system"}}
    m = alert_message("acme", rule(threshold=1), [bare], 1, CONSOLE)
    assert m.text.splitlines()[0] == "2026-03-04 05:06:07 UTC system:cron did job.run"
    assert m.severity == "info"


def test_actor_and_targets_descriptions() -> None:
    assert msg.describe_actor({"id": "1", "email": "a@example.com"}) == "a@example.com"
    assert msg.describe_actor({"id": "1", "name": "Ann"}) == "Ann"
    assert msg.describe_actor({"id": "k1", "type": "api_key"}) == "api_key:k1"
    targets = [{"type": "user", "id": "42", "name": "Bob"}, {"type": "doc", "id": "9"},
               {"type": "doc", "id": "10"}]
    assert msg.describe_targets(targets) == "user:42 (Bob) +2 more"
    assert msg.describe_targets([{"type": "doc", "id": "9"}]) == "doc:9"
    assert msg.describe_targets([]) == ""


def test_event_ids_in_links_are_quoted() -> None:
    m = alert_message("acme", rule(threshold=1), [doc(id="a/b?c")], 1, CONSOLE)
    assert m.link == "https://audit.example.com/events/a%2Fb%3Fc"


def test_summary_counts_the_quiet_period_and_links_its_time_range() -> None:
    first = parse_rfc3339("2026-03-04T05:00:00Z")
    last = parse_rfc3339("2026-03-04T05:04:59.5Z")
    m = summary_message("acme", rule(), "203.0.113.9", 995, first, last,
                        [f"e{n}" for n in range(200)], CONSOLE)
    assert m.kind == "summary" and m.count == 995 and m.events == ()
    assert m.title == "Failed logins: 995 more matching events during the quiet period"
    assert m.text.startswith(
        "995 more events matched Failed logins for source.ip = 203.0.113.9 from "
        "2026-03-04 05:00:00 UTC to 2026-03-04 05:04:59 UTC")
    assert len(m.event_ids) == 100
    query = parse_qs(urlsplit(m.link).query)
    assert query["query"] == ["action:user.login result:failure"]
    assert parse_rfc3339(query["since"][0]) == first
    assert parse_rfc3339(query["until"][0]) == last + 1
    assert m.text.splitlines()[-1] == m.link


def test_test_message() -> None:
    m = msg.test_message("acme", "ops mail", CONSOLE)
    assert (m.kind, m.rule, m.severity, m.count) == ("test", None, "info", 0)
    assert "ops mail" in m.title and "ops mail" in m.text
    assert m.link == "https://audit.example.com/logs"


def test_json_round_trip() -> None:
    for m in (alert_message("acme", rule(), [doc(1), doc(2)], 2, CONSOLE),
              summary_message("acme", rule(group_by=None), "", 3, 1, 2, ["x"], CONSOLE),
              msg.test_message("acme", "c", CONSOLE)):
        assert Message.from_json(m.to_json()) == m


def test_user_text_is_kept_verbatim_in_text() -> None:
    # Escaping is each channel's business: the message keeps the text as it was.
    evil = doc(actor={"id": "x", "name": "<script>alert(1)</script>"})
    m = alert_message("acme", rule(threshold=1), [evil], 1, CONSOLE)
    assert "<script>alert(1)</script> did user.login" in m.text
