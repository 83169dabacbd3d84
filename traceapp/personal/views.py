"""The admin's erasure page: name the record and the reason, see what goes, confirm (a page of its
own, since the CSP allows no inline script for a confirm dialog), done."""

from __future__ import annotations

import json

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from traceapp import db
from traceapp.errors import Conflict, Forbidden, NotFound, Rejected
from traceapp.i18n import gettext as _
from traceapp.personal.services import erase, plan_erasure, scrub_files
from traceapp.validation import InvalidInput

bp = Blueprint("personal", __name__)


@bp.route("/admin/personal-data", methods=["GET", "POST"])
@login_required
def erase_page():
    if current_user.role != "admin":
        raise Forbidden(_("只有管理员可以删除个人信息。"))
    if request.method == "GET":
        values = {"subject": request.args.get("subject", "")[:200]}
        return render_template("personal/erase.html", values=values, errors={}, message=None)
    values = {k: request.form.get(k, "") for k in ("subject", "reason")}
    session = db.writing()
    try:
        if request.form.get("confirm") != "yes":
            plan = plan_erasure(session, values, user=current_user)
            session.rollback()
            fields = [(row.seq, row.path, json.loads(row.value)) for row in plan.rows]
            return render_template("personal/erase_confirm.html", plan=plan, fields=fields)
        seq, rows = erase(session, values, user=current_user)
        session.commit()
    except (InvalidInput, NotFound, Rejected, Conflict) as exc:
        session.rollback()
        return render_template("personal/erase.html", values=values, errors=exc.fields, message=exc.message), \
            exc.status
    scrub_files(db.database().engine)
    return render_template("personal/erase_done.html", subject=values["subject"], seq=seq,
                           paths=sorted({row.path for row in rows}))
