"""The JSON API under /api/v1: bearer-token auth, one service call per write, answers dumped
through the schemas, Idempotency-Key on every POST."""

from __future__ import annotations

from typing import NoReturn

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from traceapp import db
from traceapp.api import idempotency, schemas
from traceapp.api.openapi import document, integer, operation
from traceapp.auth import user_of_token
from traceapp.errors import DomainError, InvalidField, NotFound
from traceapp.field_labels import LABELS
from traceapp.i18n import gettext as _
from traceapp.params import int_arg
from traceapp.personal.fields import public_name
from traceapp.records import queries, services
from traceapp.records.access import require_role
from traceapp.records.certifications import get_certification, issue_certification, revoke_certification
from traceapp.records.compliance import (
    get_compliance_certificate,
    issue_compliance_certificate,
    void_compliance_certificate,
)
from traceapp.records.corrections import correct_batch
from traceapp.records.inspections import record_inspection
from traceapp.records.models import Batch, Certification, ComplianceCertificate, Organization
from traceapp.validation import SURROGATE

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_ID = 2**31 - 1
PAGE = (("limit", integer(1, 200), "at most 200 (default 50)"), ("offset", integer(0, 10**9), "default 0"))


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


@bp.after_request
def _challenge(response):
    # RFC 7235: a 401 names the scheme the client should authenticate with.
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="traceapp"')
    return response


def api_user():
    """Return the user of the request's bearer token (cookies are not accepted here: no CSRF on the API)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized(_("需要 API 令牌：请在请求头中加入 Authorization: Bearer <令牌>。"))
    user = user_of_token(header[7:].strip())
    if user is None:
        raise Unauthorized(_("API 令牌无效或账号已停用。"))
    return user


# The deepest body an operation takes is three levels (a batch: object, its inputs list, an input
# object); one more is left for a schema to grow, and anything deeper is refused before any service
# walks it (a thousand levels overflow the parser's recursion).
MAX_JSON_DEPTH = 4


def json_body() -> dict:
    """Return the request's JSON object; raise InvalidField for another body, one nested deeper than
    ``MAX_JSON_DEPTH``, or one holding a lone surrogate (no UTF-8 can carry it) anywhere."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        _refuse_deep()
    if not isinstance(data, dict):
        raise InvalidField("body", _("请求体必须是 JSON 对象（Content-Type: application/json）。"))
    _check_tree(data)
    return data


def _refuse_deep() -> NoReturn:
    raise InvalidField("body", _("请求体的 JSON 嵌套超过 %(n)d 层；请按接口文档发送字段。", n=MAX_JSON_DEPTH))


