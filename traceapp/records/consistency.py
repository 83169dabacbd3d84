"""Whether the records' projection tables say what the ledger says: every check of
:mod:`traceapp.records.projections` and those of the modules built on it (code states, label
prints, transfers), in one list. Kept apart from ``projections`` so that the modules whose checks
use its ``compare`` and ``entries`` do not import each other in a circle."""

from __future__ import annotations

from sqlalchemy.orm import Session

from traceapp.records.code_states import code_state_differences
from traceapp.records.label_sheets import label_print_differences
from traceapp.records.projections import CHECKS
from traceapp.records.transfers import transfer_differences


def differences(session: Session) -> list[str]:
    """Return every difference between the records' projection tables and the ledger."""
    checks = (*CHECKS, label_print_differences, code_state_differences, transfer_differences)
    return [line for check in checks for line in check(session)]
