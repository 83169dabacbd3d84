"""Freezing, unfreezing and voiding a batch's code from the tablet UI: a reason form per action,
shown on the batch page (templates/records/_code_state.html) to those who may act."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask_login import current_user, login_required

from traceapp import db
from traceapp.errors import NotFound
from traceapp.i18n import gettext as _
from traceapp.records.code_states import (
    code_state,
    freeze_code,
    may_change_code_state,
    require_code_authority,
    unfreeze_code,
    void_code,
)
from traceapp.records.forms import Confirmation, form_page
from traceapp.records.services import get_batch

bp = Blueprint("code_states", __name__)
ACTIONS = {"freeze": freeze_code, "unfreeze": unfreeze_code, "void": void_code}
# What each state allows: the forms the batch page offers.
OFFERED = {"active": ("freeze", "void"), "frozen": ("unfreeze", "void"), "void": ()}


@bp.app_template_global()
def code_state_panel(code: str) -> dict:
    """Return the state of a batch's code and the actions the current user may take on it."""
    session = db.session()
    batch = get_batch(session, code)
    state = code_state(session, batch)
    allowed = current_user.is_authenticated and may_change_code_state(current_user, batch)
    return {**state, "actions": OFFERED[state["state"]] if allowed else ()}


@bp.route("/batches/<code>/code-state/<action>", methods=["GET", "POST"])
@login_required
def change(code: str, action: str):
    if action not in ACTIONS:
        raise NotFound(_("没有这个操作：%(action)s。", action=action[:20]))
    session = db.session()
    batch = get_batch(session, code)
    require_code_authority(current_user, batch)

    def save(form: dict) -> str:
        ACTIONS[action](session, batch, form, user=current_user)
        return url_for("records.batch", code=batch.code, _anchor="code-state")

    return form_page("records/code_state_form.html", save, saved=lambda: _saved(action, batch.code),
                     confirm=_confirmation(action, batch.code), batch=batch, action=action,
                     state=code_state(session, batch))


def _saved(action: str, code: str) -> str:
    return {"freeze": _("追溯码 %(code)s 已冻结；消费者页面显示“已冻结”，解冻前不能开具合格证、转交或打印标签。",
                        code=code),
            "unfreeze": _("追溯码 %(code)s 已解冻，恢复正常。", code=code),
            "void": _("追溯码 %(code)s 已作废。", code=code)}[action]


def _confirmation(action: str, code: str) -> Confirmation | None:
    """Return what freezing or voiding a code asks first: consumers see either at once. Unfreezing
    restores the normal state and asks nothing."""
    back = url_for("records.batch", code=code, _anchor="code-state")
    if action == "freeze":
        return Confirmation(_("冻结追溯码 %(code)s", code=code),
                            _("冻结后此追溯码的消费者页面立即显示“已冻结”，在解冻前不能开具合格证、转交或打印标签。"),
                            _("确认冻结追溯码"), back)
    if action == "void":
        return Confirmation(_("作废追溯码 %(code)s", code=code),
                            _("作废后此追溯码的消费者页面将显示“已作废”，此操作不可撤销。"),
                            _("确认作废追溯码"), back)
    return None
