"""The tablet UI: a home page per role, registering batches, the batch page with its QR code,
inspections, certificates, 合格证 and corrections. Every write goes through a service."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from traceapp import clock, db
from traceapp.brands.queries import claim_status
from traceapp.errors import Forbidden, InvalidField
from traceapp.i18n import gettext as _
from traceapp.pickers import resolve
from traceapp.records import queries, services
from traceapp.records.access import require_batch_owner, require_role
from traceapp.records.certifications import (
    get_certification,
    issue_certification,
    revoke_certification,
)
from traceapp.records.compliance import (
    PROMISES,
    get_compliance_certificate,
    issue_compliance_certificate,
    void_compliance_certificate,
)
from traceapp.records.corrections import CORRECTABLE, correct_batch, current_fields
from traceapp.records.forms import Confirmation, form_page, numbered_rows, rows_on_form
from traceapp.records.holds import hold_of
from traceapp.records.inspections import record_inspection
from traceapp.records.models import (
    CATEGORIES,
    NEW_CERT_KINDS,
    ORG_KINDS,
    PRODUCER_KINDS,
    UNITS,
    Batch,
    Inspection,
    Organization,
)
from traceapp.records.recalls import recalled_batches_of
from traceapp.records.values import quantity_text

bp = Blueprint("records", __name__)
HOMES = "traceapp.homes"
INPUT_ROWS = 3
ITEM_ROWS = 5
PRINT_SIZES = ("a5", "100x70", "80x60")
# The 承诺依据 boxes as the form of 农业农村部令2025年第4号 words them (printed in Chinese in either UI language).
PRINTED_BASES = {"quality_control": "质量安全控制符合要求", "self_test": "自行检测合格",
                 "commissioned_test": "委托检测合格"}


@bp.get("/home")
@login_required
def home():
    # A role's home may be made by the package that owns that role's work (see ``home_for``).
    made = current_app.extensions.get(HOMES, {}).get(current_user.role)
    if made is not None:
        return made()
    session = db.session()
    context = {}
    if current_user.organization_id:
        context["organization"] = session.get(Organization, current_user.organization_id)
    if current_user.role == "producer":
        context["batches"] = [queries.batch_summary(session, b) for b in session.scalars(
            select(Batch).where(Batch.organization_id == current_user.organization_id)
            .order_by(Batch.id.desc()).limit(20))]
        context["recalled"] = recalled_batches_of(session, current_user.organization_id)
    elif current_user.role in ("inspector",):
        context["inspections"] = session.execute(
            select(Inspection, Batch).join(Batch, Batch.id == Inspection.batch_id)
            .where(Inspection.body_id == current_user.organization_id).order_by(Inspection.id.desc()).limit(20)).all()
    elif current_user.role in ("admin", "regulator", "certifier"):
        context["batches"] = [queries.batch_summary(session, b) for b in session.scalars(
            select(Batch).order_by(Batch.id.desc()).limit(20))]
    return render_template("records/home.html", **context)


def home_for(app, role: str, view) -> None:
    """Make ``view`` (no arguments, returns a response) the home page of ``role``'s users."""
    app.extensions.setdefault(HOMES, {})[role] = view


@bp.route("/batches/new", methods=["GET", "POST"])
@login_required
def new_batch():
    require_role(current_user, "producer")

    def save(form: dict) -> str:
        data = {k: v for k, v in form.items() if not k.startswith("inputs-")}
        numbered = numbered_rows(form, "inputs", ("code", "quantity"), INPUT_ROWS)
        data["inputs"] = [row for _n, row in numbered]
        session = db.session()
        problems = resolve.fields(data, {"origin_region": lambda v: resolve.region(v, "origin_region"),
                                         "brand": lambda v: resolve.brand(session, v)})
        with rows_on_form("inputs", [n for n, _row in numbered], "code"):
            batch = resolve.saving(problems, lambda: services.register_batch(session, data, user=current_user))
        return url_for("records.batch", code=batch.code)

    return form_page("records/batch_form.html", save, saved=lambda: _("批次已保存并写入账本。二维码可以打印了。"),
                     defaults={"unit": "kg", "harvest_date": clock.today().isoformat()},
                     categories=CATEGORIES, units=UNITS, input_rows=INPUT_ROWS)


