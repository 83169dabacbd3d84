"""Every risk rule of the regulator's desk, in one module. A rule has a stable ``name`` and a
``version`` (raise it whenever what the rule finds changes, so a finding always says which rule
raised it), a Chinese title and description (English through the catalog), the columns its list
shows, and ``query(ctx)``: ONE SQL statement returning its findings with the list's filters applied.

The statements aggregate and join in the database (grouped sums, window functions, a recursive
CTE for the downstream batches, correlated EXISTS on indexed columns); nothing is read row by row
or loaded whole into Python, so they stay usable on a registry of a million batches.

Filters mean, for every rule: ``region`` the place the finding is about (a batch's origin; a
producer's or licensee's registered region), ``brand`` the batch's brand (a licence's brand; for
producers: licensees of the brand), ``producer`` the batch's producer (a licensee; the producer),
``from``/``to`` the finding's date (named per rule in ``date_label``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from traceapp import clock
from traceapp.audit.filters import Filters, region_codes
from traceapp.audit.risk.sql import days_between, json_list_has, seconds_before
from traceapp.brands.models import Brand, License
from traceapp.brands.services import KG
from traceapp.i18n import lazy_gettext as _l
from traceapp.ledger.store import LedgerEntry
from traceapp.public.models import Scan
from traceapp.records.lineage import MAX_DEPTH
from traceapp.records.models import Batch, BatchInput, Certification, ComplianceCertificate, Inspection, Organization
from traceapp.records.recalls import LIFTED, RECALLED


@dataclass(frozen=True)
class Settings:
    """The rules' thresholds (config keys in ``from_config``)."""

    cap_percent: int = 90  # RISK_CAP_PERCENT: a licence's use at or above this share of its yearly cap
    repeat_failures: int = 2  # RISK_REPEAT_FAILURES failed inspections of one producer ...
    repeat_days: int = 365  # ... at most RISK_REPEAT_DAYS apart
    scan_clients: int = 10  # the consumer page's SCAN_ALERT_CLIENTS distinct clients ...
    scan_regions: int = 5  # ... or SCAN_ALERT_REGIONS distinct regions ...
    scan_window: float = 3600  # ... within SCAN_ALERT_WINDOW seconds

    @classmethod
    def from_config(cls, config) -> Settings:
        return cls(cap_percent=int(config.get("RISK_CAP_PERCENT", cls.cap_percent)),
                   repeat_failures=max(1, int(config.get("RISK_REPEAT_FAILURES", cls.repeat_failures))),
                   repeat_days=int(config.get("RISK_REPEAT_DAYS", cls.repeat_days)),
                   scan_regions=int(config.get("SCAN_ALERT_REGIONS", cls.scan_regions)),
                   scan_clients=int(config.get("SCAN_ALERT_CLIENTS", cls.scan_clients)),
                   scan_window=float(config.get("SCAN_ALERT_WINDOW", cls.scan_window)))


@dataclass(frozen=True)
class Context:
    """What a rule's query is built for: the filters, today's date, the thresholds, the SQL dialect."""

    filters: Filters = field(default_factory=Filters)
    today: date = field(default_factory=clock.today)
    settings: Settings = field(default_factory=Settings)
    dialect: str = "sqlite"

    def region(self, column) -> list:
        return [column.in_(region_codes(self.filters.region))] if self.filters.region else []

    def brand(self, column) -> list:
        return [column == self.filters.brand] if self.filters.brand else []

    def producer(self, column) -> list:
        return [column == self.filters.producer] if self.filters.producer else []

    def dates(self, column) -> list:
        """Clauses keeping a DATE column within from/to (both included)."""
        return self.filters.date_clauses(column)

    def times(self, column) -> list:
        """Clauses keeping a DATETIME column (naive UTC) within the days from/to (both included)."""
        f = self.filters
        return (([column >= datetime.combine(f.date_from, time())] if f.date_from else [])
                + ([column <= datetime.combine(f.date_to, time.max)] if f.date_to else []))

    def batches(self, batch=Batch) -> list:
        """The region, brand and producer clauses for findings about a batch."""
        return self.filters.batch_clauses(batch)


