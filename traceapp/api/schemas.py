"""Marshmallow schemas of the JSON API: request bodies (for the OpenAPI document; the
services check the values and answer in the user's language) and responses (every
response is dumped through its schema, so the document and the answers agree)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from traceapp.records.models import BASES, CATEGORIES, CERT_KINDS, ORG_KINDS, PROMISERS, UNITS, VERDICTS


def _date(metadata: dict | None = None, **kw):
    return fields.String(metadata={"format": "date", "example": "2026-08-01", **(metadata or {})}, **kw)


def _quantity(metadata: dict | None = None, **kw):
    return fields.String(metadata={"description": "decimal string > 0, at most 3 decimal places",
                                   "example": "1250.5", **(metadata or {})}, **kw)


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True, metadata={"description": "in the request's language"})
    fields_ = fields.Dict(data_key="fields", attribute="fields", keys=fields.String(), values=fields.String(),
                          required=True, metadata={"description": "field name -> the rule it breaks"})


class Error(Schema):
    error = fields.Nested(ErrorDetail, required=True)


# -- organizations -------------------------------------------------------------------------

class OrganizationIn(Schema):
    name = fields.String(required=True, validate=validate.Length(max=200))
    kind = fields.String(required=True, validate=validate.OneOf(ORG_KINDS))
    uscc = fields.String(allow_none=True, metadata={"description": "统一社会信用代码, 18 characters (GB 32100); "
                                                                   "optional for family_farm and individual"})
    region = fields.String(required=True, metadata={"description": "GB/T 2260 code", "example": "430225"})
    address = fields.String(allow_none=True)
    contact = fields.String(allow_none=True)


class OrganizationOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    uscc = fields.String(allow_none=True)
    region = fields.String(required=True)
    region_name = fields.String(required=True)
    address = fields.String(required=True)
    contact = fields.String(required=True)
    demo = fields.Boolean(required=True)
    ledger_seq = fields.Integer(required=True)


class OrganizationList(Schema):
    items = fields.List(fields.Nested(OrganizationOut), required=True)


# -- batches --------------------------------------------------------------------------------

class InputIn(Schema):
    code = fields.String(required=True)
    quantity = _quantity(required=True)


class BatchIn(Schema):
    product = fields.String(required=True, validate=validate.Length(max=100))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    brand = fields.String(allow_none=True, metadata={"description": "brand slug", "example": "yanling-huangtao"})
    quantity = _quantity(required=True)
    unit = fields.String(required=True, validate=validate.OneOf(UNITS))
    harvest_date = _date(required=True)
    pack_date = _date(allow_none=True)
    origin_region = fields.String(required=True, metadata={"example": "430225"})
    base = fields.String(required=True, metadata={"description": "production base (基地)"})
    gtin = fields.String(allow_none=True, metadata={"description": "GTIN-14 with a valid check digit"})
    lot = fields.String(allow_none=True, metadata={"description": "≤ 20 characters, none of % & / < > ?"})
    inputs = fields.List(fields.Nested(InputIn))
    organization = fields.Integer(metadata={"description": "admin only: the producer organization"})


class InputOut(Schema):
    code = fields.String(required=True)
    quantity = fields.String(required=True)


class BatchOut(Schema):
    code = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": "the consumer page (QR target)"})
    organization = fields.String(required=True, metadata={"example": "org:2"})
    product = fields.String(required=True)
    category = fields.String(required=True)
    brand = fields.String(allow_none=True)
    quantity = fields.String(required=True)
    unit = fields.String(required=True)
    harvest_date = fields.String(required=True)
    pack_date = fields.String(allow_none=True)
    origin_region = fields.String(required=True)
    origin_name = fields.String(required=True)
    base = fields.String(required=True)
    gtin = fields.String(allow_none=True)
    lot = fields.String(allow_none=True)
    inputs = fields.List(fields.Nested(InputOut), required=True)
    registered_by = fields.String(required=True)
    ledger_seq = fields.Integer(required=True)


class BatchList(Schema):
    items = fields.List(fields.Nested(BatchOut), required=True)


# -- inspections ----------------------------------------------------------------------------

class ItemIn(Schema):
    name = fields.String(required=True)
    method = fields.String(required=True, metadata={"example": "GB 23200.113"})
    value = fields.String(required=True)
    limit = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))


class InspectionIn(Schema):
    batch = fields.String(required=True, metadata={"description": "batch code"})
    inspected_on = _date(required=True)
    body = fields.Integer(metadata={"description": "inspection body organization id (defaults to the inspector's)"})
    report_no = fields.String(required=True)
    items = fields.List(fields.Nested(ItemIn), required=True)
    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))


class ItemOut(Schema):
    name = fields.String(required=True)
    method = fields.String(required=True)
    value = fields.String(required=True)
    limit = fields.String(required=True)
    unit = fields.String(required=True)
    verdict = fields.String(required=True)


class InspectionOut(Schema):
    id = fields.Integer(required=True)
    batch = fields.String(required=True)
    inspected_on = fields.String(required=True)
    body = fields.String(required=True)
    report_no = fields.String(required=True)
    items = fields.List(fields.Nested(ItemOut), required=True)
    verdict = fields.String(required=True)
    ledger_seq = fields.Integer(required=True)


# -- certifications -------------------------------------------------------------------------

class CertificationIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(CERT_KINDS))
    number = fields.String(required=True, metadata={"description": "green_food: GF + 12 digits; organic: 17 digits"})
    holder = fields.Integer(required=True, metadata={"description": "producer organization id"})
    products = fields.List(fields.String(), required=True)
    valid_from = _date(required=True)
    valid_to = _date(required=True)
    issuer = fields.String(metadata={"description": "a certifier's own organization (its name, or omit it); an "
                                                    "admin entering a historical certificate names a body not "
                                                    "registered here"})
    issuer_org = fields.Integer(metadata={"description": "id of the registered certification body that issued it: "
                                                         "a certifier's own (or omit it); an admin's choice"})


class CertificationOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    number = fields.String(required=True)
    holder = fields.String(required=True)
    products = fields.List(fields.String(), required=True)
    valid_from = fields.String(required=True)
    valid_to = fields.String(required=True)
    issuer = fields.String(required=True)
    issuer_org = fields.String(allow_none=True, metadata={"description": "the registered certification body that "
                                                                         "issued it, e.g. org:4; null when none"})
    entered_by_admin = fields.Boolean(required=True, metadata={"description": "an admin entered this historical "
                                                                              "certificate, not its issuer"})
    revoked_on = fields.String(allow_none=True)
    revoke_reason = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "on a batch: valid, expired or revoked"})
    ledger_seq = fields.Integer(required=True)


class ReasonIn(Schema):
    reason = fields.String(required=True)


# -- 合格证 and corrections -----------------------------------------------------------------

class ComplianceIn(Schema):
    basis = fields.String(required=True, validate=validate.OneOf(BASES))
    inspection = fields.Integer(metadata={"description": "required for self_test and commissioned_test"})
    quantity = _quantity(required=True)
    issued_on = _date(metadata={"description": "defaults to today"})
    promiser = fields.String(validate=validate.OneOf(PROMISERS), metadata={"description": "defaults to producer"})
    contact = fields.String(required=True)


class ComplianceOut(Schema):
    code = fields.String(required=True)
    batch = fields.String(required=True)
    basis = fields.String(required=True)
    inspection = fields.String(allow_none=True)
    quantity = fields.String(required=True)
    unit = fields.String(required=True)
    issued_on = fields.String(required=True)
    promiser = fields.String(required=True)
    promise = fields.String(required=True)
    contact = fields.String(required=True)
    status = fields.String(required=True)
    voided_on = fields.String(allow_none=True)
    void_reason = fields.String(allow_none=True)
    ledger_seq = fields.Integer(required=True)


class CorrectionIn(Schema):
    fields_ = fields.Dict(data_key="fields", required=True,
                          metadata={"description": "field -> new value (product, category, quantity, harvest_date, "
                                                   "pack_date, origin_region, base, gtin, lot)"})
    reason = fields.String(required=True)


class CorrectionOut(Schema):
    fields_ = fields.Dict(data_key="fields", attribute="fields", required=True)
    previous = fields.Dict(required=True)
    reason = fields.String(required=True)
    corrected_by = fields.String(required=True)
    corrected_at = fields.String(required=True)
    ledger_seq = fields.Integer(required=True)


class ProducerOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    uscc = fields.String(allow_none=True)
    region = fields.String(required=True)
    demo = fields.Boolean(required=True)


class BatchDetailOut(BatchOut):
    producer = fields.Nested(ProducerOut, required=True)
    inspections = fields.List(fields.Nested(InspectionOut), required=True)
    certifications = fields.List(fields.Nested(CertificationOut), required=True)
    compliance_certificates = fields.List(fields.Nested(ComplianceOut), required=True)
    corrections = fields.List(fields.Nested(CorrectionOut), required=True)


class CertificationList(Schema):
    items = fields.List(fields.Nested(CertificationOut), required=True)


class ComplianceList(Schema):
    items = fields.List(fields.Nested(ComplianceOut), required=True)


# -- brands and licences --------------------------------------------------------------------

class BrandIn(Schema):
    name = fields.String(required=True, metadata={"example": "炎陵黄桃"})
    aliases = fields.List(fields.String())
    slug = fields.String(metadata={"description": "from pinyin when omitted", "example": "yanling-huangtao"})
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    level = fields.String(required=True, validate=validate.OneOf(("province", "city", "county", "enterprise")))
    parent = fields.String(allow_none=True, metadata={"description": "slug of the parent brand"})
    owner = fields.Integer(metadata={"description": "brand_owner organization id (defaults to the manager's)"})
    area = fields.List(fields.String(), required=True, metadata={"description": "GB/T 2260 codes"})
    products = fields.List(fields.String(), required=True)
    gi_number = fields.String(allow_none=True)
    standard = fields.String(allow_none=True)
    description = fields.String()
    qr_digital_link = fields.Boolean(metadata={"description": "QR codes of batches with a GTIN and lot encode the "
                                               "GS1 Digital Link URI /01/<gtin>/10/<lot>"})


class BrandChangeIn(Schema):
    """Only the fields given change; slug and owner cannot."""
    name = fields.String(metadata={"example": "炎陵黄桃"})
    aliases = fields.List(fields.String())
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    level = fields.String(validate=validate.OneOf(("province", "city", "county", "enterprise")))
    parent = fields.String(allow_none=True, metadata={"description": "slug of the parent brand, null for none"})
    area = fields.List(fields.String(), metadata={"description": "GB/T 2260 codes"})
    products = fields.List(fields.String())
    gi_number = fields.String(allow_none=True)
    standard = fields.String(allow_none=True)
    description = fields.String()
    qr_digital_link = fields.Boolean(metadata={"description": "QR codes of batches with a GTIN and lot encode the "
                                               "GS1 Digital Link URI /01/<gtin>/10/<lot>"})
    reason = fields.String(metadata={"description": "why, kept in the ledger entry"})


class AttachmentOut(Schema):
    """A request to place a brand under a parent brand of another owner."""
    id = fields.Integer(required=True)
    brand = fields.String(required=True, metadata={"description": "slug of the brand to be placed"})
    brand_name = fields.String(required=True)
    parent = fields.String(required=True, metadata={"description": "slug of the parent brand asked for"})
    parent_name = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(("pending", "accepted", "refused", "withdrawn")))
    decided_on = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    ledger_seq = fields.Integer(required=True, metadata={"description": "the brand.attachment_requested entry"})
    decision_seq = fields.Integer(allow_none=True, metadata={"description": "the accepting, refusing or "
                                                                            "withdrawing entry"})


class AttachmentList(Schema):
    items = fields.List(fields.Nested(AttachmentOut), required=True)


class AcceptIn(Schema):
    reason = fields.String(metadata={"description": "optional note, kept in the ledger entry"})


class BrandOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    aliases = fields.List(fields.String(), required=True)
    slug = fields.String(required=True)
    category = fields.String(required=True)
    level = fields.String(required=True)
    parent = fields.String(allow_none=True)
    owner = fields.String(required=True, metadata={"example": "org:1"})
    owner_id = fields.Integer(required=True)
    area = fields.List(fields.String(), required=True)
    area_names = fields.List(fields.String(), required=True)
    products = fields.List(fields.String(), required=True)
    gi_number = fields.String(allow_none=True)
    standard = fields.String(allow_none=True)
    description = fields.String(required=True)
    retired_on = fields.String(allow_none=True)
    qr_digital_link = fields.Boolean(required=True)
    url = fields.String(required=True)
    ledger_seq = fields.Integer(required=True)
    parent_request = fields.Nested(AttachmentOut, allow_none=True, metadata={
        "description": "the brand's request to be placed under another owner's brand, while it waits"})


class BrandList(Schema):
    items = fields.List(fields.Nested(BrandOut), required=True)


class LicenseIn(Schema):
    licensee = fields.Integer(required=True, metadata={"description": "producer organization id"})
    products = fields.List(fields.String(), required=True)
    valid_from = _date(required=True)
    valid_to = _date(required=True)
    quantity = _quantity(required=True, metadata={"description": "authorized quantity per year"})
    unit = fields.String(required=True, validate=validate.OneOf(UNITS))
    bases = fields.List(fields.String(), metadata={"description": "production bases covered (optional)"})


class LicenseOut(Schema):
    id = fields.Integer(required=True)
    brand = fields.String(required=True)
    licensee = fields.String(required=True)
    products = fields.List(fields.String(), required=True)
    valid_from = fields.String(required=True)
    valid_to = fields.String(required=True)
    quantity = fields.String(required=True)
    unit = fields.String(required=True)
    bases = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    revoked_on = fields.String(allow_none=True)
    revoke_reason = fields.String(allow_none=True)
    ledger_seq = fields.Integer(required=True)


class BrandDetailOut(BrandOut):
    licenses = fields.List(fields.Nested(LicenseOut), required=True)


# -- recalls and trace --------------------------------------------------------------------

class RecallIn(Schema):
    reason = fields.String(required=True, metadata={"description": "why, kept in every recall entry"})
    scope = fields.String(validate=validate.OneOf(("batch", "downstream")),
                          metadata={"description": "batch (default): this batch only; downstream: it and every "
                                                   "batch made from it"})


class RecallOut(Schema):
    batch = fields.String(required=True, metadata={"description": "the batch the recall was issued on"})
    scope = fields.String(required=True)
    reason = fields.String(required=True)
    recalled = fields.List(fields.String(), required=True,
                           metadata={"description": "codes of the batches recalled now, one batch.recalled entry "
                                                    "each (batches already recalled are skipped)"})


class RecallLiftOut(Schema):
    batch = fields.String(required=True)
    reason = fields.String(required=True)
    seq = fields.Integer(required=True, metadata={"description": "the batch.recall_lifted entry"})


class TraceNode(Schema):
    code = fields.String(required=True)
    product = fields.String(required=True)
    producer = fields.String(required=True, metadata={"description": "the producer organization's name"})
    origin = fields.String(required=True, metadata={"description": "full name of the origin region"})
    origin_region = fields.String(required=True, metadata={"description": "GB/T 2260 code"})
    quantity = fields.String(required=True, metadata={"description": "the batch's quantity"})
    unit = fields.String(required=True)
    harvest_date = fields.String(required=True)
    recalled = fields.Boolean(required=True, metadata={"description": "whether the batch stands recalled"})
    input_quantity = fields.String(allow_none=True, metadata={"description": "quantity carried by the link to the "
                                                                             "parent node; null at the root"})
    transfers = fields.List(fields.Nested(lambda: TransferOut()), required=True,
                            metadata={"description": "the transfers out of this batch (batch.transferred entries), "
                                                     "whether the receiver has used them yet or not"})
    transferred = fields.String(allow_none=True, metadata={
        "description": "when the linked batches belong to two organizations: the quantity the earlier one had "
                       "handed over to the later one's organization; null otherwise and at the root"})
    children = fields.List(fields.Nested(lambda: TraceNode()), required=True,
                           metadata={"description": "forward: batches made from this one; backward: its inputs"})


class TransferIn(Schema):
    to = fields.Integer(required=True, metadata={"description": "the receiving organization's id (a producer)"})
    quantity = _quantity(required=True)


class TransferOut(Schema):
    seq = fields.Integer(required=True, metadata={"description": "the batch.transferred entry"})
    to = fields.Integer(required=True, metadata={"description": "the receiving organization's id"})
    to_name = fields.String(required=True, metadata={"description": "the receiving organization's name"})
    quantity = fields.String(required=True, metadata={"description": "decimal string, in the batch's unit"})
    unit = fields.String(required=True)
    transferred_at = fields.String(required=True, metadata={"description": "UTC, RFC 3339 (the entry's ts)"})


class TransferList(Schema):
    batch = fields.String(required=True)
    items = fields.List(fields.Nested(TransferOut), required=True)


class TraceOut(Schema):
    batch = fields.String(required=True)
    direction = fields.String(required=True, metadata={"enum": ["forward", "backward"]})
    truncated = fields.Boolean(required=True, metadata={"description": "true when the tree was cut at its size "
                                                                       "limit"})
    tree = fields.Nested(TraceNode, required=True)