@bp.get("/batches/<code>")
@login_required
def batch(code: str):
    session = db.session()
    found = services.get_batch(session, code)
    detail = queries.batch_detail(session, found)
    owner = current_user.role == "admin" or (current_user.role == "producer"
                                            and current_user.organization_id == found.organization_id)
    return render_template("records/batch.html", batch=detail, owner=owner, print_sizes=PRINT_SIZES,
                           claim=claim_status(session, found), hold=hold_of(session, found))


@bp.route("/batches/<code>/correct", methods=["GET", "POST"])
@login_required
def correct(code: str):
    session = db.session()
    found = services.get_batch(session, code)
    require_batch_owner(current_user, found)
    current = current_fields(found)

    def save(form: dict) -> str:
        form = dict(form)
        problems = resolve.fields(form, {"origin_region": lambda v: resolve.region(v, "origin_region")})
        changes = {k: form.get(k, "") for k in CORRECTABLE if form.get(k, "") != (current[k] or "")}
        resolve.saving(problems, lambda: correct_batch(
            session, found, {"fields": changes, "reason": form.get("reason", "")}, user=current_user))
        return url_for("records.batch", code=found.code)

    return form_page("records/correct.html", save,
                     saved=lambda: _("更正已保存并写入账本；批次页面显示更正后的内容和更正记录。"),
                     defaults={k: v or "" for k, v in current.items()},
                     batch=found, categories=CATEGORIES, correctable=CORRECTABLE)


@bp.route("/batches/<code>/compliance-certificates/new", methods=["GET", "POST"])
@login_required
def new_compliance_certificate(code: str):
    session = db.session()
    found = services.get_batch(session, code)
    require_batch_owner(current_user, found)
    inspections = session.scalars(select(Inspection).where(Inspection.batch_id == found.id)
                                  .order_by(Inspection.inspected_on)).all()

    def save(form: dict) -> str:
        cert = issue_compliance_certificate(session, found, form, user=current_user)
        issued.append(cert.code)
        return url_for("records.compliance_print", code=cert.code)

    issued: list[str] = []
    return form_page("records/compliance_form.html", save,
                     saved=lambda: _("合格证 %(code)s 已开具并写入账本，可以打印了。", code=issued[-1]),
                     batch=found, inspections=inspections, promises=PROMISES,
                     defaults={"quantity": quantity_text(found.quantity), "promiser": "producer",
                               "issued_on": clock.today().isoformat(), "basis": "quality_control"})


@bp.get("/compliance-certificates/<code>")
@login_required
def compliance_print(code: str):
    session = db.session()
    cert = get_compliance_certificate(session, code)
    found = session.get(Batch, cert.batch_id)
    size = request.args.get("size", "a5")
    if size not in PRINT_SIZES:
        raise InvalidField("size", _("纸张大小必须是以下之一：%(sizes)s。", sizes=_("、").join(PRINT_SIZES)))
    producer = session.get(Organization, found.organization_id)
    inspection = session.get(Inspection, cert.inspection_id) if cert.inspection_id else None
    return render_template("records/compliance_print.html", cert=queries.compliance_view(cert, found),
                           batch=queries.batch_summary(session, found), producer=producer, size=size,
                           sizes=PRINT_SIZES, bases=PRINTED_BASES.items(),
                           report_no=inspection.report_no if inspection else None)


@bp.post("/compliance-certificates/<code>/void")
@login_required
def compliance_void(code: str):
    session = db.session()
    cert = get_compliance_certificate(session, code)
    found = session.get(Batch, cert.batch_id)

    def save(form: dict) -> str:
        void_compliance_certificate(session, cert, form, user=current_user)
        return url_for("records.batch", code=found.code, _anchor="compliance")

    confirm = Confirmation(
        _("作废合格证 %(code)s", code=cert.code),
        _("作废后合格证 %(code)s 不再有效，批次页面和扫码查询都会显示“已作废”；此操作不可撤销。", code=cert.code),
        _("确认作废合格证"), url_for("records.batch", code=found.code, _anchor="compliance"))
    return form_page("records/void.html", save, saved=lambda: _("合格证 %(code)s 已作废。", code=cert.code),
                     confirm=confirm, cert=cert, batch=found)


