"""`trailbook alerts` as an operator meets it: a real process on a data folder made by
`trailbook init`; channels and rules added, listed, switched and removed; a test
message to a loopback receiver; the one-line refusals of bad input; the outbox."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from cli.cli_runner import ok, refused
from notify.loopback import Reply, http_receiver

SECRET = "a webhook secret of some length"



@pytest.fixture
def data(tmp_path: Path) -> Path:
    ok(tmp_path, "init", "--tenant", "acme")
    return tmp_path


def test_channels_rules_and_test_message(data: Path) -> None:
    with http_receiver(Reply(200), Reply(502)) as web:
        ok(data, "alerts", "channel", "add", "ops", "--kind", "webhook",
           "--set", f"url={web.url}/in", "--set", f"secret={SECRET}")
        assert "delivered" in ok(data, "alerts", "channel", "test", "ops")
        assert web.requests[0].json()["kind"] == "test"
        assert "502" in refused(data, "alerts", "channel", "test", "ops")
    ok(data, "alerts", "rule", "add", "Password guessing", "-q",
       "action:user.login result:failure", "--threshold", "5", "--window", "10m",
       "--group-by", "source.ip", "--quiet", "15m", "-c", "ops")
    [rule] = orjson.loads(ok(data, "alerts", "rule", "list", "--json"))["rules"]
    assert (rule["threshold"], rule["window_seconds"], rule["quiet_seconds"]) == (5, 600, 900)
    assert rule["channels"] == ["ops"] and rule["enabled"] is True
    ok(data, "alerts", "rule", "disable", "password GUESSING")
    assert orjson.loads(ok(data, "alerts", "rule", "list", "--json"))["rules"][0][
        "enabled"] is False
    [channel] = orjson.loads(ok(data, "alerts", "channel", "list", "--json"))["channels"]
    assert channel["config"]["secret"] == "********"
    assert "used by" in refused(data, "alerts", "channel", "remove", "ops")
    ok(data, "alerts", "rule", "remove", "Password guessing")
    ok(data, "alerts", "channel", "remove", "ops")
    assert orjson.loads(ok(data, "alerts", "deliveries", "--json")) == {"deliveries": []}


@pytest.mark.parametrize(("args", "says"), [
    (("channel", "add", "x", "--kind", "pager"), "kind"),
    (("channel", "add", "x", "--kind", "webhook", "--set", "url=ftp://x"), "config.url"),
    (("channel", "add", "x", "--kind", "webhook", "--config", "[1]"), "JSON object"),
    (("rule", "add", "r", "-q", "severity:bogus", "-c", "ops"), "query"),
    (("rule", "add", "r", "-q", "severity:critical", "-c", "nope"), "channels"),
    (("rule", "add", "r", "-q", "x", "--window", "ten minutes", "-c", "ops"), "--window"),
    (("rule", "enable", "nope"), "no such rule"),
    (("retry", "0000"), "no such delivery"),
    (("deliveries", "--state", "lost"), "state"),
])
def test_bad_input_is_one_line_and_exit_1(data: Path, args: tuple[str, ...],
                                          says: str) -> None:
    ok(data, "alerts", "channel", "add", "ops", "--kind", "slack",
       "--set", "webhook_url=https://hooks.slack.com/services/T0/B0/abc")
    message = refused(data, "alerts", *args)
    assert says in message and len(message.splitlines()) == 1, message
