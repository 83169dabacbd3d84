"""Lists and searches of records: a producer's batches, the regulator's search across every batch,
an inspection body's inspections and a certification body's certificates, each narrowed by what a
person types and read a page at a time.

Who sees what is decided here, so the pages and the CSV share one rule: a producer reads its own
organization's batches, an inspector its own body's inspections, a certifier the certificates its
body issued, a regulator and an admin everything. Others get Forbidden.

Pages are keyset pages (the next page starts after the last row's sort key, sent back as ``after``),
so page 200 costs what page 1 does. Counts stop at ``COUNT_CAP``: an exact count of a broad filter
reads every matching index entry on each view (a regulator's unfiltered list would read all the
batches), while a person narrowing a search only needs to know that there are "more than 10,000"."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, and_, exists, func, not_, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from traceapp.audit.filters import Filters, read_filters, value_of
from traceapp.auth.models import User
from traceapp.brands.models import Brand
from traceapp.errors import Forbidden, InvalidField
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l
from traceapp.ledger.store import LedgerEntry
from traceapp.pickers import resolve
from traceapp.records import regions
from traceapp.records.codes import CODE_LENGTH
from traceapp.records.labels import CERT_KIND, CERT_STATUS, ROLE, VERDICT, label_of
from traceapp.records.models import (
    CERT_KINDS,
    PRODUCER_KINDS,
    VERDICTS,
    Batch,
    Certification,
    CodeState,
    Inspection,
    Organization,
)
from traceapp.records.recalls import LIFTED, RECALLED

PAGE_SIZE = 20
COUNT_CAP = 10_000
CSV_CHUNK = 1000
STATES = ("active", "recalled", "frozen", "void")
STATE = {"active": _l("正常"), "recalled": _l("已召回"), "frozen": _l("已冻结"), "void": _l("已作废")}
CERT_STATUSES = ("valid", "expired", "revoked")
# How messages name each search field: the words the search forms show.
LABELS = {"code": _l("批次码"), "product": _l("产品名称"), "state": _l("状态"), "after": _l("翻页位置"),
          "verdict": _l("检测结论"), "number": _l("证书编号"), "kind": _l("证书类别"), "status": _l("证书状态"),
          "region": _l("地区"), "brand": _l("品牌"), "producer": _l("生产主体")}
# The certificate list's producer filter is the holder.
CERTIFICATE_LABELS = {**LABELS, "producer": _l("持有人")}
# The date fields of each list, as its search form shows them.
HARVEST_DATES = (_l("采收日期从"), _l("采收日期到"))
INSPECTION_DATES = (_l("检测日期从"), _l("检测日期到"))
VALIDITY_END = _l("有效期止不晚于")
_SUBJECT_PREFIX = len("batch:")


def _named(key: str) -> str:
    return str(LABELS[key])


# --- who sees what -------------------------------------------------------------------------


def batch_scope(user) -> int | None:
    """Return the organization whose batches the user may list (None: every organization); raise
    Forbidden for roles that have no batch list."""
    if user.role in ("admin", "regulator"):
        return None
    if user.role == "producer" and user.organization_id is not None:
        return user.organization_id
    raise Forbidden(_("%(role)s的账号没有批次列表；批次列表供生产主体人员、监管人员和管理员使用。",
                      role=label_of(ROLE, user.role)))


def inspection_scope(user) -> int | None:
    """Return the inspection body whose inspections the user may list (None: every body); raise Forbidden."""
    if user.role in ("admin", "regulator"):
        return None
    if user.role == "inspector" and user.organization_id is not None:
        return user.organization_id
    raise Forbidden(_("%(role)s的账号没有检测记录列表；检测记录列表供检测人员、监管人员和管理员使用。",
                      role=label_of(ROLE, user.role)))


def certificate_scope(user) -> int | None:
    """Return the certification body whose certificates the user may list (None: every one); raise Forbidden."""
    if user.role in ("admin", "regulator"):
        return None
    if user.role == "certifier" and user.organization_id is not None:
        return user.organization_id
    raise Forbidden(_("%(role)s的账号没有证书列表；证书列表供认证人员、监管人员和管理员使用。",
                      role=label_of(ROLE, user.role)))


# --- reading what was typed ----------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, the ``after`` value of the next page (None on the last), and the
    count of every matching row, capped (``capped``: there are more than ``count``)."""

    rows: list
    next_after: str | None
    count: int
    capped: bool