@dataclass(frozen=True)
class Column:
    """A column of a rule's list: the finding's key, its heading and how it is shown (``kind``: text,
    batch, brand, organization, region, date, time, quantity, percent, reason, yes_no)."""

    key: str
    label: object
    kind: str = "text"


@dataclass(frozen=True)
class Rule:
    name: str
    version: int
    title: object
    description: object
    date_label: object  # what from/to filter
    columns: tuple[Column, ...]
    query: Callable[[Context], Select]
    shape: Callable[[dict], dict] | None = None  # per-row touches after the query


REASONS = {"revoked": _l("已撤销"), "expired": _l("已过期"), "near": _l("接近上限"), "over": _l("超出上限"),
           "clients": _l("短时间内多个客户端查询"), "regions": _l("短时间内多个地区查询")}


def _batch_columns(batch=Batch) -> tuple:
    return (batch.code.label("batch_code"), batch.product.label("product"), batch.brand.label("brand"),
            batch.harvest_date.label("harvest_date"), batch.origin_region.label("region"))


def _org_columns(org=Organization) -> tuple:
    return org.id.label("organization_id"), org.name.label("organization_name")


def _producer_columns(batch=Batch) -> tuple:
    """The batch's producer: its name by primary key per row found, rather than a join whose row estimate
    (after the rules' JSON and date conditions) can lead PostgreSQL's planner into a nested loop over every
    organization; a count never reads it."""
    name = select(Organization.name).where(Organization.id == batch.organization_id).scalar_subquery()
    return batch.organization_id.label("organization_id"), name.label("organization_name")


BATCH = (Column("batch_code", _l("批次"), "batch"), Column("product", _l("产品")),
         Column("organization_name", _l("生产主体"), "organization"), Column("brand_name", _l("品牌"), "brand"),
         Column("region", _l("产地"), "region"))


# -- failed inspections and the batches they touch ----------------------------------------------

def failed_inspection(ctx: Context) -> Select:
    """Each failed inspection with the batch it inspected (depth 0) and every batch made from that one
    downstream through batch_inputs (depth 1, 2, …: one recursive CTE carrying the inspection's columns,
    each batch once per inspection at its shortest depth)."""
    inspected = aliased(Batch, name="inspected")
    start = (select(Inspection.id.label("inspection_id"), inspected.code.label("inspected_code"),
                    Inspection.inspected_on.label("day"), Inspection.report_no.label("report_no"),
                    Inspection.body_id.label("body_id"), Inspection.batch_id.label("batch_id"),
                    literal(0, Integer).label("depth"))
             .join(inspected, inspected.id == Inspection.batch_id)
             .where(Inspection.verdict == "fail", *ctx.dates(Inspection.inspected_on)))
    reach = start.cte("failed_reach", recursive=True)
    reach = reach.union(select(reach.c.inspection_id, reach.c.inspected_code, reach.c.day, reach.c.report_no,
                               reach.c.body_id, BatchInput.batch_id, reach.c.depth + 1)
                        .join(BatchInput, BatchInput.input_id == reach.c.batch_id)
                        .where(reach.c.depth < MAX_DEPTH))
    keys = (reach.c.inspection_id, reach.c.inspected_code, reach.c.day, reach.c.report_no, reach.c.body_id,
            reach.c.batch_id)
    touched = select(*keys, func.min(reach.c.depth).label("depth")).group_by(*keys).subquery("touched")
    body = select(Organization.name).where(Organization.id == touched.c.body_id).scalar_subquery()
    return (select(*_batch_columns(), *_producer_columns(), touched.c.depth, touched.c.inspection_id,
                   touched.c.report_no, touched.c.day, touched.c.inspected_code,
                   body.label("body_name"))
            .select_from(touched)
            .join(Batch, Batch.id == touched.c.batch_id)
            .where(*ctx.batches())
            .order_by(touched.c.day.desc(), touched.c.inspection_id.desc(), touched.c.depth, Batch.code))


# -- batches made from a batch recalled after they were made -------------------------------------

def _standing_kind(batch):
    """The kind of the batch's latest recall or lift entry (NULL when it has none): one backward step
    on the (subject, seq) index."""
    return (select(LedgerEntry.kind)
            .where(LedgerEntry.subject == literal("batch:", String) + batch.code,
                   LedgerEntry.kind.in_((RECALLED, LIFTED)))
            .order_by(LedgerEntry.seq.desc()).limit(1).correlate(batch).scalar_subquery())


