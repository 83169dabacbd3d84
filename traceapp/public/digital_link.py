"""GS1 Digital Link resolver: ``/01/<gtin>/10/<lot>`` answers with the batch's consumer page, and the
link types, linksets and description file of the GS1-Conformant Resolver standard 1.2
(https://ref.gs1.org/standards/resolver). Section numbers below are that standard's.

- the lot's default link (``gs1:pip``, the consumer page): 307; another link type: 307 to it, 404 naming
  the available ones when the lot has none of that type (2.6.2);
- ``linkType=linkset`` or ``Accept: application/linkset+json``: the RFC 9264 linkset (2.10);
- a known GTIN with an unknown lot: 303 to the brand page, else to the GTIN's product page ``/01/<gtin>``;
- a voided code: 410; a GTIN that is not one: 400 (2.4.1); a GTIN without batches: 404.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from sqlalchemy import select

from traceapp import db
from traceapp.brands.models import Brand
from traceapp.errors import DomainError, InvalidField, NotFound
from traceapp.i18n import gettext as _
from traceapp.personal.fields import public_name
from traceapp.public.digital_link_path import read_qualifiers
from traceapp.records.codes import gtin_check_digit
from traceapp.records.models import Batch, CodeState, ComplianceCertificate, Organization
from traceapp.records.queries import public_url

bp = Blueprint("digital_link", __name__)

GS1_VOC = "https://gs1.org/voc/"
# Link types may be asked for as CURIEs or in either spelling of the vocabulary's namespace (2.14).
LINK_TYPE_PREFIXES = ("gs1:", GS1_VOC, "https://ref.gs1.org/voc/", "http://gs1.org/voc/")
LINKSET = "application/linkset+json"
JSON_LD_CONTEXT = "https://ref.gs1.org/standards/resolver/linkset-context"
MAX_LOT = 20  # AI (10): up to 20 characters
PAGE_LANGUAGES = ["zh", "en"]  # the pages answer in either (?lang=)
CORS_METHODS = "GET, HEAD, OPTIONS"
CORS_HEADERS = "Accept, Accept-Language"  # what content negotiation needs; nothing else is read


@dataclass(frozen=True)
class Link:
    href: str
    title: str
    type: str = "text/html"

    def as_linkset_target(self) -> dict:
        target = {"href": self.href, "title": self.title, "type": self.type}
        if self.type == "text/html":
            target["hreflang"] = PAGE_LANGUAGES
        return target


def digital_link_uri(gtin: str, lot: str) -> str:
    """Return the GS1 Digital Link URI of a GTIN-14 and lot under TRACEAPP_PUBLIC_URL; the lot is
    percent-encoded (UTF-8) except for the URI's unreserved characters, as the URI syntax requires."""
    return public_url(f"/01/{gtin}/10/{quote(lot, safe='')}")


def read_gtin(text: str) -> str:
    """Return the GTIN-14 of a GTIN-8, -12, -13 or -14 (zero-padded, as the URI syntax writes them);
    raise InvalidField("gtin") when it is not digits of those lengths or its check digit is wrong."""
    if not re.fullmatch(r"[0-9]{8}|[0-9]{12,14}", text):
        raise InvalidField("gtin", _("GTIN 必须是 8、12、13 或 14 位数字，而不是 %(value)s。", value=text[:40]))
    gtin = text.zfill(14)
    expected = gtin_check_digit(gtin[:13])
    if gtin[13] != expected:
        raise InvalidField("gtin", _("GTIN %(gtin)s 的校验位不正确：最后一位应为 %(digit)s。", gtin=text,
                                     digit=expected))
    return gtin


def read_lot(text: str) -> str:
    """Return the lot; raise InvalidField("lot") when it is longer than AI (10) allows or has spaces or
    control characters (no lot is stored with them)."""
    if len(text) > MAX_LOT or any(c.isspace() or not c.isprintable() for c in text):
        raise InvalidField("lot", _("批号（AI 10）最多 %(max)d 个字符，且不能包含空白或控制字符。", max=MAX_LOT))
    return text


