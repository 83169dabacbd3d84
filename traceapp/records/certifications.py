"""The "三品一标" certificates: recording, revoking, and which ones a batch may show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp import clock
from traceapp.auth.models import User
from traceapp.errors import Conflict, Forbidden, NotFound
from traceapp.i18n import gettext as _
from traceapp.ledger.store import ledger_of
from traceapp.records.access import acting_organization, require_role
from traceapp.records.endings import append_ending, read_reason
from traceapp.records.labels import CERT_KIND
from traceapp.records.models import CERT_KINDS, NEW_CERT_KINDS, PRODUCER_KINDS, Batch, Certification, Organization
from traceapp.records.values import is_row_id
from traceapp.validation import Fields

# Number formats fixed by their scheme; other kinds' numbers are free text.
NUMBER_PATTERNS = {"green_food": r"GF[0-9]{12}", "organic": r"[0-9]{17}"}


def issue_certification(session: Session, data: dict, *, user) -> Certification:
    """Record a certificate held by a producer and append ``certification.issued``.

    A new certificate is of a kind still certified (NEW_CERT_KINDS); its number is checked against
    its kind's format (NUMBER_PATTERNS) whether it comes from a form, the API or the CLI.

    A certifier records its own body's certificates only (Forbidden when ``issuer`` or ``issuer_org``
    names another); an admin enters historical ones for any body, and the entry says so."""
    require_role(user, "certifier")
    recorder = acting_organization(session, user, None, "certification_body") if user.role != "admin" else None
    f = Fields(data)
    # A phased-out kind gets its own message; any other bad value is told the kinds still certified.
    kind = f.choice("kind", CERT_KINDS if data.get("kind") in CERT_KINDS else NEW_CERT_KINDS, CERT_KIND)
    if kind and kind not in NEW_CERT_KINDS:
        f.fail("kind", _("无公害农产品认证已经停止，不能再记录新的无公害农产品证书（已记录的仍可查看）；"
                         "请选择绿色食品、有机农产品或农产品地理标志。"))
    number = f.text("number", max_length=64).upper()
    if kind in NUMBER_PATTERNS and number and not re.fullmatch(NUMBER_PATTERNS[kind], number, re.ASCII):
        f.fail("number", _("绿色食品证书编号必须是 GF 加 12 位数字，例如 GF430225260001。") if kind == "green_food"
               else _("有机码必须是 17 位数字。"))
    holder_id = f.integer("holder")
    holder = session.get(Organization, holder_id) if holder_id is not None else None
    if holder_id is not None and holder is None:
        f.fail("holder", _("没有编号为 %(id)s 的组织。", id=holder_id))
    elif holder is not None and holder.kind not in PRODUCER_KINDS:
        f.fail("holder", _("%(field)s必须是生产主体（合作社、企业、家庭农场或个人）；请选择一家已登记的生产主体。",
                           field=f.label("holder")))
    products = f.text_list("products")
    valid_from, valid_to = f.validity()
    issuer, issuer_org = _read_issuer(session, f, recorder)
    f.check()
    if session.scalar(select(Certification.id).where(Certification.kind == kind, Certification.number == number)):
        raise Conflict(_("证书编号 %(number)s 已经登记过。", number=number), {"number": "duplicate"})
    cert = Certification(kind=kind, number=number, holder_id=holder.id, products=products, valid_from=valid_from,
                         valid_to=valid_to, issuer=issuer, issuer_id=issuer_org.id if issuer_org else None,
                         entered_by_admin=recorder is None, recorded_by=user.username, ledger_seq=-1)
    session.add(cert)
    session.flush()
    entry = ledger_of(session).append(session, "certification.issued", user.actor(), f"certification:{cert.id}",
                                      certification_record(cert))
    cert.ledger_seq = entry.seq
    return cert


def _read_issuer(session: Session, f: Fields, recorder: Organization | None) -> tuple[str, Organization | None]:
    """Return the issuer's name and registered body. A certifier's is its own organization: naming another
    is Forbidden, as that body could then revoke the certificate. An admin names a registered
    certification body (``issuer_org``) or, for one not registered here, its name (``issuer``)."""
    name = f.text("issuer", required=False, max_length=200)
    org_id = f.integer("issuer_org", required=False)
    if recorder is not None:
        if (name and name != recorder.name) or (org_id is not None and org_id != recorder.id):
            message = _("认证机构只能登记本机构（%(body)s）颁发的证书，“发证机构”不能填写其他机构；"
                        "其他机构颁发的历史证书请由管理员补录。", body=recorder.name)
            raise Forbidden(message, {"issuer_org" if org_id is not None and not name else "issuer": message})
        return recorder.name, recorder
    if org_id is None:
        if not name and "issuer" not in f.errors:
            f.fail("issuer", _("请填写“发证机构”：选择已登记的认证机构，或填写未在本系统登记的发证机构名称。"))
        return name, None
    org = session.get(Organization, org_id)
    if org is None or org.kind != "certification_body":
        f.fail("issuer_org", _("“发证机构”必须是已登记的认证机构的编号；请从列表中选择一家认证机构。"))
        return name, None
    if name and name != org.name:
        f.fail("issuer", _("“发证机构”名称与所选认证机构 %(body)s 不一致；请只选机构，或填写其登记名称。",
                           body=org.name))
    return org.name, org


def certification_record(cert: Certification) -> dict:
    """Return the fields of a certificate as they go into its ``certification.issued`` entry."""
    record = {"kind": cert.kind, "number": cert.number, "holder": f"org:{cert.holder_id}",
              "products": cert.products, "valid_from": cert.valid_from.isoformat(),
              "valid_to": cert.valid_to.isoformat(), "issuer": cert.issuer}
    # Only when set, so that entries written before issuers were tied to bodies still match their rows.
    if cert.issuer_id is not None:
        record["issuer_org"] = f"org:{cert.issuer_id}"
    if cert.entered_by_admin:
        record["entered_by_admin"] = True
    return record


def get_certification(session: Session, cert_id) -> Certification:
    cert = session.get(Certification, cert_id) if is_row_id(cert_id) else None
    if cert is None:
        raise NotFound(_("没有编号为 %(id)s 的证书。", id=cert_id))
    return cert


def revoke_certification(session: Session, cert_id: int, data: dict, *, user) -> Certification:
    """Revoke a certificate with a reason and append ``certification.revoked``.

    Only the certification body that issued the certificate may revoke it, or an admin; raises
    Forbidden for anyone else."""
    require_role(user, "certifier")
    cert = get_certification(session, cert_id)
    if user.role != "admin":
        body = acting_organization(session, user, None, "certification_body")
        if issuing_body(session, cert) != body.id:
            raise Forbidden(_("只有颁发证书 %(number)s 的认证机构（或管理员）能撤销它。", number=cert.number))
    reason = read_reason(data)
    if cert.revoked_on is not None:
        raise Conflict(_("证书 %(number)s 已于 %(date)s 撤销。", number=cert.number, date=cert.revoked_on.isoformat()))
    cert.revoked_on, cert.revoke_seq = append_ending(session, user=user, kind="certification.revoked",
                                                     subject=f"certification:{cert.id}", date_key="revoked_on",
                                                     reason=reason)
    cert.revoke_reason = reason
    return cert


def issuing_body(session: Session, cert: Certification) -> int | None:
    """Return the id of the registered certification body that issued ``cert``, or None.

    Certificates recorded before issuers were tied to bodies name theirs as free text, which the
    recorder could set to any body: for those, the recording certifier's organization stands."""
    if cert.issuer_id is not None or cert.entered_by_admin:
        return cert.issuer_id
    return session.scalar(select(User.organization_id).where(User.username == cert.recorded_by,
                                                             User.role == "certifier"))


@dataclass(frozen=True)
class ShownCertificate:
    """A certificate as a batch shows it: ``status`` is valid, expired or revoked."""

    certification: Certification
    status: str


def certificates_for_batch(session: Session, batch: Batch, today: date | None = None) -> list[ShownCertificate]:
    """Return the certificates a batch may show: held by its producer, covering its product and
    valid on its harvest date. One expired since, or revoked, is shown as such, never as valid."""
    today = today or clock.today()
    rows = session.scalars(select(Certification).where(Certification.holder_id == batch.organization_id)
                           .order_by(Certification.id))
    return [ShownCertificate(cert, status) for cert in rows
            if (status := certificate_status(cert, batch, today)) is not None]


def certificate_status(cert, batch, today: date) -> str | None:
    """Return how a batch shows a certificate of its producer: ``valid``, ``expired`` (since) or
    ``revoked``; None when it does not cover the batch's product or harvest date."""
    if batch.product not in cert.products or not cert.valid_from <= batch.harvest_date <= cert.valid_to:
        return None
    if cert.revoked_on is not None:
        return "revoked"
    return "expired" if cert.valid_to < today else "valid"

