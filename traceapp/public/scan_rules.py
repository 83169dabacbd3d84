"""Which scans of a code count, and when a code's scans look like a copied code. Pure functions of
what is known about a scan, whatever carried it (a page view today, a script's POST later): no
Flask, no database.

A printed code is shared by every package of its batch, so what a copied code looks like is many
people, not many views: the warning comes from distinct clients (salted address hashes) or distinct
regions within a window, never from how often one client looked. One client's views of a code
count once per window. Scans that no consumer made count for nothing: those of signed-in users
(the producer's staff checking a label, an inspector, a regulator) and those before the batch's
labels were printed, since no package carries the code yet (every code is in the public ledger,
so a script could otherwise scan each new code first and plant a false first-scan time). A client
that looks up many distinct codes within a window is taken for such a script: its scans do not
count either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

# Why a scan does not count (None: it does).
SIGNED_IN = "signed_in"
NOT_PRINTED = "not_printed"
AUTOMATED = "automated"

# Why a code's scans look unusual.
CLIENTS = "clients"
REGIONS = "regions"

_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Thresholds:
    """``clients`` distinct clients, or ``regions`` distinct regions, within ``window`` seconds make
    a code's scans unusual; a client's views count once per ``window``; a client that looked up
    more than ``client_codes`` distinct codes within ``window`` is a script."""

    clients: int = 10
    regions: int = 5
    window: float = 3600.0
    client_codes: int = 20

    @classmethod
    def from_config(cls, config) -> Thresholds:
        """Return the thresholds of an app's config (``SCAN_ALERT_*``)."""
        return cls(clients=int(config.get("SCAN_ALERT_CLIENTS", cls.clients)),
                   regions=int(config.get("SCAN_ALERT_REGIONS", cls.regions)),
                   window=float(config.get("SCAN_ALERT_WINDOW", cls.window)),
                   client_codes=int(config.get("SCAN_ALERT_CLIENT_CODES", cls.client_codes)))


def why_uncounted(*, signed_in: bool, labels_printed: bool, automated: bool = False) -> str | None:
    """Return why a scan does not count (SIGNED_IN, NOT_PRINTED, AUTOMATED), or None when it does."""
    if signed_in:
        return SIGNED_IN
    if not labels_printed:
        return NOT_PRINTED
    if automated:
        return AUTOMATED
    return None


def period_of(moment: datetime, window: float) -> int:
    """Return the start (Unix seconds) of the ``window``-long period that ``moment`` (naive UTC) falls
    in: one client's scans of a code count once per period."""
    seconds = (moment - _EPOCH).total_seconds()
    step = max(1, int(window))
    return math.floor(seconds / step) * step


def why_unusual(clients: int, regions: int, thresholds: Thresholds) -> str | None:
    """Return CLIENTS or REGIONS when this many distinct clients or regions scanned a code within
    the window, or None."""
    if clients >= thresholds.clients:
        return CLIENTS
    if regions >= thresholds.regions:
        return REGIONS
    return None
