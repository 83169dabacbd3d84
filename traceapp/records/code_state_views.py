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
from traceapp.records.forms import form_page
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
        return url_for("records.batch", code=batch.code)

    return form_page("records/code_state_form.html", save, batch=batch, action=action,
                     state=code_state(session, batch))
