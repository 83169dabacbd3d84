"""Handing part of a batch over to another organization from the tablet UI: a form for the batch's
producer, and the list of transfers out of the batch on its page (templates/records/_transfers.html)."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask_login import current_user, login_required

from traceapp import db
from traceapp.i18n import gettext as _
from traceapp.pickers.queries import organization_item
from traceapp.records.access import require_batch_owner
from traceapp.records.forms import Confirmation, form_page
from traceapp.records.holds import hold_of
from traceapp.records.models import Batch, BatchTransfer, Organization
from traceapp.records.quantities import commitments
from traceapp.records.services import get_batch
from traceapp.records.transfers import transfer_batch, transfers_of
from traceapp.records.values import quantity_text

bp = Blueprint("transfers", __name__)


@bp.app_template_global()
def batch_transfers(code: str) -> dict:
    """Return the transfers out of a batch and whether the current user may hand it over: its owner,
    while it is not recalled, frozen or void (transfer_batch would refuse)."""
    session = db.session()
    batch = get_batch(session, code)
    owner = current_user.is_authenticated and (current_user.role == "admin" or (
        current_user.role == "producer" and current_user.organization_id == batch.organization_id))
    return {"items": transfers_of(session, [batch.id]).get(batch.id, []),
            "may_transfer": owner and hold_of(session, batch) is None}


@bp.route("/batches/<code>/transfer", methods=["GET", "POST"])
@login_required
def transfer(code: str):
    session = db.session()
    batch = get_batch(session, code)
    require_batch_owner(current_user, batch)

    def save(form: dict) -> str:
        moved = transfer_batch(session, batch, form, user=current_user)
        transferred.append(moved)
        return url_for("records.batch", code=batch.code)

    def confirm(form: dict) -> Confirmation:  # called once the service accepted the form
        return Confirmation(
            _("转交批次 %(code)s", code=batch.code),
            _("将 %(quantity)s %(unit)s 转交给 %(to)s。转交写入账本，不能撤回；接收方之后最多可以把这些数量用作原料。",
              quantity=form["quantity"].strip(), unit=batch.unit, to=_receiver(session, int(form["to"]))),
            _("确认转交"), url_for("transfers.transfer", code=batch.code))

    transferred: list = []
    return form_page("records/transfer.html", save, saved=lambda: _transferred(session, batch, transferred[-1]),
                     confirm=confirm, batch=batch,
                     free=quantity_text(commitments(session, batch).free))


def _transferred(session, batch: Batch, moved: BatchTransfer) -> str:
    return _("已将 %(quantity)s %(unit)s 转交给 %(to)s，并写入账本。", quantity=quantity_text(moved.quantity),
             unit=batch.unit, to=_receiver(session, moved.to_id))


def _receiver(session, organization_id: int) -> str:
    """The receiver as the picker named it to this user (an individual by surname and 某 to those who
    may not see personal data), on the confirmation and in the notice alike."""
    return organization_item(session.get(Organization, organization_id), current_user)["name"]