def recalled_input(ctx: Context) -> Select:
    """Batches made (directly or through others) from a batch that stands recalled, registered before
    that recall, and not recalled themselves: what a recall of scope ``batch`` left out, for the
    regulator to decide whether to extend it. Driven from the recall entries (few), to each recalled
    batch by code, then down batch_inputs in a recursive CTE (each batch once per recall, at its
    shortest depth)."""
    latest = (select(LedgerEntry.subject.label("subject"), func.max(LedgerEntry.seq).label("seq"))
              .where(LedgerEntry.kind.in_((RECALLED, LIFTED))).group_by(LedgerEntry.subject).subquery("latest"))
    recalled = aliased(Batch, name="recalled")
    start = (select(recalled.id.label("recalled_id"), recalled.code.label("recalled_code"),
                    latest.c.seq.label("recall_seq"), recalled.id.label("batch_id"),
                    literal(0, Integer).label("depth"))
             .select_from(latest)
             .join(LedgerEntry, LedgerEntry.seq == latest.c.seq)
             .join(recalled, recalled.code == func.substr(latest.c.subject, len("batch:") + 1))
             .where(LedgerEntry.kind == RECALLED))
    reach = start.cte("recall_reach", recursive=True)
    reach = reach.union(select(reach.c.recalled_id, reach.c.recalled_code, reach.c.recall_seq, BatchInput.batch_id,
                               reach.c.depth + 1)
                        .join(BatchInput, BatchInput.input_id == reach.c.batch_id)
                        .where(reach.c.depth < MAX_DEPTH))
    keys = (reach.c.recalled_id, reach.c.recalled_code, reach.c.recall_seq, reach.c.batch_id)
    touched = (select(*keys, func.min(reach.c.depth).label("depth")).where(reach.c.depth > 0)
               .group_by(*keys).subquery("touched"))
    return (select(*_batch_columns(), *_producer_columns(), Batch.harvest_date.label("day"), touched.c.depth,
                   touched.c.recalled_code, touched.c.recall_seq)
            .select_from(touched)
            .join(Batch, Batch.id == touched.c.batch_id)
            .where(Batch.ledger_seq < touched.c.recall_seq,
                   func.coalesce(_standing_kind(Batch), "") != RECALLED,
                   *ctx.batches(), *ctx.dates(Batch.harvest_date))
            .order_by(touched.c.recall_seq.desc(), touched.c.depth, Batch.code))


# -- batches under a licence that ended, or a certificate since revoked --------------------------

def license_ended(ctx: Context) -> Select:
    """Branded batches whose licence (same brand, held by the producer, valid on the harvest date, covering
    the product) has been revoked, or has expired, with no other such licence still in force. Driven from
    the ended licences, to the licensee's batches of the brand in the licence's dates."""
    other = aliased(License, name="other")
    still_licensed = exists(select(1).select_from(other).where(
        other.brand_id == License.brand_id, other.licensee_id == License.licensee_id, other.revoked_on.is_(None),
        other.valid_to >= ctx.today, other.valid_from <= Batch.harvest_date, other.valid_to >= Batch.harvest_date,
        json_list_has(ctx.dialect, other.products, Batch.product)))
    return (select(*_batch_columns(), *_producer_columns(), Batch.harvest_date.label("day"),
                   License.id.label("license_id"),
                   case((License.revoked_on.isnot(None), "revoked"), else_="expired").label("reason"),
                   func.coalesce(License.revoked_on, License.valid_to).label("ended_on"),
                   License.revoke_reason.label("revoke_reason"),
                   case((License.revoke_seq.is_(None), None), (Batch.ledger_seq < License.revoke_seq, 1),
                        else_=0).label("before_revocation"),
                   Brand.name.label("brand_name"))
            .select_from(License)
            .join(Brand, Brand.id == License.brand_id)
            .join(Batch, and_(Batch.brand == Brand.slug, Batch.organization_id == License.licensee_id,
                              Batch.harvest_date >= License.valid_from, Batch.harvest_date <= License.valid_to))
            .where(or_(License.revoked_on.isnot(None), License.valid_to < ctx.today),
                   json_list_has(ctx.dialect, License.products, Batch.product), ~still_licensed,
                   *ctx.batches(), *ctx.dates(Batch.harvest_date))
            .order_by(func.coalesce(License.revoked_on, License.valid_to).desc(), License.id,
                      Batch.harvest_date.desc(), Batch.code))


