"""The bulk-ingest validation pool: batches come back in order, as the caller would
have validated them itself, and a worker that dies costs only speed."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import orjson
import pytest

from conftest import minimal_event
from trailbook.model.limits import DEFAULT_CATEGORIES
from trailbook.model.normalize import TenantInfo
from trailbook.service.validation_pool import ValidationPool, prepare_lines

INFO = TenantInfo(1, "t", frozenset(DEFAULT_CATEGORIES))


def _batches(count: int, size: int) -> list[list[bytes]]:
    out = []
    for b in range(count):
        lines = [orjson.dumps(minimal_event(description=f"event {b}.{n}"))
                 for n in range(size)]
        lines[b % size] = b'{"action": "Not An Action", "actor": {"id": "u"}}'
        out.append(lines)
    return out


def _shape(batch: object) -> tuple[list[str], list[tuple[int, str]], int]:
    events = [e.terms.body for e in batch.events]  # type: ignore[attr-defined]
    errors = [(i, e.details[0].field) for i, e in batch.errors]  # type: ignore[attr-defined]
    return events, errors, batch.size  # type: ignore[attr-defined]


def test_batches_come_back_in_order_with_their_errors() -> None:
    batches = _batches(9, 40)
    with ValidationPool(2) as pool:
        got = [_shape(b) for b in pool.prepare(INFO, batches)]
    expected = [_shape(prepare_lines(INFO, lines, 0)) for lines in batches]
    assert got == expected
    assert [errors for _, errors, _ in got] == [[(b % 40, "action")] for b in range(9)]


def test_workers_yield_the_cpu_to_the_writer() -> None:
    """The workers run at the lowest priority, so that the one writer, which bulk
    ingest waits for, never waits for a core behind them."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert own < 19
    with ValidationPool(2) as pool:
        list(pool.prepare(INFO, _batches(4, 10)))  # each worker has served a batch
        niceness = [os.getpriority(os.PRIO_PROCESS, pid) for pid in pool.pids]
    assert niceness == [19, 19]  # the lowest priority, whatever the caller's
    assert os.getpriority(os.PRIO_PROCESS, 0) == own


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state in ("Z", "X")


def test_a_killed_worker_costs_only_speed(caplog: pytest.LogCaptureFixture) -> None:
    batches = _batches(8, 30)
    expected = [_shape(prepare_lines(INFO, lines, 0)) for lines in batches]
    with ValidationPool(2) as pool:
        victim = pool.pids[0]
        stream = pool.prepare(INFO, batches)
        got = [_shape(next(stream))]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not _gone(victim) and time.monotonic() < deadline:
            time.sleep(0.05)
        got += [_shape(b) for b in stream]
    assert got == expected
    assert "validating its batch here" in caplog.text


def test_an_abandoned_stream_closes_without_hanging() -> None:
    """The caller stops after one batch (say, the store refused it): closing the
    pool ends the workers even while they still hold results nobody will read."""
    batches = _batches(12, 500)
    pool = ValidationPool(2)
    pids = pool.pids
    stream = pool.prepare(INFO, batches)
    next(stream)
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 20
    assert all(_gone(pid) for pid in pids)


def test_a_batch_the_worker_cannot_do_is_done_here_and_raises_the_real_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not bad input (that comes back as errors) but a fault: a line that is not
    bytes. The worker reports it; the caller validates the batch itself, and raises
    what that raises."""
    good = _batches(1, 5)[0]
    with ValidationPool(1) as pool, pytest.raises(TypeError):
        list(pool.prepare(INFO, [good, [12345], good]))  # type: ignore[list-item]
    assert "validation worker: TypeError" in caplog.text
