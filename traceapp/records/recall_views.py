"""The regulator's recall pages: a batch with its forward and backward trace trees and the recall form,
the list of batches a recall reached, and lifting a batch's recall with a reason."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import String, func, literal, select

from traceapp import db
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.ledger.store import Ledger, LedgerEntry
from traceapp.params import int_arg
from traceapp.records import queries
from traceapp.records.access import require_role
from traceapp.records.forms import Confirmation, form_page
from traceapp.records.models import Batch
from traceapp.records.recalls import RECALLED, SCOPES, lift_recall, recall_batch, recall_status
from traceapp.records.services import get_batch
from traceapp.records.trace import trace
from traceapp.records.values import quantity_text

bp = Blueprint("recalls", __name__)
MAX_LISTED = 1000  # batches listed on the result page of one recall


@bp.route("/batches/<code>/recall", methods=["GET", "POST"])
@login_required
def recall(code: str):
    require_role(current_user, "regulator")
    session = db.session()
    found = get_batch(session, code)
    context = {"batch": queries.batch_summary(session, found), "status": recall_status(session, found),
               "forward": trace(session, found, "forward"), "backward": trace(session, found, "backward"),
               "scopes": SCOPES}

    def save(form: dict) -> str:
        first = _next_seq(session)
        recalled = recall_batch(session, found, form, user=current_user)
        return url_for("recalls.done", code=found.code, start=first, end=first + len(recalled) - 1)

    confirm = Confirmation(
        _("召回批次 %(code)s", code=found.code),
        _("召回后本批次（选择“本批次及以它为原料的所有批次”时也包括这些批次）的消费者页面立即显示召回警示，"
          "不能再开具合格证、转交或打印标签，直到解除召回。"),
        _("确认召回"), url_for("recalls.recall", code=found.code))
    return form_page("records/recall.html", save, defaults={"scope": "batch"}, confirm=confirm, **context)


def _next_seq(session) -> int:
    """Return the sequence number the transaction's next ledger entry gets. The caller holds the ledger's
    write lock (form_page's db.writing()), so one recall's entries are consecutive from here."""
    latest = db.ledger().latest_checkpoint(session)
    return (latest[0] if latest else 0) + Ledger.pending(session)


@bp.get("/batches/<code>/recall/done")
@login_required
def done(code: str):
    require_role(current_user, "regulator")
    session = db.session()
    found = get_batch(session, code)
    start, end = int_arg("start"), int_arg("end")
    if end < start:
        raise InvalidField("end", _("终止序号不能小于起始序号。"))
    in_range = (LedgerEntry.kind == RECALLED, LedgerEntry.seq.between(start, end))
    joined = select(Batch, LedgerEntry.body).join(LedgerEntry, LedgerEntry.subject == literal("batch:", String)
                                                  + Batch.code).where(*in_range)
    rows = session.execute(joined.order_by(LedgerEntry.seq).limit(MAX_LISTED)).all()
    total = session.scalar(select(func.count()).select_from(LedgerEntry).where(*in_range))
    entry = json.loads(bytes(rows[0].body))["data"] if rows else {}
    recalled = [{"code": b.code, "product": b.product, "quantity": quantity_text(b.quantity), "unit": b.unit,
                 "harvest_date": b.harvest_date.isoformat()} for b, _body in rows]
    return render_template("records/recall_done.html", batch=found, total=total, recalled=recalled,
                           reason=entry.get("reason"), scope=entry.get("scope"))


@bp.route("/batches/<code>/recall/lift", methods=["GET", "POST"])
@login_required
def lift(code: str):
    require_role(current_user, "regulator")
    session = db.session()
    found = get_batch(session, code)

    def save(form: dict) -> str:
        lift_recall(session, found, form, user=current_user)
        return url_for("records.batch", code=found.code)

    return form_page("records/recall_lift.html", save,
                     saved=lambda: _("批次 %(code)s 的召回已解除，消费者页面不再显示召回警示。", code=found.code),
                     batch=found, status=recall_status(session, found))
