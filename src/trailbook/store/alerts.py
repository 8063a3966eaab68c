"""Alerts (``trailbook.notify``): channels and rules (staff-managed, changed and deleted
like saved searches), the rule engine's state and per-tenant cursor, the delivery
outbox, and leases (which of several processes runs a background job). One SQL text
for both backends, run through their ``SqlRunner`` adapters (see
``trailbook.store.accounts``); what must change together runs in one transaction of
the adapter (``transaction()``).

Every call that reads or changes one tenant's data names the tenant, so one tenant
never reaches another's rows. The calls of the background jobs (``enabled_rules``,
``states``, ``channel``, ``due``, ``mark_*``, leases) span every tenant."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, cast

import orjson

from trailbook.errors import Conflict, ErrorDetail, ValidationFailed
from trailbook.notify.records import (
    DELIVERY_STATES,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Rule,
    RuleState,
)
from trailbook.store.accounts import DuplicateRow, Row, SqlRunner
from trailbook.store.saved_searches import name_key


class TransactionRunner(SqlRunner, Protocol):
    def transaction(self) -> AbstractContextManager[SqlRunner]:
        """A runner whose statements all commit together when the block ends, or none
        if it raises. Raises ``DuplicateRow`` for a UNIQUE violation."""
        ...


_CHANNEL = "id, tenant_id, name, kind, config, created_at, updated_at"
_RULE = ("id, tenant_id, name, query, threshold, window_seconds, group_by, quiet_seconds,"
         " channels, enabled, created_at, updated_at")
_DELIVERY = ("id, tenant_id, rule_id, channel_id, kind, message, state, attempts,"
             " next_attempt_us, last_error, created_at, delivered_at")
# Ids per statement when reading states by rule (well under SQLite's variable limit).
_CHUNK = 500
CHANNEL_DELETED = "the channel was deleted"


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _channel(row: Row) -> Channel:
    return Channel(int(row[0]), int(row[1]), str(row[2]), cast(ChannelKind, row[3]),
                   orjson.loads(row[4]), str(row[5]), str(row[6]))


def _rule(row: Row) -> Rule:
    return Rule(int(row[0]), int(row[1]), str(row[2]), str(row[3]), int(row[4]), int(row[5]),
                None if row[6] is None else str(row[6]), int(row[7]),
                tuple(int(c) for c in orjson.loads(row[8])), bool(row[9]), str(row[10]),
                str(row[11]))


def _delivery(row: Row) -> Delivery:
    return Delivery(str(row[0]), int(row[1]), None if row[2] is None else int(row[2]),
                    int(row[3]), cast(DeliveryKind, row[4]), orjson.loads(row[5]),
                    cast(DeliveryState, row[6]), int(row[7]), int(row[8]), row[9],
                    str(row[10]), row[11])


def _state_text(s: RuleState) -> str:
    return _json({"window": s.window, "quiet_until_us": s.quiet_until_us,
                  "suppressed": s.suppressed, "suppressed_ids": s.suppressed_ids,
                  "first_suppressed_us": s.first_suppressed_us,
                  "last_suppressed_us": s.last_suppressed_us})


def _state(row: Row) -> RuleState:
    d: dict[str, Any] = orjson.loads(row[2])
    return RuleState(int(row[0]), str(row[1]), [int(v) for v in d.get("window", [])],
                     int(d.get("quiet_until_us", 0)), int(d.get("suppressed", 0)),
                     [str(v) for v in d.get("suppressed_ids", [])],
                     int(d.get("first_suppressed_us", 0)), int(d.get("last_suppressed_us", 0)))


def _by_name(rows: list[Row], key_at: int) -> list[Row]:
    # Sorted here rather than by the database, whose collation differs by backend.
    return sorted(rows, key=lambda r: (str(r[key_at]), int(r[0])))


def _taken(what: str, name: str) -> Conflict:
    return Conflict(f"there is an alert {what} of that name",
                    [ErrorDetail("name", f"{name!r} is taken (names ignore case)")])


def _marks(n: int) -> str:
    return ", ".join(["?"] * n)


def _hold_channels(run: SqlRunner, tenant_id: int, channels: Sequence[int]) -> None:
    """Check that every channel is the tenant's, and hold them (a row lock on
    PostgreSQL) until the transaction ends, so none is deleted before a rule naming it
    is stored."""
    wanted = sorted(set(channels))
    if not wanted:
        return
    rows, _ = run.write(
        f"UPDATE alert_channels SET updated_at = updated_at WHERE tenant_id = ?"
        f" AND id IN ({_marks(len(wanted))}) RETURNING id", (tenant_id, *wanted))
    missing = sorted(set(wanted) - {int(r[0]) for r in rows})
    if missing:
        raise ValidationFailed("an alert rule names a channel that does not exist", [
            ErrorDetail("channels", f"no channel {c} in this tenant") for c in missing])


def _insert_delivery(run: SqlRunner, d: Delivery) -> None:
    rows, _ = run.write(
        f"INSERT INTO alert_deliveries ({_DELIVERY})"
        " SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
        " WHERE NOT EXISTS (SELECT 1 FROM alert_channels WHERE id = ? AND tenant_id <> ?)"
        " AND NOT EXISTS (SELECT 1 FROM alert_rules WHERE id = ? AND tenant_id <> ?)"
        " RETURNING id",
        (d.id, d.tenant_id, d.rule_id, d.channel_id, d.kind, _json(d.message), d.state,
         d.attempts, d.next_attempt_us, d.last_error, d.created_at, d.delivered_at,
         d.channel_id, d.tenant_id, d.rule_id, d.tenant_id))
    if not rows:
        raise ValueError(f"delivery {d.id}: its channel or rule is another tenant's")


class AlertStore:
    def __init__(self, runner: TransactionRunner) -> None:
        self._run = runner

    # -- channels ------------------------------------------------------------

    def add_channel(self, tenant_id: int, name: str, kind: ChannelKind,
                    config: dict[str, Any], now: str) -> Channel:
        """A name the tenant has (in any case) is a ``Conflict`` naming ``name``."""
        try:
            rows, _ = self._run.write(
                "INSERT INTO alert_channels (tenant_id, name, name_key, kind, config,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (tenant_id, name, name_key(name), kind, _json(config), now, now))
        except DuplicateRow:
            raise _taken("channel", name) from None
        return Channel(int(rows[0][0]), tenant_id, name, kind, config, now, now)

    def update_channel(self, tenant_id: int, channel_id: int, name: str,
                       config: dict[str, Any], now: str) -> Channel | None:
        """Rename and reconfigure (the kind stays); None if the tenant has no such
        channel."""
        try:
            rows, _ = self._run.write(
                "UPDATE alert_channels SET name = ?, name_key = ?, config = ?, updated_at = ?"
                f" WHERE id = ? AND tenant_id = ? RETURNING {_CHANNEL}",
                (name, name_key(name), _json(config), now, channel_id, tenant_id))
        except DuplicateRow:
            raise _taken("channel", name) from None
        return _channel(rows[0]) if rows else None

    def delete_channel(self, tenant_id: int, channel_id: int) -> bool:
        """Delete the channel; False if the tenant has none of that id. A channel a
        rule names is refused with a ``Conflict`` naming the rules (field ``rules``).
        Its pending deliveries become dead ("the channel was deleted")."""
        with self._run.transaction() as run:
            _, gone = run.write("DELETE FROM alert_channels WHERE id = ? AND tenant_id = ?",
                                (channel_id, tenant_id))
            if not gone:
                return False
            users = [r for r in self._tenant_rules(run, tenant_id) if channel_id in r.channels]
            if users:
                names = ", ".join(repr(r.name) for r in users)
                raise Conflict("the channel is used by alert rules; take it out of them first",
                               [ErrorDetail("rules", f"used by {names}")])
            run.write("UPDATE alert_deliveries SET state = 'dead', last_error = ?"
                      " WHERE tenant_id = ? AND channel_id = ? AND state = 'pending'",
                      (CHANNEL_DELETED, tenant_id, channel_id))
        return True

    def get_channel(self, tenant_id: int, channel_id: int) -> Channel | None:
        rows = self._run.read(f"SELECT {_CHANNEL} FROM alert_channels"
                              " WHERE id = ? AND tenant_id = ?", (channel_id, tenant_id))
        return _channel(rows[0]) if rows else None

    def channel_by_name(self, tenant_id: int, name: str) -> Channel | None:
        """The tenant's channel of this name (in any case)."""
        rows = self._run.read(f"SELECT {_CHANNEL} FROM alert_channels"
                              " WHERE tenant_id = ? AND name_key = ?",
                              (tenant_id, name_key(name)))
        return _channel(rows[0]) if rows else None

    def channels(self, tenant_id: int) -> list[Channel]:
        """The tenant's channels by name (case-folded), then age."""
        rows = self._run.read(f"SELECT {_CHANNEL}, name_key FROM alert_channels"
                              " WHERE tenant_id = ?", (tenant_id,))
        return [_channel(r) for r in _by_name(rows, 7)]

    def channel(self, channel_id: int) -> Channel | None:
        """A channel of any tenant (for the delivery worker; prefer ``get_channel``
        with the delivery's tenant)."""
        rows = self._run.read(f"SELECT {_CHANNEL} FROM alert_channels WHERE id = ?",
                              (channel_id,))
        return _channel(rows[0]) if rows else None

    # -- rules ---------------------------------------------------------------

    def add_rule(self, tenant_id: int, name: str, *, query: str, threshold: int,
                 window_seconds: int, group_by: str | None, quiet_seconds: int,
                 channels: Sequence[int], enabled: bool, now: str) -> Rule:
        """A name the tenant has (in any case) is a ``Conflict`` naming ``name``; a
        channel that is not the tenant's is ``ValidationFailed`` naming ``channels``."""
        chans = tuple(channels)
        try:
            with self._run.transaction() as run:
                _hold_channels(run, tenant_id, chans)
                rows, _ = run.write(
                    "INSERT INTO alert_rules (tenant_id, name, name_key, query, threshold,"
                    " window_seconds, group_by, quiet_seconds, channels, enabled, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (tenant_id, name, name_key(name), query, threshold, window_seconds,
                     group_by, quiet_seconds, _json(list(chans)), enabled, now, now))
        except DuplicateRow:
            raise _taken("rule", name) from None
        return Rule(int(rows[0][0]), tenant_id, name, query, threshold, window_seconds,
                    group_by, quiet_seconds, chans, enabled, now, now)

    def update_rule(self, tenant_id: int, rule_id: int, name: str, *, query: str,
                    threshold: int, window_seconds: int, group_by: str | None,
                    quiet_seconds: int, channels: Sequence[int], enabled: bool,
                    now: str) -> Rule | None:
        """Write every field over the tenant's rule; None if there is none. Errors as
        ``add_rule``. The engine's state of the rule is kept."""
        chans = tuple(channels)
        try:
            with self._run.transaction() as run:
                _hold_channels(run, tenant_id, chans)
                rows, _ = run.write(
                    "UPDATE alert_rules SET name = ?, name_key = ?, query = ?, threshold = ?,"
                    " window_seconds = ?, group_by = ?, quiet_seconds = ?, channels = ?,"
                    " enabled = ?, updated_at = ? WHERE id = ? AND tenant_id = ?"
                    f" RETURNING {_RULE}",
                    (name, name_key(name), query, threshold, window_seconds, group_by,
                     quiet_seconds, _json(list(chans)), enabled, now, rule_id, tenant_id))
        except DuplicateRow:
            raise _taken("rule", name) from None
        return _rule(rows[0]) if rows else None

    def delete_rule(self, tenant_id: int, rule_id: int) -> bool:
        """Delete the rule and its engine state; its deliveries stay (history, and
        pending ones are still sent)."""
        with self._run.transaction() as run:
            run.write("DELETE FROM alert_rule_states WHERE rule_id IN"
                      " (SELECT id FROM alert_rules WHERE id = ? AND tenant_id = ?)",
                      (rule_id, tenant_id))
            _, gone = run.write("DELETE FROM alert_rules WHERE id = ? AND tenant_id = ?",
                                (rule_id, tenant_id))
        return gone > 0

    def get_rule(self, tenant_id: int, rule_id: int) -> Rule | None:
        rows = self._run.read(f"SELECT {_RULE} FROM alert_rules WHERE id = ? AND tenant_id = ?",
                              (rule_id, tenant_id))
        return _rule(rows[0]) if rows else None

    def rule_by_name(self, tenant_id: int, name: str) -> Rule | None:
        """The tenant's rule of this name (in any case)."""
        rows = self._run.read(f"SELECT {_RULE} FROM alert_rules"
                              " WHERE tenant_id = ? AND name_key = ?",
                              (tenant_id, name_key(name)))
        return _rule(rows[0]) if rows else None

    def rules(self, tenant_id: int) -> list[Rule]:
        """The tenant's rules by name (case-folded), then age."""
        return self._tenant_rules(self._run, tenant_id)

    def rules_using(self, tenant_id: int, channel_id: int) -> list[Rule]:
        """The tenant's rules that name the channel, by name."""
        return [r for r in self.rules(tenant_id) if channel_id in r.channels]

    def enabled_rules(self) -> list[Rule]:
        """Every tenant's enabled rules, in id order (for the evaluator)."""
        rows = self._run.read(f"SELECT {_RULE} FROM alert_rules WHERE enabled ORDER BY id", ())
        return [_rule(r) for r in rows]

    @staticmethod
    def _tenant_rules(run: SqlRunner, tenant_id: int) -> list[Rule]:
        rows = run.read(f"SELECT {_RULE}, name_key FROM alert_rules WHERE tenant_id = ?",
                        (tenant_id,))
        return [_rule(r) for r in _by_name(rows, 12)]

    # -- engine state --------------------------------------------------------

    def states(self, rule_ids: Sequence[int]) -> list[RuleState]:
        """The stored states of these rules (any tenant's), by rule then group."""
        ids = sorted(set(rule_ids))
        found: list[RuleState] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            rows = self._run.read(
                "SELECT rule_id, group_key, state FROM alert_rule_states"
                f" WHERE rule_id IN ({_marks(len(chunk))})", chunk)
            found.extend(_state(r) for r in rows)
        # Sorted here rather than by the database, whose collation differs by backend.
        found.sort(key=lambda s: (s.rule_id, s.group_key))
        return found

    def cursor(self, tenant_id: int) -> int | None:
        """The seq of the tenant's last event the engine has seen; None before any."""
        rows = self._run.read("SELECT seq FROM alert_cursors WHERE tenant_id = ?",
                              (tenant_id,))
        return int(rows[0][0]) if rows else None

    def commit_batch(self, tenant_id: int, cursor_seq: int, changed: Sequence[RuleState],
                     deleted: Sequence[tuple[int, str]],
                     deliveries: Sequence[Delivery]) -> None:
        """In one transaction: store the outbox rows, write the changed states and
        remove the deleted ones (of the tenant's rules only: a state of a rule deleted
        meanwhile is dropped), and move the tenant's cursor to ``cursor_seq``. All or
        nothing: a delivery id already stored raises ``DuplicateRow`` and changes
        nothing; a delivery of another tenant, or to another tenant's channel or
        rule, raises ``ValueError`` and changes nothing."""
        for d in deliveries:
            if d.tenant_id != tenant_id:
                raise ValueError(f"delivery {d.id} is tenant {d.tenant_id}'s, not {tenant_id}'s")
        with self._run.transaction() as run:
            for d in deliveries:
                _insert_delivery(run, d)
            for s in changed:
                run.write(
                    "INSERT INTO alert_rule_states (rule_id, group_key, state) SELECT ?, ?, ?"
                    " WHERE EXISTS (SELECT 1 FROM alert_rules WHERE id = ? AND tenant_id = ?)"
                    " ON CONFLICT (rule_id, group_key) DO UPDATE SET state = excluded.state",
                    (s.rule_id, s.group_key, _state_text(s), s.rule_id, tenant_id))
            for rule_id, group_key in deleted:
                run.write(
                    "DELETE FROM alert_rule_states WHERE rule_id = ? AND group_key = ?"
                    " AND rule_id IN (SELECT id FROM alert_rules WHERE tenant_id = ?)",
                    (rule_id, group_key, tenant_id))
            run.write("INSERT INTO alert_cursors (tenant_id, seq) VALUES (?, ?)"
                      " ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq",
                      (tenant_id, cursor_seq))

    # -- outbox --------------------------------------------------------------

    def add_delivery(self, d: Delivery) -> None:
        """Store one outbox row (a test message). ``DuplicateRow`` if its id is stored;
        ``ValueError`` if its channel or rule is another tenant's."""
        _insert_delivery(self._run, d)

    def due(self, now_us: int, limit: int) -> list[Delivery]:
        """Pending deliveries (any tenant's) whose next attempt is due, oldest first."""
        rows = self._run.read(
            f"SELECT {_DELIVERY} FROM alert_deliveries WHERE state = 'pending'"
            " AND next_attempt_us <= ? ORDER BY next_attempt_us, id LIMIT ?", (now_us, limit))
        return [_delivery(r) for r in rows]

    def mark_delivered(self, delivery_id: str, attempts: int, delivered_at: str) -> bool:
        """A pending delivery sent; False if it is not pending (any more)."""
        _, changed = self._run.write(
            "UPDATE alert_deliveries SET state = 'delivered', attempts = ?, delivered_at = ?"
            " WHERE id = ? AND state = 'pending'", (attempts, delivered_at, delivery_id))
        return changed > 0

    def mark_failed(self, delivery_id: str, attempts: int, next_attempt_us: int,
                    error: str) -> bool:
        """A pending delivery failed and is tried again at ``next_attempt_us``."""
        _, changed = self._run.write(
            "UPDATE alert_deliveries SET attempts = ?, next_attempt_us = ?, last_error = ?"
            " WHERE id = ? AND state = 'pending'",
            (attempts, next_attempt_us, error, delivery_id))
        return changed > 0

    def mark_dead(self, delivery_id: str, attempts: int, error: str) -> bool:
        """A pending delivery given up on: a dead letter, until retried."""
        _, changed = self._run.write(
            "UPDATE alert_deliveries SET state = 'dead', attempts = ?, last_error = ?"
            " WHERE id = ? AND state = 'pending'", (attempts, error, delivery_id))
        return changed > 0

    def retry(self, tenant_id: int, delivery_id: str, now_us: int) -> Delivery | None:
        """Make the tenant's dead or pending delivery pending and due at ``now_us``,
        with a fresh round of attempts (its count starts again; the last error is
        kept). None if the tenant has no such delivery; a delivered one is answered
        unchanged (state "delivered"), so the caller can refuse it."""
        rows, _ = self._run.write(
            "UPDATE alert_deliveries SET state = 'pending', next_attempt_us = ?, attempts = 0"
            " WHERE id = ? AND tenant_id = ? AND state IN ('pending', 'dead')"
            f" RETURNING {_DELIVERY}", (now_us, delivery_id, tenant_id))
        return _delivery(rows[0]) if rows else self.get_delivery(tenant_id, delivery_id)

    def deliveries(self, tenant_id: int, state: DeliveryState | None = None, limit: int = 50,
                   before_id: str | None = None) -> list[Delivery]:
        """The tenant's deliveries newest first (ids are time-ordered), of one state
        or all, those older than ``before_id`` when given (the next page)."""
        where = "tenant_id = ?"
        params: list[object] = [tenant_id]
        if state is not None:
            where += " AND state = ?"
            params.append(state)
        if before_id is not None:
            where += " AND id < ?"
            params.append(before_id)
        rows = self._run.read(
            f"SELECT {_DELIVERY} FROM alert_deliveries WHERE {where} ORDER BY id DESC LIMIT ?",
            [*params, limit])
        return [_delivery(r) for r in rows]

    def get_delivery(self, tenant_id: int, delivery_id: str) -> Delivery | None:
        rows = self._run.read(f"SELECT {_DELIVERY} FROM alert_deliveries"
                              " WHERE id = ? AND tenant_id = ?", (delivery_id, tenant_id))
        return _delivery(rows[0]) if rows else None

    def counts(self, tenant_id: int) -> dict[DeliveryState, int]:
        """The tenant's deliveries per state (every state named, 0 for none)."""
        found: dict[DeliveryState, int] = dict.fromkeys(DELIVERY_STATES, 0)
        for state, n in self._run.read("SELECT state, count(*) FROM alert_deliveries"
                                       " WHERE tenant_id = ? GROUP BY state", (tenant_id,)):
            found[cast(DeliveryState, state)] = int(n)
        return found

    # -- leases --------------------------------------------------------------

    def acquire_lease(self, name: str, holder: str, now_us: int, ttl_us: int) -> bool:
        """Take or renew the lease ``name`` until ``now_us + ttl_us``: True if it was
        free, expired (``expires_us <= now_us``) or already ``holder``'s, else False.
        One statement, so two processes never both get it."""
        rows, _ = self._run.write(
            "INSERT INTO leases (name, holder, expires_us) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
            " expires_us = excluded.expires_us"
            " WHERE leases.holder = excluded.holder OR leases.expires_us <= ?"
            " RETURNING holder", (name, holder, now_us + ttl_us, now_us))
        return bool(rows)

    def release_lease(self, name: str, holder: str) -> bool:
        """Give up the lease if ``holder`` has it (so another may take it at once)."""
        _, changed = self._run.write("DELETE FROM leases WHERE name = ? AND holder = ?",
                                     (name, holder))
        return changed > 0