def _license_ended_row(row: dict) -> dict:
    flag = row["before_revocation"]
    return {**row, "before_revocation": None if flag is None else bool(flag)}


def certificate_revoked(ctx: Context) -> Select:
    """Batches that show a certificate since revoked: the batch page and the consumer page show a
    certificate whose holder is the batch's producer, that covers its product and was valid on its
    harvest date (traceapp.records.certifications.certificates_for_batch). Driven from the revoked
    certificates, to their holder's batches."""
    return (select(*_batch_columns(), *_producer_columns(), Batch.harvest_date.label("day"),
                   Certification.id.label("certification_id"), Certification.kind.label("certificate_kind"),
                   Certification.number.label("certificate_number"), Certification.issuer.label("issuer"),
                   Certification.revoked_on.label("ended_on"), Certification.revoke_reason.label("revoke_reason"))
            .select_from(Certification)
            .join(Batch, and_(Batch.organization_id == Certification.holder_id,
                              Batch.harvest_date >= Certification.valid_from,
                              Batch.harvest_date <= Certification.valid_to))
            .where(Certification.revoked_on.isnot(None),
                   json_list_has(ctx.dialect, Certification.products, Batch.product),
                   *ctx.batches(), *ctx.dates(Batch.harvest_date))
            .order_by(Certification.revoked_on.desc(), Certification.id, Batch.harvest_date.desc(), Batch.code))


# -- licences near or over their yearly cap ------------------------------------------------------

# Grams per unit: quantities in these units are converted as brands.services.in_unit does; others only
# count towards a licence in the same unit.
GRAMS = {unit: int(factor * 1000) for unit, factor in KG.items()}


def license_cap(ctx: Context) -> Select:
    """Each licence and calendar year in which the licensee's batches of the brand reach RISK_CAP_PERCENT
    (90) % of the licence's yearly quantity, or exceed it: the sums of brands.services.used_quantity,
    grouped in one pass over the batches (the covering index of the brand page), converted with the
    factors of in_unit. No division: used × 100 ≥ percent × cap, both scaled to grams for weights."""
    year = cast(extract("year", Batch.harvest_date), Integer)
    f = ctx.filters
    in_years = ([Batch.harvest_date >= date(f.date_from.year, 1, 1)] if f.date_from else []) + (
        [Batch.harvest_date <= date(f.date_to.year, 12, 31)] if f.date_to else [])
    used = (select(Batch.brand.label("brand"), Batch.organization_id.label("organization_id"), year.label("year"),
                   Batch.unit.label("unit"), func.sum(Batch.quantity).label("total"), func.count().label("batches"))
            .where(Batch.brand.isnot(None), *ctx.brand(Batch.brand), *ctx.producer(Batch.organization_id),
                   *in_years)
            .group_by(Batch.brand, Batch.organization_id, year, Batch.unit).subquery("used"))
    weight = case((and_(used.c.unit.in_(GRAMS), License.unit.in_(GRAMS)), case(GRAMS, value=used.c.unit)),
                  (used.c.unit == License.unit, 1), else_=0)
    scale = case((License.unit.in_(GRAMS), case(GRAMS, value=License.unit)), else_=1)
    used_scaled = func.sum(used.c.total * weight)
    cap_scaled = License.quantity * scale
    return (select(Brand.slug.label("brand"), Brand.name.label("brand_name"), *_org_columns(),
                   Organization.region.label("region"), License.id.label("license_id"), used.c.year.label("year"),
                   License.quantity.label("cap"), License.unit.label("unit"), used_scaled.label("used_scaled"),
                   scale.label("scale"), func.sum(used.c.batches).label("batches"),
                   License.valid_from.label("valid_from"), License.valid_to.label("valid_to"),
                   License.revoked_on.label("revoked_on"),
                   case((used_scaled > cap_scaled, "over"), else_="near").label("reason"))
            .select_from(used)
            .join(Brand, Brand.slug == used.c.brand)
            .join(License, and_(License.brand_id == Brand.id, License.licensee_id == used.c.organization_id,
                                cast(extract("year", License.valid_from), Integer) <= used.c.year,
                                cast(extract("year", License.valid_to), Integer) >= used.c.year))
            .join(Organization, Organization.id == License.licensee_id)
            .where(*ctx.region(Organization.region))
            .group_by(License.id, Brand.id, Organization.id, used.c.year)
            .having(used_scaled * 100 >= ctx.settings.cap_percent * cap_scaled)
            .order_by(used.c.year.desc(), (used_scaled * 1.0 / cap_scaled).desc(), License.id))


