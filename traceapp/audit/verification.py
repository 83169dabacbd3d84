"""Full verification of the ledger: every entry, chain link, tree root and checkpoint signature,
then the projection tables re-derived from the entries. ``ledger verify`` runs it in the
foreground; the audit desk runs it as a background job of the worker that was asked.

The job, across gunicorn workers and machines: starting one happens inside the ledger's write
lock (:func:`traceapp.db.writing`), which serializes it with every other start, and a unique
partial index allows one ``running`` row at most. The worker thread moves ``heartbeat_at``
with its progress; a running row whose heartbeat is older than
``AUDIT_VERIFY_STALE_SECONDS`` (default 120) belongs to a worker that died, counts as an
error, and no longer stops a new run.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from traceapp.audit.models import VerificationRun
from traceapp.ledger.store import Ledger, begin_snapshot
from traceapp.ledger.verify import Summary, VerificationError

log = logging.getLogger(__name__)

STALE_SECONDS = 120
_JOBS = "traceapp.audit.jobs"
ABANDONED = "abandoned: the worker running this verification stopped reporting progress"


@dataclass
class Report:
    """What a full verification found: the chain's summary or its first damage, and the
    projection rows that differ from the entries (checked only when the chain is intact)."""

    summary: Summary | None
    chain_error: VerificationError | None = None
    projection: list[str] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)  # commitments that their reveals do not give
    clear_text: int | None = None  # entries holding personal data in clear text (written before commitments)

    @property
    def ok(self) -> bool:
        return self.chain_error is None and not self.projection and not self.personal

    @property
    def problems(self) -> list[str]:
        chain = [str(self.chain_error)] if self.chain_error is not None else []
        return (chain + [f"personal data: {line}" for line in self.personal]
                + [f"projection: {line}" for line in self.projection])

    def line(self) -> str | None:
        """Return the summary line, with the count of entries that expose personal data in clear text."""
        if self.summary is None:
            return None
        if self.clear_text is None:
            return self.summary.line()
        return (f"{self.summary.line()}; {self.clear_text} entries hold personal data in clear text "
                "(written before personal data became commitments; the log keeps them)")


def verify_everything(session: Session, ledger: Ledger, progress: Callable[[int], None] | None = None) -> Report:
    """Verify the log, then (if it is intact) the projection tables; return a Report.

    Give it a session begun with :func:`begin_snapshot`. ``progress(entries checked)`` is
    called during the chain verification and once more after each projection check.
    """
    try:
        summary = ledger.verify(session, progress=progress)
    except VerificationError as exc:
        # Entries that fail the chain cannot be trusted to re-derive anything from.
        return Report(None, chain_error=exc)
    from traceapp.personal.checks import clear_text_entries, reveal_problems

    between = (lambda: progress(summary.size)) if progress is not None else None
    personal = list(reveal_problems(session))
    return Report(summary, projection=projection_problems(session, between), personal=personal,
                  clear_text=clear_text_entries(session))


def projection_problems(session: Session, between: Callable[[], object] | None = None) -> list[str]:
    """Return every projection row (records and brands) that differs from its ledger entries."""
    from traceapp.brands.projections import CHECKS as BRAND_CHECKS
    from traceapp.records.consistency import differences

    problems = differences(session)
    for check in BRAND_CHECKS:
        if between is not None:
            between()
        problems.extend(check(session))
    return problems


# --- the background job -------------------------------------------------------------------


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def stale_after() -> timedelta:
    return timedelta(seconds=float(current_app.config.get("AUDIT_VERIFY_STALE_SECONDS", STALE_SECONDS)))


def is_stale(run: VerificationRun, now: datetime | None = None) -> bool:
    """Return whether a running verification's worker has stopped reporting (died)."""
    return run.status == "running" and (now or now_utc()) - run.heartbeat_at > stale_after()