@bp.after_request
def _cors(response: Response) -> Response:
    """Any origin may read every resolver answer, redirects and errors included (the standard: a resolver
    SHALL support CORS, GET, HEAD and OPTIONS), so a scanning app in a browser can follow it."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Link, Location"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.errorhandler(DomainError)
def _error(exc: DomainError):
    if _wants_json():
        return jsonify({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}), exc.status
    return render_template("error.html", status=exc.status, message=exc.message,
                           details=[text for text in dict.fromkeys(exc.field_messages().values())
                                    if text != exc.message]), exc.status


@bp.get("/01/<gtin>/10/<lot>", strict_slashes=False)
def resolve(gtin: str, lot: str):
    """Resolve a GTIN and lot to the batch's consumer page or another of its links."""
    gtin, lot = read_gtin(gtin), read_lot(lot)
    session = db.session()
    batch = session.scalar(select(Batch).where(Batch.gtin == gtin, Batch.lot == lot))
    if batch is None:
        if session.scalar(select(Batch.id).where(Batch.gtin == gtin).limit(1)) is None:
            raise NotFound(_("没有 GTIN 为 %(gtin)s 的批次。", gtin=gtin))
        brand = _latest_brand(session, gtin)
        return _redirect(public_url(f"/brands/{brand.slug}") if brand else public_url(f"/01/{gtin}"), 303)
    state = session.get(CodeState, batch.id)
    if state is not None and state.state == "void":
        return _voided(batch, state)
    return _answer(digital_link_uri(gtin, lot), batch_links(session, batch), f"{batch.product} · {lot}")


@bp.get("/01/<gtin>/<path:rest>")
def qualified(gtin: str, rest: str):
    """Any other path under a GTIN: 400 unless it is a valid Digital Link; this resolver keeps no
    consumer product variants (22) or serial numbers (21), so a valid URI with them walks up to the
    lot it names, else to the GTIN (the standard's walk-up to the less specific key)."""
    gtin = read_gtin(gtin)
    qualifiers = read_qualifiers(rest)
    if "10" in qualifiers and "22" not in qualifiers:
        return resolve(gtin, qualifiers["10"])
    return product(gtin)


@bp.get("/01/<gtin>", strict_slashes=False)
def product(gtin: str):
    """The page of a GTIN: its product, producers and recent lots; its links like a lot's."""
    gtin = read_gtin(gtin)
    session = db.session()
    rows = session.execute(select(Batch, Organization).join(Organization, Organization.id == Batch.organization_id)
                           .where(Batch.gtin == gtin).order_by(Batch.harvest_date.desc(), Batch.id.desc())
                           .limit(20)).all()
    if not rows:
        raise NotFound(_("没有 GTIN 为 %(gtin)s 的批次。", gtin=gtin))
    latest = rows[0][0]
    links = {"pip": Link(public_url(f"/01/{gtin}"), _("商品 %(gtin)s 的产品页", gtin=gtin))}
    brand = _latest_brand(session, gtin)
    if brand is not None:
        links["homepage"] = Link(public_url(f"/brands/{brand.slug}"), brand.name)
    if not _wants_linkset() and _requested_rel() in (None, "pip", "defaultLink", "defaultLinkMulti"):  # this page
        voided = set(session.scalars(select(CodeState.batch_id).where(
            CodeState.state == "void", CodeState.batch_id.in_([b.id for b, _o in rows]))))
        lots = [{"lot": b.lot, "code": b.code, "harvest_date": b.harvest_date.isoformat(),
                 "producer": public_name(o.name, o.kind),
                 "voided": b.id in voided,
                 "url": digital_link_uri(gtin, b.lot) if b.lot else public_url(f"/t/{b.code}")} for b, o in rows]
        return render_template("public/gtin.html", gtin=gtin, product=latest.product, brand=brand, lots=lots,
                               producers=list(dict.fromkeys(public_name(o.name, o.kind) for _b, o in rows)),
                               linkset=public_url(f"/01/{gtin}?linkType=linkset"))
    return _answer(public_url(f"/01/{gtin}"), links, latest.product)


