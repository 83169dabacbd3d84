"""The ledger package and the offline verifier import neither Flask nor SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import runpy, sys
{body}
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'werkzeug'))
print('HEAVY', heavy)
"""


def _heavy_modules(body: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    line = [x for x in out.stdout.splitlines() if x.startswith("HEAVY")]
    assert line, out.stderr
    return line[0]


def test_importing_the_pure_ledger_modules_imports_no_flask_or_sqlalchemy():
    body = ("import traceapp.ledger, traceapp.ledger.encoding, traceapp.ledger.tree, "
            "traceapp.ledger.note, traceapp.ledger.verify, traceapp.ledger.bundle")
    assert _heavy_modules(body) == "HEAVY []"


def test_running_the_offline_verifier_imports_no_flask_or_sqlalchemy(tmp_path):
    from tests.test_ledger_bundle import make_bundle

    bundle = make_bundle(tmp_path, entries=5)
    body = (f"sys.argv = ['verify', {str(bundle)!r}]\n"
            "try:\n    runpy.run_module('traceapp.ledger.verify', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code")
    assert _heavy_modules(body) == "HEAVY []"


def test_the_store_module_is_the_one_that_brings_sqlalchemy():
    assert "sqlalchemy" in _heavy_modules("import traceapp.ledger.store")