@dataclass(frozen=True)
class BatchSearch:
    """What a batch list is narrowed to. ``organization_id`` is the scope (a producer's own), not a filter."""

    organization_id: int | None = None
    filters: Filters = field(default_factory=Filters)
    code: str | None = None
    product: str | None = None
    state: str | None = None

    def args(self) -> dict[str, str]:
        """Return the search as query-string arguments (links to the next page and the CSV)."""
        extra = {"code": self.code, "product": self.product, "state": self.state}
        return {**self.filters.args(), **{k: v for k, v in extra.items() if v}}


def read_batch_search(session: Session, args: Mapping[str, str], user) -> BatchSearch:
    """Return the batch search the query string asks for, scoped to what the user may see; raise
    Forbidden or InvalidField (naming the first bad field by its label)."""
    scope = batch_scope(user)
    if scope is not None:  # a producer's list is its own: the producer filter does not apply
        args = {k: v for k, v in args.items() if k not in ("producer",)}
    args = resolve.filter_args(session, args, user, labels=LABELS, producer_kinds=PRODUCER_KINDS)
    picked = read_filters(session, {k: v for k, v in args.items() if k not in ("from", "to")},
                          producers_only=True)
    date_from, date_to = _dates(args, HARVEST_DATES)
    filters = Filters(picked.region, picked.brand, picked.producer, date_from, date_to)
    return BatchSearch(scope, filters, code=_code(args), product=_text(args, "product"),
                       state=_choice(args, "state", STATES, STATE))


def _code(args: Mapping[str, str]) -> str | None:
    value = value_of(args, "code")
    if value is None:
        return None
    code = value.upper()
    if len(code) > 16 or not re.fullmatch(r"[0-9A-Z]+", code):
        raise InvalidField("code", _("%(field)s只包含字母和数字（可以只填开头几位），收到的是“%(value)s”。",
                                     field=_named("code"), value=value[:40]))
    return code


def _text(args: Mapping[str, str], name: str, max_length: int = 100) -> str | None:
    value = value_of(args, name)
    if value is not None and len(value) > max_length:
        raise InvalidField(name, _("%(field)s最多 %(max)d 个字符。", field=_named(name), max=max_length))
    return value


def _choice(args: Mapping[str, str], name: str, choices: tuple[str, ...], shown: dict) -> str | None:
    value = value_of(args, name)
    if value is None:
        return None
    if value not in choices:
        raise InvalidField(name, _("%(field)s必须是以下之一：%(choices)s。", field=_named(name),
                                   choices=_("、").join(str(shown[c]) for c in choices)))
    return value


def _date(args: Mapping[str, str], name: str, label) -> date | None:
    raw = value_of(args, name)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidField(name, _("%(field)s必须是 YYYY-MM-DD 格式的日期，例如 2026-08-01；收到的是“%(value)s”。",
                                   field=str(label), value=raw[:40])) from None


def _dates(args: Mapping[str, str], labels: tuple) -> tuple[date | None, date | None]:
    """Return the ``from`` and ``to`` dates (both included), named in messages by ``labels``."""
    start, end = _date(args, "from", labels[0]), _date(args, "to", labels[1])
    if start and end and start > end:
        raise InvalidField("from", _("%(from)s（%(start)s）不能晚于%(to)s（%(end)s）。", start=start.isoformat(),
                                     end=end.isoformat(), **{"from": str(labels[0]), "to": str(labels[1])}))
    return start, end


