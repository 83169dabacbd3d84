"""The WSGI entry point (``gunicorn wsgi:app``) as a worker imports it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_entry_point_leaves_what_it_built_out_of_full_collections(app):
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "TRACEAPP_INSTANCE_PATH": app.instance_path,
           "TRACEAPP_PUBLIC_URL": app.config["TRACEAPP_PUBLIC_URL"]}
    probe = "import gc, wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    frozen, tracked = map(int, out.stdout.split())
    assert frozen > 100_000 and tracked < frozen / 10, (frozen, tracked)