def _license_cap_row(row: dict) -> dict:
    used = Decimal(str(row.pop("used_scaled"))) / Decimal(row.pop("scale"))
    cap = Decimal(str(row["cap"]))
    return {**row, "year": int(row["year"]), "used": used.quantize(Decimal("0.001")), "cap": cap,
            "share": float(used / cap) if cap else 0.0, "batches": int(row["batches"])}


# -- 合格证 on a self_test basis without a passing inspection -------------------------------------

def self_test_uninspected(ctx: Context) -> Select:
    """Standing (not voided) 合格证 issued on a ``self_test`` basis when no inspection of the batch dated on
    or before the issue date had passed (a later pass, or none, leaves the promise untested when made)."""
    passed_before = exists(select(1).select_from(Inspection).where(
        Inspection.batch_id == ComplianceCertificate.batch_id, Inspection.verdict == "pass",
        Inspection.inspected_on <= ComplianceCertificate.issued_on))
    cited = aliased(Inspection, name="cited")
    return (select(*_batch_columns(), *_producer_columns(), ComplianceCertificate.code.label("certificate_code"),
                   ComplianceCertificate.issued_on.label("day"), ComplianceCertificate.quantity.label("quantity"),
                   Batch.unit.label("unit"), cited.report_no.label("cited_report"),
                   cited.inspected_on.label("cited_on"), cited.verdict.label("cited_verdict"))
            .select_from(ComplianceCertificate)
            .join(Batch, Batch.id == ComplianceCertificate.batch_id)
            .outerjoin(cited, cited.id == ComplianceCertificate.inspection_id)
            .where(ComplianceCertificate.basis == "self_test", ComplianceCertificate.voided_on.is_(None),
                   ~passed_before, *ctx.batches(), *ctx.dates(ComplianceCertificate.issued_on))
            .order_by(ComplianceCertificate.issued_on.desc(), ComplianceCertificate.code))


# -- codes with anomalous scan patterns ----------------------------------------------------------

def scan_anomaly(ctx: Context) -> Select:
    """Codes the consumer page words as "存在异常查询记录": at least SCAN_ALERT_CLIENTS distinct clients,
    or SCAN_ALERT_REGIONS distinct regions, within SCAN_ALERT_WINDOW seconds before some scan (the
    page's test at each scan, ``public.scan_rules``); how often one client looked does not count.
    One grouped pass over the scans; the windows are counted only for codes with enough distinct
    clients or regions at all, joining each scan to the earlier ones of its window on the
    (batch_id, scanned_at) index."""
    s = ctx.settings
    per_code = (select(Scan.batch_id.label("batch_id"), func.count().label("scans"),
                       func.count(distinct(Scan.client)).label("clients"),
                       func.count(distinct(Scan.region)).label("regions"),
                       func.min(Scan.scanned_at).label("first_scan"), func.max(Scan.scanned_at).label("last_scan"))
                .where(*ctx.times(Scan.scanned_at))
                .group_by(Scan.batch_id)
                .having(or_(func.count(distinct(Scan.client)) >= s.scan_clients,
                            func.count(distinct(Scan.region)) >= s.scan_regions))
                .cte("per_code"))
    later, earlier = aliased(Scan, name="later"), aliased(Scan, name="earlier")
    windows = (select(later.batch_id.label("batch_id"), func.count(distinct(earlier.client)).label("n"),
                      func.count(distinct(earlier.region)).label("r"))
               .join(earlier, and_(earlier.batch_id == later.batch_id, earlier.scanned_at <= later.scanned_at,
                                   earlier.scanned_at >= seconds_before(ctx.dialect, later.scanned_at,
                                                                        s.scan_window)))
               .where(later.batch_id.in_(select(per_code.c.batch_id)),
                      *ctx.times(later.scanned_at), *ctx.times(earlier.scanned_at))
               .group_by(later.batch_id, later.id).subquery("windows"))
    peak = (select(windows.c.batch_id, func.max(windows.c.n).label("peak_clients"),
                   func.max(windows.c.r).label("peak_regions"))
            .group_by(windows.c.batch_id).subquery("peak"))
    peak_clients = func.coalesce(peak.c.peak_clients, 0)
    peak_regions = func.coalesce(peak.c.peak_regions, 0)
    return (select(*_batch_columns(), *_producer_columns(), per_code.c.scans, per_code.c.clients,
                   peak_clients.label("peak_clients"), peak_regions.label("peak_regions"),
                   per_code.c.first_scan, per_code.c.last_scan,
                   case((peak_clients >= s.scan_clients, "clients"), else_="regions").label("reason"))
            .select_from(per_code)
            .join(Batch, Batch.id == per_code.c.batch_id)
            .join(peak, peak.c.batch_id == per_code.c.batch_id)
            .where(or_(peak.c.peak_clients >= s.scan_clients, peak.c.peak_regions >= s.scan_regions),
                   *ctx.batches())
            .order_by(per_code.c.scans.desc(), Batch.code))