@bp.route("/inspections/new", methods=["GET", "POST"])
@login_required
def new_inspection():
    require_role(current_user, "inspector")

    def save(form: dict) -> str:
        data = {k: v for k, v in form.items() if not k.startswith("items-")}
        numbered = numbered_rows(form, "items", ("name", "method", "value", "limit", "unit", "verdict"), ITEM_ROWS)
        data["items"] = [row for _n, row in numbered]
        with rows_on_form("items", [n for n, _row in numbered], "name"):
            inspection = record_inspection(db.session(), data, user=current_user)
        return url_for("records.batch", code=db.session().get(Batch, inspection.batch_id).code)

    return form_page("records/inspection_form.html", save, saved=lambda: _("检测记录已保存并写入账本。"),
                     item_rows=ITEM_ROWS,
                     defaults={"batch": request.args.get("batch", ""), "inspected_on": clock.today().isoformat()})


@bp.route("/certifications/new", methods=["GET", "POST"])
@login_required
def new_certification():
    require_role(current_user, "certifier")
    session = db.session()
    # A certifier's certificates are its own body's: the issuer is shown, not chosen. An admin enters
    # historical ones for a registered body or names one that is not registered.
    own_body = session.get(Organization, current_user.organization_id) if current_user.role != "admin" else None
    bodies = [] if own_body else list(session.scalars(select(Organization).where(
        Organization.kind == "certification_body").order_by(Organization.name)))

    def save(form: dict) -> str:
        problems = resolve.fields(form, {"holder": lambda v: resolve.organization(
            session, v, current_user, "holder", kinds=PRODUCER_KINDS)})
        cert = resolve.saving(problems, lambda: issue_certification(session, form, user=current_user))
        recorded.append(cert.number)
        return url_for("lists.certificates")

    recorded: list[str] = []
    return form_page("records/certification_form.html", save,
                     saved=lambda: _("证书 %(number)s 已记录并写入账本。", number=recorded[-1]), kinds=NEW_CERT_KINDS,
                     own_body=own_body,
                     bodies=bodies, defaults={"issuer": own_body.name} if own_body else None)


@bp.post("/certifications/<int:cert_id>/revoke")
@login_required
def revoke(cert_id: int):
    session = db.session()
    cert = get_certification(session, cert_id)

    def save(form: dict) -> str:
        revoke_certification(session, cert.id, form, user=current_user)
        return url_for("lists.certificates")

    confirm = Confirmation(
        _("撤销证书 %(number)s", number=cert.number),
        _("撤销后证书 %(number)s 在所有批次页面和消费者页面上显示为“已撤销”；此操作不可撤销。", number=cert.number),
        _("确认撤销证书"), url_for("lists.certificates"))
    return form_page("records/void.html", save, saved=lambda: _("证书 %(number)s 已撤销。", number=cert.number),
                     confirm=confirm, cert=cert, batch=None)


@bp.get("/organizations")
@login_required
def organizations():
    if current_user.role not in ("admin", "regulator"):
        raise Forbidden(_("只有管理员和监管部门可以查看组织列表。"))
    listed = db.session().scalars(select(Organization).order_by(Organization.id)).all()
    return render_template("records/organizations.html", organizations=listed)


@bp.route("/organizations/new", methods=["GET", "POST"])
@login_required
def new_organization():
    require_role(current_user, "admin")

    def save(form: dict) -> str:
        problems = resolve.fields(form, {"region": lambda v: resolve.region(v, "region")})
        org = resolve.saving(problems, lambda: services.register_organization(db.session(), form,
                                                                              actor=current_user.actor()))
        created.append(org.name)
        return url_for("admin.organization", org_id=org.id)

    created: list[str] = []
    return form_page("records/organization_form.html", save,
                     saved=lambda: _("组织“%(name)s”已登记并写入账本。", name=created[-1]), kinds=ORG_KINDS)
