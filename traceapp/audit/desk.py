"""The regulator's audit desk at /audit/: the ledger's size and latest checkpoint (to download and
keep), full verifications run in the background with their progress and kept results, and the
consistency check of a checkpoint saved on an earlier visit. Regulators and admins only."""

from __future__ import annotations

import time
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from traceapp import clock, db
from traceapp.audit import risk, verification
from traceapp.audit.consistency import MALFORMED, MAX_NOTE, check_consistency
from traceapp.audit.models import VerificationRun
from traceapp.errors import InvalidField, NotFound
from traceapp.i18n import gettext as _
from traceapp.ledger.store import parse_checkpoint
from traceapp.records.access import require_role

bp = Blueprint("audit_desk", __name__, url_prefix="/audit")
_RISK_COUNTS = "traceapp.audit.risk_counts"


@bp.before_request
def regulators_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    require_role(current_user, "regulator")
    return None


def _latest_checkpoint() -> tuple[int, str]:
    latest = db.ledger().latest_checkpoint(db.session())
    if latest is None:
        raise NotFound(_("账本还没有签名检查点，请先运行 flask --app traceapp db upgrade。"))
    return latest


def _desk(status: int = 200, **context):
    session = db.session()
    size, note = _latest_checkpoint()
    run = verification.running(session)
    finished = verification.latest_finished(session)
    shown = run or finished
    context.setdefault("errors", {})
    context.setdefault("pasted", "")
    context.setdefault("message", None)
    counted_at, counts = desk_risk_counts(session, size)
    context.setdefault("risk_counts", counts)
    context.setdefault("risk_counted_at", counted_at)
    return render_template("audit/desk.html", risk_rules=risk.RULES, size=size, checkpoint=parse_checkpoint(note),
                           shown=shown, shown_state=verification.state(shown) if shown else None,
                           finished=finished if run else None, **context), status


def desk_risk_counts(session, ledger_size: int) -> tuple[datetime, dict[str, int]]:
    """Return (when counted, {rule: findings}) for the desk, kept per worker while the ledger has
    ``ledger_size`` entries and for at most RISK_COUNTS_SECONDS (scans and dates move without it).

    Counting every rule reads most of a big registry (about 2 s at 1,000,000 batches on PostgreSQL);
    the lists behind each count are always counted afresh."""
    kept = current_app.extensions.get(_RISK_COUNTS)
    now = time.monotonic()
    if kept is not None and kept[0] == ledger_size and now - kept[1] < current_app.config["RISK_COUNTS_SECONDS"]:
        return kept[2], kept[3]
    counts = risk.count_all(session)
    counted_at = verification.now_utc()
    current_app.extensions[_RISK_COUNTS] = (ledger_size, now, counted_at, counts)
    return counted_at, counts


@bp.context_processor
def _helpers():
    return {"when": when, "status_label": status_label, "result_message": result_message}


def when(moment) -> str:
    """Return a stored (naive UTC) time as the desk shows it: in the deployment's zone, with its offset."""
    return clock.local_time(moment, seconds=True) if moment else ""


def status_label(status: str) -> str:
    return {"running": _("进行中"), "ok": _("通过"), "failed": _("未通过"), "error": _("未完成")}.get(status, status)


@bp.get("/")
def index():
    return _desk()


@bp.get("/checkpoint.txt")
def checkpoint_file():
    size, note = _latest_checkpoint()
    response = Response(note, mimetype="text/plain")
    response.headers["Content-Disposition"] = f'attachment; filename="traceapp-checkpoint-{size}.txt"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/verification")
def start_verification():
    """Start a full verification, or, when one is running in any worker, go on showing that one."""
    session = db.writing()
    try:
        run, created = verification.start_verification(session, db.ledger(), current_user.username)
        session.commit()
    except IntegrityError:  # another start got the one running row first (the lock makes this rare)
        session.rollback()
        run, created = verification.running(session), False
    if created:
        verification.launch(current_app._get_current_object(), run.id)
    return redirect(url_for("audit_desk.index", _anchor="verification"), code=303)


@bp.get("/verification/<int:run_id>.json")
def verification_state(run_id: int):
    run = db.session().get(VerificationRun, run_id)
    if run is None:
        raise NotFound(_("没有编号为 %(id)d 的完整校验。", id=run_id))
    body = verification.state(run)
    body["message"] = result_message(body)
    body["label"] = status_label(body["status"])
    body["finished_at"] = when(run.finished_at) or None
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def result_message(state: dict) -> str:
    """Return the sentence the desk shows for a run's state, in the user's language."""
    problems = (state.get("result") or {}).get("problems") or []
    if state["status"] == "running":
        return _("正在校验：已校验 %(n)d / %(total)d 条记录。", n=state["entries_checked"], total=state["total"])
    if state["status"] == "ok":
        return _(
            "账本完好：%(n)d 条记录的哈希链、默克尔树根、存储的树哈希和检查点签名全部通过，各业务表与账本记录一致。",
            n=state["entries_checked"])
    if state["status"] == "failed":
        return _("校验未通过：发现 %(n)d 个问题，见下方列表。", n=len(problems))
    return _("校验没有完成：%(reason)s 请重新运行。", reason="; ".join(problems))


@bp.post("/consistency")
def consistency():
    """Check a checkpoint the regulator saved (pasted, or the file they downloaded)."""
    pasted = request.form.get("checkpoint", "")
    upload = request.files.get("checkpoint_file")
    saved = pasted
    if upload is not None and upload.filename:
        raw = upload.stream.read(MAX_NOTE + 1)
        try:
            saved = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _form_error("checkpoint_file", _("检查点文件必须是 UTF-8 文本文件（从本页下载的 .txt 文件）。"))
    if not saved.strip():
        return _form_error("checkpoint", _("请粘贴保存的检查点，或选择下载过的检查点文件。"))
    try:
        found = check_consistency(db.session(), db.ledger(), saved)
    except LookupError:
        raise NotFound(_("账本还没有签名检查点，请先运行 flask --app traceapp db upgrade。")) from None
    if found.outcome == MALFORMED:
        field = "checkpoint_file" if upload is not None and upload.filename else "checkpoint"
        message = _("这不是一个签名检查点：需要来源、树大小、根哈希三行，空一行后是签名行（%(detail)s）。",
                    detail=found.detail)
        return _form_error(field, message, pasted)
    return render_template("audit/consistency.html", found=found)


def _form_error(field: str, message: str, pasted: str = ""):
    error = InvalidField(field, message)
    return _desk(400, errors=error.fields, message=error.message, pasted=pasted)
