"""The home pages that lead to the work: what a producer, an inspector, a certifier or a regulator
must do next, each from a few bounded queries (a producer's batches, a body's recent work), so a
home stays quick on a registry of a million batches."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template
from flask_login import current_user
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from traceapp import clock, db
from traceapp.audit import verification
from traceapp.audit.desk import desk_risk_counts
from traceapp.audit.risk import RULES
from traceapp.lists import search
from traceapp.records.models import Batch, CodeState, ComplianceCertificate, Inspection, LabelPrint, Organization
from traceapp.records.recalls import recalled_batches_of

SHOWN = 10
AWAITING_DAYS = 30  # an inspector is shown the batches harvested this recently
ENDING_DAYS = 60  # a certifier is shown the certificates ending this soon


def _organization():
    return db.session().get(Organization, current_user.organization_id) if current_user.organization_id else None


def _page(**context):
    return render_template("lists/home.html", organization=_organization(), **context)


def _open_batches(org_id: int):
    """The organization's batches whose code is not void (what still needs a 合格证 or labels)."""
    return select(Batch).where(Batch.organization_id == org_id,
                               ~exists().where(CodeState.batch_id == Batch.id, CodeState.state == "void"))


def _listed(session: Session, query) -> tuple[list, int, bool]:
    rows = list(session.scalars(query.order_by(Batch.harvest_date.desc(), Batch.id.desc()).limit(SHOWN)))
    count, capped = search.capped_count(session, query.with_only_columns(Batch.id))
    return rows, count, capped


def producer_home():
    session = db.session()
    org_id = current_user.organization_id
    no_certificate = _open_batches(org_id).where(~exists().where(
        ComplianceCertificate.batch_id == Batch.id, ComplianceCertificate.voided_on.is_(None)))
    no_labels = _open_batches(org_id).where(~exists().where(LabelPrint.batch_id == Batch.id))
    return _page(recalled=recalled_batches_of(session, org_id),
                 without_certificate=_listed(session, no_certificate), without_labels=_listed(session, no_labels))


def inspector_home():
    """Batches harvested lately by the producers the body has inspected for, with no inspection yet
    (what it will likely be asked to test next), and its latest inspections."""
    session = db.session()
    body = current_user.organization_id
    served = (select(Batch.organization_id).join(Inspection, Inspection.batch_id == Batch.id)
              .where(Inspection.body_id == body).distinct())
    since = clock.today() - timedelta(days=AWAITING_DAYS)
    awaiting = [Batch.organization_id.in_(served), Batch.harvest_date >= since,
                ~exists().where(Inspection.batch_id == Batch.id)]
    rows = session.execute(search.listing(*awaiting).order_by(Batch.harvest_date.desc(), Batch.id.desc())
                           .limit(SHOWN)).all()
    count, capped = search.capped_count(session, select(Batch.id).where(*awaiting))
    recent = search.search_inspections(session, search.InspectionSearch(body_id=body), limit=SHOWN)
    return _page(awaiting=(search.batch_rows(session, rows), count, capped), awaiting_days=AWAITING_DAYS,
                 recent_inspections=recent.rows)


def certifier_home():
    session = db.session()
    today = clock.today()
    until = today + timedelta(days=ENDING_DAYS)
    return _page(ending=search.ending_soon(session, current_user.organization_id, today, until),
                 ending_days=ENDING_DAYS, ending_until=until)


def regulator_home():
    session = db.session()
    latest = db.ledger().latest_checkpoint(session)
    counted_at, counts = desk_risk_counts(session, latest[0] if latest else 0)
    finished = verification.latest_finished(session)
    return _page(risk_rules=RULES, risk_counts=counts, risk_counted_at=counted_at, verification=finished,
                 verification_state=verification.state(finished) if finished else None,
                 state_labels=search.STATE, states=search.STATES)


HOMES = {"producer": producer_home, "inspector": inspector_home, "certifier": certifier_home,
         "regulator": regulator_home}
