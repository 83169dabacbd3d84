"""Appends from several processes at once never fork the chain, and a process killed in
the middle of appending leaves a log that verifies. SQLite and PostgreSQL."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def worker(url: str, name: str, count: int, per_tx: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.ledger_worker", url, name, str(count), str(per_tx)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_four_processes_appending_250_each_give_one_unbroken_chain_of_1000(engine, database_url, sessions, ledger):
    procs = [worker(database_url, f"w{i}", 250, 1) for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with sessions() as s:
        summary = ledger.verify(s)
        rows = ledger.entries(s, 0, 2000)
    assert summary.size == 1000
    assert summary.checkpoints == 1000  # one per committed transaction
    per_worker = collections.Counter(json.loads(body)["data"]["worker"] for _, body, _ in rows)
    assert per_worker == {"w0": 250, "w1": 250, "w2": 250, "w3": 250}
    # the workers really interleaved: not four runs of 250 one after another
    order = [json.loads(body)["data"]["worker"] for _, body, _ in rows]
    assert sum(1 for a, b in zip(order, order[1:], strict=False) if a != b) > 3


@pytest.mark.slow
def test_a_process_killed_while_appending_leaves_a_log_that_verifies(engine, database_url, sessions, ledger):
    for attempt in range(3):
        proc = worker(database_url, f"k{attempt}", 10**6, 400)
        deadline = time.monotonic() + 60
        line = proc.stdout.readline()  # one transaction committed; the next is under way
        assert line.strip(), proc.stderr.read()
        time.sleep(0.05 * (attempt + 1))
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL and time.monotonic() < deadline
        with sessions() as s:
            summary = ledger.verify(s)
        assert summary.size % 400 == 0 and summary.size >= 400 * (attempt + 1)
    # the log still takes appends after the crashes
    proc = worker(database_url, "after", 3, 3)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    with sessions() as s:
        assert ledger.verify(s).size % 400 == 3


@pytest.mark.slow
def test_verification_during_concurrent_appends_sees_a_consistent_log(engine, database_url, sessions, ledger):
    from traceapp.ledger.store import begin_snapshot

    proc = worker(database_url, "busy", 300, 1)
    checked = 0
    try:
        while proc.poll() is None:
            with sessions() as s:
                begin_snapshot(s)
                ledger.verify(s)  # raises on a torn read (e.g. a checkpoint past the entries seen)
            checked += 1
    finally:
        proc.communicate(timeout=120)
    assert proc.returncode == 0 and checked >= 3