def _after(args: Mapping[str, str]) -> tuple[date, int] | None:
    """Return the sort key (date, id) a page starts after, from ``after`` = ``YYYY-MM-DD.id``."""
    value = value_of(args, "after")
    if value is None:
        return None
    found = re.fullmatch(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.([1-9][0-9]{0,17})", value)
    try:
        if found is None:
            raise ValueError(value)
        return date.fromisoformat(found.group(1)), int(found.group(2))
    except ValueError:
        raise InvalidField("after", _("%(field)s无效，请回到列表的第一页重新翻页。", field=_named("after"))) from None


def _after_id(args: Mapping[str, str]) -> int | None:
    value = value_of(args, "after")
    if value is None:
        return None
    if not re.fullmatch(r"[1-9][0-9]{0,17}", value):
        raise InvalidField("after", _("%(field)s无效，请回到列表的第一页重新翻页。", field=_named("after")))
    return int(value)


# --- batches -------------------------------------------------------------------------------


@functools.cache
def _recalled_codes() -> Select:
    """A subquery of the codes of batches that stand recalled (their latest recall entry is a recall):
    recalls are ledger facts without a projection row, and few."""
    latest = (select(LedgerEntry.subject, func.max(LedgerEntry.seq).label("seq"))
              .where(LedgerEntry.kind.in_((RECALLED, LIFTED))).group_by(LedgerEntry.subject).subquery())
    return (select(func.substr(LedgerEntry.subject, _SUBJECT_PREFIX + 1))
            .join(latest, LedgerEntry.seq == latest.c.seq).where(LedgerEntry.kind == RECALLED))


def _code_state(state: str):
    # an alias: the list's own statement joins code_states, and would correlate the table away
    states = aliased(CodeState)
    return select(states.batch_id).where(states.state == state)


def _state_clause(state: str):
    """Keep batches in ``state``. A batch has one state shown: void, else recalled, else frozen, else active."""
    recalled = Batch.code.in_(_recalled_codes())
    if state == "void":
        return Batch.id.in_(_code_state("void"))
    if state == "recalled":
        return and_(recalled, Batch.id.not_in(_code_state("void")))
    if state == "frozen":
        return and_(Batch.id.in_(_code_state("frozen")), not_(recalled))
    states = aliased(CodeState)
    return and_(~exists().where(states.batch_id == Batch.id), not_(recalled))


def batch_clauses(search: BatchSearch) -> list:
    """Return the WHERE clauses of a batch search (the harvest date within from/to)."""
    clauses = search.filters.batch_clauses(Batch) + search.filters.date_clauses(Batch.harvest_date)
    if search.organization_id is not None:
        clauses.append(Batch.organization_id == search.organization_id)
    if search.code:
        clauses.append(code_clause(Batch.code, search.code))
    if search.product:
        clauses.append(Batch.product.contains(search.product, autoescape=True))
    if search.state:
        clauses.append(_state_clause(search.state))
    return clauses


def code_clause(column, code: str):
    """Keep the code ``code``, or the codes starting with it when it is shorter than a code."""
    return column == code if len(code) == CODE_LENGTH else column.startswith(code, autoescape=True)


def capped_count(session: Session, query) -> tuple[int, bool]:
    """Return (rows of ``query``, up to COUNT_CAP; whether there are more)."""
    counted = session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP + 1).subquery()))
    return min(counted, COUNT_CAP), counted > COUNT_CAP


def listing(*clauses) -> Select:
    """The batches a list shows, as rows of what it shows of each: its fields with its producer's and
    brand's names and its code state, in one statement (each join is a lookup by key)."""
    return (select(Batch.id, Batch.code, Batch.product, Batch.category, Batch.brand, Batch.quantity, Batch.unit,
                   Batch.harvest_date, Batch.origin_region, Batch.base, Batch.organization_id,
                   Organization.name.label("producer"), Brand.name.label("brand_name"),
                   CodeState.state.label("code_state"))
            .join(Organization, Organization.id == Batch.organization_id)
            .outerjoin(Brand, Brand.slug == Batch.brand)
            .outerjoin(CodeState, CodeState.batch_id == Batch.id)
            .where(*clauses))


