"""Writing personal fields as commitments, reading their reveals, and erasing them.

Entries that carry personal fields are appended through :func:`append_personal`: the fields go
into the entry as commitments and their salts and values into ``personal_data``, in the same
transaction. Like every service, nothing here commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import insert, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.errors import Forbidden, NotFound, Rejected
from traceapp.i18n import gettext as _
from traceapp.ledger.commitments import reveal_json, seal
from traceapp.ledger.store import Appended, LedgerEntry, ledger_of
from traceapp.personal.fields import ERASED, ERASURE_KIND, LEGAL_BASIS, personal_paths
from traceapp.personal.models import PersonalDatum
from traceapp.validation import Fields, add_years

READERS = ("admin", "regulator")  # who may read reveals through the API
DEFAULT_RETENTION_YEARS = 2  # 合格证 records are kept two years (农业农村部令2025年第4号)


def append_personal(session: Session, kind: str, actor: dict, subject: str, data: dict,
                    paths: tuple[str, ...] | None = None) -> Appended:
    """Append an entry whose personal fields (``paths``, by default ``personal_paths``) are commitments;
    keep their reveals."""
    sealed_data, sealed = seal(data, personal_paths(kind, data) if paths is None else paths)
    entry = ledger_of(session).append(session, kind, actor, subject, sealed_data)
    if sealed:
        # One core INSERT for the entry's fields: no ORM objects to track, since nothing reads them back.
        session.execute(insert(PersonalDatum.__table__), [
            {"seq": entry.seq, "path": field.path, "subject": subject, "salt": field.salt,
             "value": json.dumps(field.value, ensure_ascii=False), "erased_seq": None} for field in sealed])
    return entry


def reveals(session: Session, seq: int, *, user) -> dict:
    """Return the reveals of entry ``seq``: ``{"seq", "fields": {path: {"value", "salt"} | {"erased": seq}}}``.

    Raises Forbidden for a user who is not an admin or regulator, NotFound for an entry that is not there.
    """
    if user.role not in READERS:
        raise Forbidden(_("只有管理员和监管人员可以查看个人信息的原文。"))
    if session.scalar(select(LedgerEntry.seq).where(LedgerEntry.seq == seq)) is None:
        raise NotFound(_("账本中没有序号为 %(seq)s 的条目。", seq=seq))
    rows = session.scalars(select(PersonalDatum).where(PersonalDatum.seq == seq).order_by(PersonalDatum.path))
    return {"seq": seq, "fields": {row.path: _reveal(row) for row in rows}}


def _reveal(row: PersonalDatum) -> dict:
    return reveal_json(row.salt, json.loads(row.value) if row.value is not None else None, row.erased_seq)


def all_reveals(session: Session, upto: int | None = None):
    """Yield (seq, path, reveal) for every personal field, by seq (for the reveals file)."""
    query = select(PersonalDatum).order_by(PersonalDatum.seq, PersonalDatum.path)
    if upto is not None:
        query = query.where(PersonalDatum.seq < upto)
    for row in session.scalars(query):
        yield row.seq, row.path, _reveal(row)


def retention_years() -> int:
    return int(current_app.config.get("TRACEAPP_COMPLIANCE_RETENTION_YEARS", DEFAULT_RETENTION_YEARS))


@dataclass(frozen=True)
class Erasure:
    """What an erasure will remove: the record, why, and its personal fields not yet erased."""

    subject: str
    reason: str
    rows: list[PersonalDatum]


def plan_erasure(session: Session, data: dict, *, user, today: date | None = None) -> Erasure:
    """Check an erasure of the personal data of one record (``subject``, e.g. ``org:12``) for
    ``reason`` and return what it would remove, writing nothing.

    Raises Forbidden for anyone but an admin, InvalidInput for a missing subject or reason, NotFound
    when the record holds no personal data left to erase, Rejected (with the date it becomes
    possible) within a 合格证's retention period.
    """
    if user.role != "admin":
        raise Forbidden(_("只有管理员可以删除个人信息。"))
    f = Fields(data)
    subject = f.text("subject", max_length=200)
    reason = f.text("reason", max_length=500, multiline=True)
    f.check()
    rows = list(session.scalars(select(PersonalDatum).where(PersonalDatum.subject == subject,
                                                               PersonalDatum.erased_seq.is_(None))
                                .order_by(PersonalDatum.seq, PersonalDatum.path)))
    if not rows:
        raise NotFound(_("记录 %(subject)s 没有可以删除的个人信息（不存在、没有个人信息，或已经删除）。",
                         subject=subject))
    _check_retention(session, subject, today or clock.today())
    return Erasure(subject, reason, rows)


def erase(session: Session, data: dict, *, user, today: date | None = None) -> tuple[int, list[PersonalDatum]]:
    """Erase what :func:`plan_erasure` finds (and raises) in one transaction of the caller's.

    Appends ``personal_data.erased`` (subject, field paths, reason, legal basis: never the values),
    empties the salts and values of those fields, and puts ``ERASED`` in the projection's columns.
    Returns (the erasure entry's seq, the rows erased). After the commit, call :func:`scrub_files`.
    """
    plan = plan_erasure(session, data, user=user, today=today)
    entry = ledger_of(session).append(
        session, ERASURE_KIND, user.actor(), plan.subject,
        {"fields": [{"seq": row.seq, "path": row.path} for row in plan.rows], "reason": plan.reason,
         "legal_basis": LEGAL_BASIS})
    session.execute(update(PersonalDatum)
                    .where(PersonalDatum.subject == plan.subject, PersonalDatum.erased_seq.is_(None))
                    .values(salt=None, value=None, erased_seq=entry.seq)
                    .execution_options(synchronize_session="fetch"))
    _erase_projection(session, plan.subject, {row.path for row in plan.rows})
    return entry.seq, plan.rows


def _check_retention(session: Session, subject: str, today: date) -> None:
    from traceapp.records.models import ComplianceCertificate  # records build on this module

    if not subject.startswith("compliance_certificate:"):
        return
    cert = session.scalar(select(ComplianceCertificate).where(
        ComplianceCertificate.code == subject.removeprefix("compliance_certificate:")))
    if cert is None:
        return
    until = add_years(cert.issued_on, retention_years())
    if today < until:
        raise Rejected(_("合格证 %(code)s 于 %(issued)s 开具，其联系方式须保存 %(years)d 年，"
                         "%(until)s 起才能删除。", code=cert.code, issued=cert.issued_on.isoformat(),
                         years=retention_years(), until=until.isoformat()), {"subject": "retention"})


def _erase_projection(session: Session, subject: str, paths: set[str]) -> None:
    from traceapp.records.models import ComplianceCertificate, Organization

    if subject.startswith("org:"):
        org = session.get(Organization, int(subject.removeprefix("org:")))
        if org is not None:
            for field in {path.rsplit(".", 1)[-1] for path in paths} & {"name", "address", "contact"}:
                setattr(org, field, ERASED)
    elif subject.startswith("compliance_certificate:"):
        cert = session.scalar(select(ComplianceCertificate).where(
            ComplianceCertificate.code == subject.removeprefix("compliance_certificate:")))
        if cert is not None and "contact" in paths:
            cert.contact = ERASED
    session.flush()


def scrub_files(engine: Engine) -> None:
    """After an erasure has committed: on SQLite, move the WAL into the database and truncate it, so
    the erased bytes (zeroed in the database by ``secure_delete``) linger in no WAL frame either."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
