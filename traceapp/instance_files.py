"""Secrets kept in the instance folder, created once with mode 0600 and never overwritten."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """Return the contents of ``path``, creating it from ``make()`` (mode 0600) if missing.

    Creation is atomic and never replaces an existing file, so several processes starting
    at once (gunicorn workers) all end up with the same secret.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, make())
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process created it first
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return path.read_bytes()
