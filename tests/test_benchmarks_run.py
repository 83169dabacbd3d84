"""Every benchmark in ``bench/`` still runs: each is started as a user would (``python bench/X.py``)
with ``--quick`` (a tiny registry, one short round) on SQLite and, where it takes ``--postgres``, on
PostgreSQL too, and must exit 0 having printed its report. Timings are not asserted: on a shared
machine they mean nothing here; what this catches is a benchmark broken by a change to the code it
measures, whose figures in the README could then no longer be reproduced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
# What bench/ holds besides benchmarks: the shared helpers and the apps the benchmarks serve.
NOT_BENCHMARKS = {"benchlib.py", "registry.py"}
# Benchmarks whose report is a table, not a JSON line.
TEXT_REPORTS = {"layout_widths.py", "pickers.py"}

pytestmark = [pytest.mark.slow]


def benchmarks() -> list[str]:
    return sorted(p.name for p in BENCH.glob("*.py") if p.name not in NOT_BENCHMARKS and not p.stem.endswith("_app"))


def takes(script: str, option: str) -> bool:
    return f'"{option}"' in (BENCH / script).read_text()


def test_the_benchmarks_are_found():
    """The list below is bench/'s: a new benchmark is run by the test without being named in it."""
    assert {"ledger.py", "records.py", "brands.py", "public.py", "labels.py", "audit.py"} <= set(benchmarks())


@pytest.mark.parametrize("script", benchmarks())
def test_benchmark_runs_in_quick_mode(script, request):
    assert takes(script, "--quick"), f"bench/{script} has no --quick mode"
    command = [sys.executable, str(BENCH / script), "--quick"]
    if takes(script, "--postgres"):
        command += ["--postgres", request.getfixturevalue("pg_url")]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRACEAPP_INSTANCE_PATH")}
    out = subprocess.run(command, cwd=BENCH.parent, env=env, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, f"bench/{script} --quick exited {out.returncode}:\n{out.stdout[-3000:]}\n" \
                                f"{out.stderr[-6000:]}"
    lines = out.stdout.strip().splitlines()
    assert lines, f"bench/{script} --quick printed nothing"
    if script not in TEXT_REPORTS:
        report = json.loads(lines[-1])
        assert isinstance(report, dict) and report, f"bench/{script}: its last line is not its figures"