def state(run: VerificationRun, now: datetime | None = None) -> dict:
    """Return what the desk shows of a run: ``{status, entries_checked, total, result}``, with a
    stale running run reported as an error."""
    result = json.loads(run.result) if run.result else None
    status = run.status
    if is_stale(run, now):
        status, result = "error", {"summary": None, "problems": [ABANDONED]}
    return {"status": status, "entries_checked": run.entries_checked, "total": run.total, "result": result}


def latest_finished(session: Session) -> VerificationRun | None:
    """Return the most recently finished verification, if any."""
    return session.scalar(select(VerificationRun).where(VerificationRun.status != "running")
                          .order_by(VerificationRun.finished_at.desc(), VerificationRun.id.desc()).limit(1))


def running(session: Session) -> VerificationRun | None:
    """Return the running verification, stale or not, if any."""
    return session.scalar(select(VerificationRun).where(VerificationRun.status == "running"))


def start_verification(session: Session, ledger: Ledger, started_by: str) -> tuple[VerificationRun, bool]:
    """Return (the running verification, False), or record a new one and return (it, True).

    The session must be in the ledger's write transaction (:func:`traceapp.db.writing`), so two
    starts in any two workers are decided one after the other. A stale running row is closed
    as an error first. The caller commits, then calls :func:`launch` for a new run.
    """
    now = now_utc()
    current = running(session)
    if current is not None:
        if not is_stale(current, now):
            return current, False
        current.status, current.finished_at = "error", now
        current.result = json.dumps({"summary": None, "problems": [ABANDONED]})
        session.flush()  # before the new running row, for the unique index
    latest = ledger.latest_checkpoint(session)
    run = VerificationRun(started_at=now, heartbeat_at=now, started_by=started_by, status="running",
                          entries_checked=0, total=latest[0] if latest else 0)
    session.add(run)
    session.flush()
    return run, True


def launch(app: Flask, run_id: int) -> threading.Thread:
    """Run verification ``run_id`` in a thread of this worker, with sessions of its own."""
    thread = threading.Thread(target=_run, args=(app, run_id), name=f"traceapp-verify-{run_id}", daemon=True)
    app.extensions.setdefault(_JOBS, {})[run_id] = thread
    thread.start()
    return thread


def wait(app: Flask, timeout: float = 60) -> None:
    """Wait for this worker's verification threads to end (tests, shutdown)."""
    for thread in list(app.extensions.get(_JOBS, {}).values()):
        thread.join(timeout)


def _run(app: Flask, run_id: int) -> None:
    with app.app_context():
        from traceapp import db

        sessions, ledger = db.database().sessions, db.ledger()
        try:
            with sessions() as work:
                begin_snapshot(work)
                latest = ledger.latest_checkpoint(work)
                _touch(sessions, run_id, total=latest[0] if latest else 0)
                report = verify_everything(work, ledger, progress=lambda n: _touch(sessions, run_id, entries_checked=n))
            size = report.summary.size if report.summary else None
            values = {"status": "ok" if report.ok else "failed",
                      "result": json.dumps({"summary": report.line(),
                                            "problems": report.problems}, ensure_ascii=False)}
            if size is not None:
                values["entries_checked"] = size
            _touch(sessions, run_id, finished_at=now_utc(), **values)
        except Exception as exc:  # noqa: BLE001 - whatever happened is the run's result
            log.exception("verification %d failed to run", run_id)
            _touch(sessions, run_id, status="error", finished_at=now_utc(),
                   result=json.dumps({"summary": None, "problems": [f"{type(exc).__name__}: {exc}"]}))
        finally:
            app.extensions.get(_JOBS, {}).pop(run_id, None)


def _touch(sessions, run_id: int, **values) -> None:
    """Update the run (only while it is still running) and its heartbeat, in a short transaction."""
    with sessions() as s:
        # An UPDATE first, so SQLite takes its write lock (waiting for it) instead of upgrading a read.
        s.execute(update(VerificationRun)
                  .where(VerificationRun.id == run_id, VerificationRun.status == "running")
                  .values(heartbeat_at=now_utc(), **values))
        s.commit()