@bp.get("/.well-known/gs1resolver")
def description():
    """The resolver description file (section 3; its JSON schema is the standard's
    description-file-schema): what this resolver answers and how."""
    response = jsonify({
        "name": "traceapp GS1 Digital Link resolver",
        "resolverRoot": current_app.config["TRACEAPP_PUBLIC_URL"].rstrip("/"),
        "supportedPrimaryKeys": ["01"],  # the schema names keys by their AI: 01 is the GTIN
        "supportedLinkType": [{"namespace": GS1_VOC, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeLinkset": False,
        "jsonLdContextLocation": JSON_LD_CONTEXT,
    })
    return response


def batch_links(session, batch: Batch) -> dict[str, Link]:
    """Return a batch's links by GS1 link type (without the prefix): the consumer page, its 合格证
    section when the batch has any, the JSON record with the ledger proof, and the brand page."""
    page = public_url(f"/t/{batch.code}")
    links = {"pip": Link(page, _("产品追溯页"))}
    if session.scalar(select(ComplianceCertificate.id).where(ComplianceCertificate.batch_id == batch.id).limit(1)):
        links["certificationInfo"] = Link(f"{page}#compliance-certificates", _("承诺达标合格证"))
    links["traceability"] = Link(public_url(f"/t/{batch.code}.json"), _("追溯记录与账本证明（JSON）"),
                                 "application/json")
    brand = session.scalar(select(Brand).where(Brand.slug == batch.brand)) if batch.brand else None
    if brand is not None:
        links["homepage"] = Link(public_url(f"/brands/{brand.slug}"), brand.name)
    return links


def _latest_brand(session, gtin: str) -> Brand | None:
    slug = session.scalar(select(Batch.brand).where(Batch.gtin == gtin, Batch.brand.is_not(None))
                          .order_by(Batch.id.desc()).limit(1))
    return session.scalar(select(Brand).where(Brand.slug == slug)) if slug else None


def _answer(anchor: str, links: dict[str, Link], label: str, default: str = "pip"):
    if _wants_linkset():
        return _linkset(anchor, links, label, default)
    rel = _requested_rel()
    rel = default if rel in (None, "defaultLink", "defaultLinkMulti") else rel
    if rel not in links:
        return _missing_link(request.args.get("linkType", ""), links)
    response = _redirect(links[rel].href, 307)
    # The standard deprecated listing every link in a redirect's Link header: a client that wants the
    # others follows this one to the linkset (2.10).
    response.headers["Link"] = f'<{anchor}?linkType=linkset>; rel="linkset"; type="{LINKSET}"'
    return response


def _linkset(anchor: str, links: dict[str, Link], label: str, default: str) -> Response:
    """The RFC 9264 linkset, keys as the GS1 resolver's linkset schema writes them: full link type URIs,
    exactly one default link that also appears under its own type (2.5.8)."""
    # The default link carries no type or hreflang: it is what the resolver answers whatever the client
    # accepts, so it must not promise one; the same target under its own link type keeps them.
    target = links[default]
    item = {"anchor": anchor, "itemDescription": label,
            f"{GS1_VOC}defaultLink": [{"href": target.href, "title": target.title}]}
    item.update({f"{GS1_VOC}{name}": [link.as_linkset_target()] for name, link in links.items()})
    response = Response(json.dumps({"linkset": [item]}, ensure_ascii=False), content_type=LINKSET)
    response.headers["Link"] = (f'<{JSON_LD_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"; '
                                'type="application/ld+json"')
    response.vary.add("Accept")
    return response


def _missing_link(link_type: str, links: dict[str, Link]):
    message = _("这里没有 %(type)s 类型的链接；可用的链接类型：%(types)s。", type=link_type[:80],
                types="、".join(f"gs1:{name}" for name in links))
    if _wants_json():
        return jsonify({"error": {"code": "not_found", "message": message, "fields": {"linkType": message}}}), 404
    return render_template("public/dl_links.html", message=message, links=links), 404


def _voided(batch: Batch, state: CodeState):
    if _wants_json() or _wants_linkset():
        message = _("追溯码 %(code)s 已作废：%(reason)s", code=batch.code, reason=state.reason)
        return jsonify({"error": {"code": "gone", "message": message, "fields": {}}}), 410
    return render_template("public/voided.html", batch=batch, state=state), 410


def _redirect(target: str, status: int) -> Response:
    # The request's query string goes on to the target (2.12), before any fragment.
    if request.query_string:
        page, hash_, fragment = target.partition("#")
        target = f"{page}{'&' if '?' in page else '?'}{request.query_string.decode('latin-1')}{hash_}{fragment}"
    response = Response(status=status, headers={"Location": target})
    response.vary.add("Accept")
    return response


def _requested_rel() -> str | None:
    """Return the requested link type without its prefix; an unknown namespace keeps its full text,
    which matches no link."""
    link_type = request.args.get("linkType", "").strip()
    if not link_type:
        return None
    for prefix in LINK_TYPE_PREFIXES:
        if link_type.startswith(prefix):
            return link_type[len(prefix):]
    return link_type


def _wants_linkset() -> bool:
    if request.args.get("linkType") in ("linkset", "all"):  # "all" is the deprecated spelling
        return True
    listed = dict(request.accept_mimetypes)
    return listed.get(LINKSET, 0) > 0 and listed[LINKSET] >= listed.get("text/html", 0)


def _wants_json() -> bool:
    listed = dict(request.accept_mimetypes)
    best = max((listed.get(t, 0) for t in ("application/json", LINKSET)), default=0)
    return best > 0 and best >= listed.get("text/html", 0)