# -- producers with repeated failures ------------------------------------------------------------

def repeated_failures(ctx: Context) -> Select:
    """Producers with RISK_REPEAT_FAILURES (2) failed inspections of their batches at most RISK_REPEAT_DAYS
    (365) days apart: LAG over each producer's failures by date gives the date of the failure n − 1
    before each one, and the shortest such span decides."""
    s = ctx.settings
    ordered = (select(Batch.organization_id.label("organization_id"), Inspection.inspected_on.label("day"),
                      func.lag(Inspection.inspected_on, literal_column(str(s.repeat_failures - 1)))
                      .over(partition_by=Batch.organization_id, order_by=(Inspection.inspected_on, Inspection.id))
                      .label("earlier"))
               .join(Batch, Batch.id == Inspection.batch_id)
               .where(Inspection.verdict == "fail", *ctx.dates(Inspection.inspected_on),
                      *ctx.producer(Batch.organization_id))
               .subquery("ordered"))
    span = func.min(days_between(ctx.dialect, ordered.c.earlier, ordered.c.day))
    licensees = select(License.licensee_id).join(Brand, Brand.id == License.brand_id).where(*ctx.brand(Brand.slug))
    return (select(*_org_columns(), Organization.region.label("region"), func.count().label("failures"),
                   func.min(ordered.c.day).label("first_failure"), func.max(ordered.c.day).label("day"),
                   span.label("shortest_span"))
            .select_from(ordered)
            .join(Organization, Organization.id == ordered.c.organization_id)
            .where(*ctx.region(Organization.region),
                   *([Organization.id.in_(licensees)] if ctx.filters.brand else []))
            .group_by(Organization.id)
            .having(span <= s.repeat_days)
            .order_by(func.count().desc(), func.max(ordered.c.day).desc(), Organization.id))


def _repeated_failures_row(row: dict) -> dict:
    return {**row, "failures": int(row["failures"]), "shortest_span": int(row["shortest_span"])}