def _check_tree(data: dict) -> None:
    # Iterative, so that checking a deep body cannot overflow the stack either.
    stack: list[tuple[object, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                _refuse_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and SURROGATE.search(key):
                    _refuse_surrogate(path or "body")
                child = f"{path}.{key}" if isinstance(key, str) and path else (
                    key if isinstance(key, str) else f"{path}[{key}]")
                stack.append((item, child, depth + 1))
        elif isinstance(value, str) and SURROGATE.search(value):
            _refuse_surrogate(path)


def _refuse_surrogate(path: str) -> NoReturn:
    leaf = path.rsplit(".", 1)[-1].split("[", 1)[0]
    label = LABELS.get(leaf, path)
    raise InvalidField(path, _("%(field)s含有无效的 Unicode 字符（单独的代理项），请重新输入。", field=label))


def write(action, schema, status: int = 201):
    """Run ``action(session, body, user)`` as one transaction, answering retries with the same
    Idempotency-Key from the stored first answer."""
    user = api_user()
    body = json_body()
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = idempotency.check_key(key)
        digest = idempotency.request_hash(request.method, request.path, body)
    session = db.writing()  # from here to commit: the ledger's write lock (a retry waits for the first try)
    user_id = user.id
    if key is not None:
        stored = idempotency.replay(session, user_id, key, digest)
        if stored is not None:
            response = jsonify(stored[0])
            response.headers["Idempotent-Replayed"] = "true"
            return response, stored[1]
    result = schema.dump(action(session, body, user))
    if key is not None:
        idempotency.remember(session, user_id, key, digest, result, status)
    session.commit()
    return jsonify(result), status


def page_args() -> tuple[int, int]:
    """Return the request's (limit, offset): at most 200, 50 by default."""
    return int_arg("limit", default=50, minimum=1, maximum=200), int_arg("offset", default=0, minimum=0, maximum=10**9)


def page(query):
    limit, offset = page_args()
    return query.limit(limit).offset(offset)


@bp.get("/openapi.json")
def openapi():
    return jsonify(document(current_app))


# -- organizations -------------------------------------------------------------------------

@bp.get("/organizations")
@operation(summary="List organizations", response=schemas.OrganizationList, errors=(400, 401),
           query=(("kind", "string", "filter by kind"), *PAGE))
def organizations():
    user = api_user()
    query = select(Organization).order_by(Organization.id)
    if request.args.get("kind"):
        query = query.where(Organization.kind == request.args["kind"])
    rows = db.session().scalars(page(query))
    return jsonify(schemas.OrganizationList().dump({"items": [for_viewer(queries.organization_view(o), user)
                                                              for o in rows]}))


@bp.post("/organizations")
@operation(summary="Register an organization (admin)", request=schemas.OrganizationIn,
           response=schemas.OrganizationOut, status=201, errors=(400, 401, 403, 409))
def create_organization():
    def action(session, body, user):
        require_role(user, "admin")
        return queries.organization_view(services.register_organization(session, body, actor=user.actor()))
    return write(action, schemas.OrganizationOut())


@bp.get("/organizations/<int:org_id>")
@operation(summary="One organization", response=schemas.OrganizationOut, errors=(401,))
def organization(org_id: int):
    user = api_user()
    return jsonify(schemas.OrganizationOut().dump(
        for_viewer(queries.organization_view(services.get_organization(db.session(), org_id)), user)))


def for_viewer(view: dict, user) -> dict:
    """Return an organization's view as this token's user may see it: its own staff, admins and
    regulators see the personal fields; others what a public page shows."""
    if user.role in ("admin", "regulator") or user.organization_id == view["id"]:
        return view
    return {**view, "name": public_name(view["name"], view["kind"]), "address": "", "contact": ""}


# -- batches --------------------------------------------------------------------------------

@bp.get("/batches")
@operation(summary="List batches, newest first", response=schemas.BatchList, errors=(400, 401),
           query=(("organization", integer(1, MAX_ID), "filter by producer organization id"),
                  ("product", "string", "filter by product name"), *PAGE))
def batches():
    api_user()
    query = select(Batch).order_by(Batch.id.desc())
    if "organization" in request.args:
        query = query.where(Batch.organization_id == int_arg("organization", minimum=1, maximum=MAX_ID))
    if request.args.get("product"):
        query = query.where(Batch.product == request.args["product"])
    session = db.session()
    items = [queries.batch_summary(session, b) for b in session.scalars(page(query))]
    return jsonify(schemas.BatchList().dump({"items": items}))


@bp.post("/batches")
@operation(summary="Register a batch (producer, for their own organization)", request=schemas.BatchIn,
           response=schemas.BatchOut, status=201, errors=(400, 401, 403, 404, 409, 422))
def create_batch():
    def action(session, body, user):
        return queries.batch_summary(session, services.register_batch(session, body, user=user))
    return write(action, schemas.BatchOut())


@bp.get("/batches/<code>")
@operation(summary="One batch with its inspections, certificates, 合格证 and corrections",
           response=schemas.BatchDetailOut, errors=(401,))
def batch(code: str):
    api_user()
    session = db.session()
    return jsonify(schemas.BatchDetailOut().dump(queries.batch_detail(session, services.get_batch(session, code))))


@bp.post("/batches/<code>/corrections")
@operation(summary="Correct a batch (a new ledger entry; nothing is edited in place)",
           request=schemas.CorrectionIn, response=schemas.CorrectionOut, status=201, errors=(400, 401, 403, 409))
def create_correction(code: str):
    def action(session, body, user):
        return queries.correction_view(correct_batch(session, services.get_batch(session, code), body, user=user))
    return write(action, schemas.CorrectionOut())


# -- inspections ----------------------------------------------------------------------------

@bp.post("/inspections")
@operation(summary="Record an inspection (inspector)", request=schemas.InspectionIn,
           response=schemas.InspectionOut, status=201, errors=(400, 401, 403, 409))
def create_inspection():
    def action(session, body, user):
        inspection = record_inspection(session, body, user=user)
        return queries.inspection_view(inspection, session.get(Batch, inspection.batch_id))
    return write(action, schemas.InspectionOut())


# -- certifications -------------------------------------------------------------------------

@bp.get("/certifications")
@operation(summary="List certificates", response=schemas.CertificationList, errors=(400, 401),
           query=(("holder", integer(1, MAX_ID), "filter by holder organization id"), *PAGE))
def certifications():
    api_user()
    query = select(Certification).order_by(Certification.id)
    if "holder" in request.args:
        query = query.where(Certification.holder_id == int_arg("holder", minimum=1, maximum=MAX_ID))
    rows = db.session().scalars(page(query))
    return jsonify(schemas.CertificationList().dump({"items": [queries.certification_view(c) for c in rows]}))


@bp.post("/certifications")
@operation(summary="Record a 三品一标 certificate (certifier)", request=schemas.CertificationIn,
           response=schemas.CertificationOut, status=201, errors=(400, 401, 403, 409))
def create_certification():
    def action(session, body, user):
        return queries.certification_view(issue_certification(session, body, user=user))
    return write(action, schemas.CertificationOut())


@bp.get("/certifications/<int:cert_id>")
@operation(summary="One certificate", response=schemas.CertificationOut, errors=(401,))
def certification(cert_id: int):
    api_user()
    return jsonify(schemas.CertificationOut().dump(
        queries.certification_view(get_certification(db.session(), cert_id))))


@bp.post("/certifications/<int:cert_id>/revoke")
@operation(summary="Revoke a certificate with a reason (certifier)", request=schemas.ReasonIn,
           response=schemas.CertificationOut, errors=(400, 401, 403, 409))
def revoke(cert_id: int):
    def action(session, body, user):
        return queries.certification_view(revoke_certification(session, cert_id, body, user=user))
    return write(action, schemas.CertificationOut(), status=200)


# -- 合格证 -------------------------------------------------------------------------------

@bp.get("/batches/<code>/compliance-certificates")
@operation(summary="The batch's 合格证", response=schemas.ComplianceList, errors=(401,))
def compliance_certificates(code: str):
    api_user()
    session = db.session()
    found = services.get_batch(session, code)
    rows = session.scalars(select(ComplianceCertificate).where(ComplianceCertificate.batch_id == found.id)
                           .order_by(ComplianceCertificate.id))
    return jsonify(schemas.ComplianceList().dump({"items": [queries.compliance_view(c, found) for c in rows]}))


@bp.post("/batches/<code>/compliance-certificates")
@operation(summary="Issue a 承诺达标合格证 for the batch (its producer)", request=schemas.ComplianceIn,
           response=schemas.ComplianceOut, status=201, errors=(400, 401, 403, 422))
def create_compliance_certificate(code: str):
    def action(session, body, user):
        found = services.get_batch(session, code)
        return queries.compliance_view(issue_compliance_certificate(session, found, body, user=user), found)
    return write(action, schemas.ComplianceOut())


@bp.post("/batches/<code>/compliance-certificates/<cert_code>/void")
@operation(summary="Void (作废) a 合格证 with a reason (the batch's producer)", request=schemas.ReasonIn,
           response=schemas.ComplianceOut, errors=(400, 401, 403, 409))
def void(code: str, cert_code: str):
    def action(session, body, user):
        found = services.get_batch(session, code)
        cert = get_compliance_certificate(session, cert_code)
        if cert.batch_id != found.id:
            raise NotFound(_("批次 %(code)s 没有编号为 %(cert)s 的合格证。", cert=cert.code, code=found.code))
        return queries.compliance_view(void_compliance_certificate(session, cert, body, user=user), found)
    return write(action, schemas.ComplianceOut(), status=200)