def search_batches(session: Session, search: BatchSearch, args: Mapping[str, str] | None = None,
                   limit: int = PAGE_SIZE) -> Page:
    """Return one page of the batches ``search`` finds, newest harvest first (``args``: the query string,
    for ``after``), each row a dict with the batch's state, producer and brand names."""
    clauses = batch_clauses(search)
    after = _after(args or {})
    query = listing(*clauses)
    if after is not None:
        query = query.where(tuple_(Batch.harvest_date, Batch.id) < tuple_(*after))
    rows = session.execute(query.order_by(Batch.harvest_date.desc(), Batch.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if more or after is not None:
        count, capped = capped_count(session, select(Batch.id).where(*clauses))
    else:  # the first page holds every match: no need to count them again
        count, capped = len(rows), False
    last = rows[-1] if more else None
    return Page(batch_rows(session, rows), f"{last.harvest_date.isoformat()}.{last.id}" if last else None,
                count, capped)


def batch_rows(session: Session, rows: list) -> list[dict]:
    """Return what a list shows of each batch (rows of ``listing``): its fields, state shown, producer
    name, brand name and place. Recalls are ledger facts: one more statement finds the recalled."""
    if not rows:
        return []
    recalled = set(session.scalars(_recalled_codes().where(
        LedgerEntry.subject.in_([f"batch:{r.code}" for r in rows]))))
    found = []
    for r in rows:
        state = r.code_state
        shown = "void" if state == "void" else "recalled" if r.code in recalled else state or "active"
        found.append({"id": r.id, "code": r.code, "product": r.product, "category": r.category, "brand": r.brand,
                      "brand_name": (r.brand_name or r.brand) if r.brand else None, "quantity": r.quantity,
                      "unit": r.unit, "harvest_date": r.harvest_date, "origin_region": r.origin_region,
                      "origin_name": regions.full_name(r.origin_region), "base": r.base,
                      "producer_id": r.organization_id, "producer": r.producer or "", "state": shown})
    return found


def all_batches(session: Session, search: BatchSearch) -> Iterator[dict]:
    """Yield every batch ``search`` finds (as ``batch_rows``), newest harvest first, a chunk at a time (the CSV)."""
    clauses = batch_clauses(search)
    after = None
    while True:
        query = listing(*clauses)
        if after is not None:
            query = query.where(tuple_(Batch.harvest_date, Batch.id) < tuple_(*after))
        chunk = session.execute(query.order_by(Batch.harvest_date.desc(), Batch.id.desc()).limit(CSV_CHUNK)).all()
        yield from batch_rows(session, chunk)
        if len(chunk) < CSV_CHUNK:
            return
        after = (chunk[-1].harvest_date, chunk[-1].id)


# --- inspections ---------------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionSearch:
    body_id: int | None = None
    code: str | None = None
    product: str | None = None
    verdict: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def args(self) -> dict[str, str]:
        values = {"code": self.code, "product": self.product, "verdict": self.verdict,
                  "from": self.date_from.isoformat() if self.date_from else None,
                  "to": self.date_to.isoformat() if self.date_to else None}
        return {k: v for k, v in values.items() if v}


def read_inspection_search(session: Session, args: Mapping[str, str], user) -> InspectionSearch:
    """Return the inspection search the query string asks for, scoped to the user's body (inspectors)."""
    scope = inspection_scope(user)
    date_from, date_to = _dates(args, INSPECTION_DATES)
    return InspectionSearch(scope, _code(args), _text(args, "product"), _choice(args, "verdict", VERDICTS, VERDICT),
                            date_from, date_to)


def inspection_clauses(search: InspectionSearch) -> list:
    clauses = []
    if search.body_id is not None:
        clauses.append(Inspection.body_id == search.body_id)
    if search.code:
        clauses.append(code_clause(Batch.code, search.code))
    if search.product:
        clauses.append(Batch.product.contains(search.product, autoescape=True))
    if search.verdict:
        clauses.append(Inspection.verdict == search.verdict)
    if search.date_from:
        clauses.append(Inspection.inspected_on >= search.date_from)
    if search.date_to:
        clauses.append(Inspection.inspected_on <= search.date_to)
    return clauses


def _inspection_query(search: InspectionSearch, *columns):
    return select(*columns).join(Batch, Batch.id == Inspection.batch_id).where(*inspection_clauses(search))


def search_inspections(session: Session, search: InspectionSearch, args: Mapping[str, str] | None = None,
                       limit: int = PAGE_SIZE) -> Page:
    """Return one page of the inspections ``search`` finds, latest first: rows of (inspection, batch, body name)."""
    after = _after(args or {})
    query = _inspection_query(search, Inspection, Batch)
    if after is not None:
        query = query.where(tuple_(Inspection.inspected_on, Inspection.id) < tuple_(*after))
    found = session.execute(query.order_by(Inspection.inspected_on.desc(), Inspection.id.desc()).limit(limit + 1)).all()
    more = len(found) > limit
    found = found[:limit]
    count, capped = capped_count(session, _inspection_query(search, Inspection.id))
    last = found[-1][0] if more else None
    return Page(inspection_rows(session, found), f"{last.inspected_on.isoformat()}.{last.id}" if last else None,
                count, capped)


def inspection_rows(session: Session, found) -> list[dict]:
    bodies = dict(session.execute(select(Organization.id, Organization.name).where(
        Organization.id.in_({i.body_id for i, _b in found}))).all()) if found else {}
    return [{"id": i.id, "report_no": i.report_no, "inspected_on": i.inspected_on, "verdict": i.verdict,
             "body": bodies.get(i.body_id, ""), "code": b.code, "product": b.product, "items": len(i.items or [])}
            for i, b in found]


def all_inspections(session: Session, search: InspectionSearch) -> Iterator[dict]:
    """Yield every inspection ``search`` finds, latest first, a chunk at a time (the CSV)."""
    after = None
    while True:
        query = _inspection_query(search, Inspection, Batch)
        if after is not None:
            query = query.where(tuple_(Inspection.inspected_on, Inspection.id) < tuple_(*after))
        chunk = session.execute(query.order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
                                .limit(CSV_CHUNK)).all()
        yield from inspection_rows(session, chunk)
        if len(chunk) < CSV_CHUNK:
            return
        after = (chunk[-1][0].inspected_on, chunk[-1][0].id)
        session.expunge_all()


# --- certificates --------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateSearch:
    issuer_id: int | None = None
    number: str | None = None
    holder: int | None = None
    kind: str | None = None
    status: str | None = None
    ending_by: date | None = None  # valid_to on or before (with status valid: ending soon)

    def args(self) -> dict[str, str]:
        values = {"number": self.number, "producer": str(self.holder) if self.holder else None, "kind": self.kind,
                  "status": self.status, "to": self.ending_by.isoformat() if self.ending_by else None}
        return {k: v for k, v in values.items() if v}


def read_certificate_search(session: Session, args: Mapping[str, str], user) -> CertificateSearch:
    """Return the certificate search the query string asks for, scoped to the user's body (certifiers).
    ``producer`` is the holder, ``to`` the last day of validity."""
    scope = certificate_scope(user)
    args = resolve.filter_args(session, {k: v for k, v in args.items() if k != "region" and k != "brand"}, user,
                               labels=CERTIFICATE_LABELS, producer_kinds=PRODUCER_KINDS)
    picked = read_filters(session, {k: v for k, v in args.items() if k == "producer"}, producers_only=True)
    return CertificateSearch(scope, _text(args, "number", 64), picked.producer,
                             _choice(args, "kind", CERT_KINDS, CERT_KIND),
                             _choice(args, "status", CERT_STATUSES, CERT_STATUS), _date(args, "to", VALIDITY_END))


def issued_by(body_id: int):
    """Keep the certificates the body issued, as ``records.certifications.issuing_body`` decides: those tied
    to it, and the older ones without a tie that one of its certifiers recorded."""
    recorders = select(User.username).where(User.organization_id == body_id, User.role == "certifier")
    return or_(Certification.issuer_id == body_id,
               and_(Certification.issuer_id.is_(None), Certification.entered_by_admin.is_(False),
                    Certification.recorded_by.in_(recorders)))


def certificate_clauses(search: CertificateSearch, today: date) -> list:
    clauses = []
    if search.issuer_id is not None:
        clauses.append(issued_by(search.issuer_id))
    if search.number:
        clauses.append(Certification.number.contains(search.number, autoescape=True))
    if search.holder:
        clauses.append(Certification.holder_id == search.holder)
    if search.kind:
        clauses.append(Certification.kind == search.kind)
    if search.status == "revoked":
        clauses.append(Certification.revoked_on.is_not(None))
    elif search.status == "expired":
        clauses += [Certification.revoked_on.is_(None), Certification.valid_to < today]
    elif search.status == "valid":
        clauses += [Certification.revoked_on.is_(None), Certification.valid_to >= today]
    if search.ending_by:
        clauses.append(Certification.valid_to <= search.ending_by)
    return clauses


def certificate_status(cert: Certification, today: date) -> str:
    return "revoked" if cert.revoked_on else ("expired" if cert.valid_to < today else "valid")


def search_certificates(session: Session, search: CertificateSearch, today: date,
                        args: Mapping[str, str] | None = None, limit: int = PAGE_SIZE) -> Page:
    """Return one page of the certificates ``search`` finds, newest first: rows of (certificate, holder)."""
    clauses = certificate_clauses(search, today)
    after = _after_id(args or {})
    query = (select(Certification, Organization).join(Organization, Organization.id == Certification.holder_id)
             .where(*clauses))
    if after is not None:
        query = query.where(Certification.id < after)
    found = session.execute(query.order_by(Certification.id.desc()).limit(limit + 1)).all()
    more = len(found) > limit
    found = found[:limit]
    count, capped = capped_count(session, select(Certification.id).where(*clauses))
    return Page(found, str(found[-1][0].id) if more else None, count, capped)


def all_certificates(session: Session, search: CertificateSearch, today: date) -> Iterator[dict]:
    """Yield every certificate ``search`` finds, newest first, a chunk at a time (the CSV)."""
    clauses = certificate_clauses(search, today)
    after = None
    while True:
        query = (select(Certification, Organization.name).join(Organization, Organization.id == Certification.holder_id)
                 .where(*clauses))
        if after is not None:
            query = query.where(Certification.id < after)
        chunk = session.execute(query.order_by(Certification.id.desc()).limit(CSV_CHUNK)).all()
        for cert, holder in chunk:
            yield {"kind": cert.kind, "number": cert.number, "holder": holder, "products": "、".join(cert.products),
                   "valid_from": cert.valid_from.isoformat(), "valid_to": cert.valid_to.isoformat(),
                   "issuer": cert.issuer, "status": certificate_status(cert, today),
                   "revoked_on": cert.revoked_on.isoformat() if cert.revoked_on else "",
                   "revoke_reason": cert.revoke_reason or ""}
        if len(chunk) < CSV_CHUNK:
            return
        after = chunk[-1][0].id
        session.expunge_all()


def ending_soon(session: Session, issuer_id: int | None, today: date, until: date, limit: int = 20) -> list:
    """Return the body's valid certificates whose validity ends by ``until``, soonest first: (certificate, holder)."""
    clauses = [Certification.revoked_on.is_(None), Certification.valid_to >= today, Certification.valid_to <= until]
    if issuer_id is not None:
        clauses.append(issued_by(issuer_id))
    return session.execute(select(Certification, Organization).join(Organization,
                                                                     Organization.id == Certification.holder_id)
                           .where(*clauses).order_by(Certification.valid_to, Certification.id).limit(limit)).all()