RULES: tuple[Rule, ...] = (
    Rule("failed_inspection", 1, _l("检测不合格及受影响批次"),
         _l("检测结论为不合格的批次，以及经拼配、加工由它制成的全部下游批次（层级 0 为被检批次）。"),
         _l("检测日期"),
         (*BATCH, Column("depth", _l("层级"), "depth"), Column("report_no", _l("检测报告")),
          Column("day", _l("检测日期"), "date"), Column("inspected_code", _l("被检批次"), "batch"),
          Column("body_name", _l("检测机构"))),
         failed_inspection),
    Rule("recalled_input", 1, _l("以召回批次为原料的批次"),
         _l("经拼配、加工由一个处于召回状态的批次制成（任意层级）、在该召回之前登记、本身未被召回的批次：按“仅本批次”召回时没有覆盖到它们，"
            "请决定是否扩大召回范围。"),
         _l("采收日期"),
         (*BATCH, Column("depth", _l("层级"), "depth"), Column("recalled_code", _l("被召回的原料批次"), "batch"),
          Column("day", _l("采收日期"), "date"), Column("recall_seq", _l("召回账本条目"))),
         recalled_input),
    Rule("license_ended", 1, _l("品牌许可已撤销或过期的批次"),
         _l("使用区域品牌的批次，其采收日所依据的品牌使用许可（同一品牌、被许可人是该生产主体、覆盖该产品）后来被撤销"
            "或已经到期，且没有其他仍有效的许可覆盖它。撤销后登记的新批次会被登记服务拒绝，所以列出的是撤销之前登记的批次。"),
         _l("采收日期"),
         (*BATCH[:3], Column("brand_name", _l("品牌"), "brand"), Column("region", _l("产地"), "region"),
          Column("day", _l("采收日期"), "date"), Column("reason", _l("许可状态"), "reason"),
          Column("ended_on", _l("结束日期"), "date"), Column("before_revocation", _l("撤销前登记"), "yes_no"),
          Column("revoke_reason", _l("撤销原因"))),
         license_ended, _license_ended_row),
    Rule("certificate_revoked", 1, _l("展示已撤销认证证书的批次"),
         _l("批次页和消费者页会展示的“三品一标”证书（持证人是该批次的生产主体、覆盖该产品、采收日在有效期内）后来被撤销。"),
         _l("采收日期"),
         (*BATCH, Column("day", _l("采收日期"), "date"), Column("certificate_number", _l("证书编号")),
          Column("issuer", _l("发证机构")), Column("ended_on", _l("撤销日期"), "date"),
          Column("revoke_reason", _l("撤销原因"))),
         certificate_revoked),
    Rule("license_cap", 1, _l("接近或超出年度许可数量的品牌许可"),
         _l("被许可人某一年在该品牌下登记的数量（按许可单位换算）达到许可年度数量的设定比例（默认 90%）或超出。"),
         _l("年份"),
         (Column("brand_name", _l("品牌"), "brand"), Column("organization_name", _l("被许可人"), "organization"),
          Column("region", _l("所在地"), "region"), Column("year", _l("年份")),
          Column("used", _l("已登记"), "quantity"), Column("cap", _l("年度许可数量"), "quantity"),
          Column("share", _l("比例"), "percent"), Column("reason", _l("状态"), "reason"),
          Column("revoked_on", _l("撤销日期"), "date")),
         license_cap, _license_cap_row),
    Rule("self_test_uninspected", 1, _l("无合格检测依据的自检合格证"),
         _l("以“自行检测合格”为依据开具、未作废的合格证，开具日当天及之前该批次没有任何结论为合格的检测记录。"),
         _l("开具日期"),
         (*BATCH, Column("certificate_code", _l("合格证")), Column("day", _l("开具日期"), "date"),
          Column("quantity", _l("数量"), "quantity"), Column("cited_report", _l("引用的检测报告")),
          Column("cited_on", _l("检测日期"), "date")),
         self_test_uninspected),
    Rule("scan_anomaly", 2, _l("查询异常的追溯码"),
         _l("与消费者页“存在异常查询记录”的提示相同的阈值：在设定时长（默认 3600 秒）内有设定数量（默认 10 个）"
            "以上的不同客户端查询，或来自设定数量（默认 5 个）以上的不同地区；同一客户端的重复查询不计。"),
         _l("查询时间"),
         (*BATCH, Column("reason", _l("原因"), "reason"), Column("scans", _l("查询次数")),
          Column("peak_clients", _l("时间窗内最多客户端")), Column("peak_regions", _l("时间窗内最多地区")),
          Column("first_scan", _l("首次查询"), "time"),
          Column("last_scan", _l("最近查询"), "time")),
         scan_anomaly),
    Rule("repeated_failures", 1, _l("多次检测不合格的生产主体"),
         _l("同一生产主体的批次在设定天数（默认 365 天）内有设定次数（默认 2 次）以上检测不合格。"),
         _l("检测日期"),
         (Column("organization_name", _l("生产主体"), "organization"), Column("region", _l("所在地"), "region"),
          Column("failures", _l("不合格次数")), Column("first_failure", _l("首次不合格"), "date"),
          Column("day", _l("最近不合格"), "date"), Column("shortest_span", _l("最短间隔（天）"))),
         repeated_failures, _repeated_failures_row),
)
