"""What the front door's search box takes: a 追溯码 as printed (any case, spaces or dashes between
its characters), a consumer page's URL (``…/t/<code>``), or a GS1 Digital Link URI
(``…/01/<gtin>/10/<lot>``, as a QR code carries it), from this deployment or pasted from elsewhere.
It answers the batch's code or says, in the visitor's language, why it found none."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.errors import DomainError, InvalidField, NotFound
from traceapp.i18n import gettext as _
from traceapp.public.digital_link import read_gtin
from traceapp.public.digital_link_path import read_qualifiers
from traceapp.records.codes import normalize_code
from traceapp.records.models import Batch

MAX_INPUT = 400  # longer than any URL a label carries
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u3000]+")  # people group printed codes with spaces or dashes
_CONSUMER_PATH = re.compile(r"(?:^|/)[tT]/([^/]+?)(?:\.[jJ][sS][oO][nN])?/?$")
_DIGITAL_LINK_PATH = re.compile(r"(?:^|/)01/([0-9]+)(?:/(.*))?$")


def find_code(session: Session, text: str) -> str:
    """Return the code of the batch that ``text`` names (a code, a consumer page URL or a Digital Link
    URI). Raise InvalidField("code") when ``text`` is none of those, NotFound when no batch has it."""
    text = (text or "").strip()
    if not text:
        raise InvalidField("code", _("请填写追溯码：包装上二维码旁的 13 位字母和数字，或扫描二维码得到的网址。"))
    if len(text) > MAX_INPUT:
        raise InvalidField("code", _("追溯码太长了：请只填写包装上的追溯码或二维码中的网址。"))
    if "/" in text:
        return _from_url(session, text)
    code = normalize_code(_SEPARATORS.sub("", text))
    if code is None:
        raise InvalidField("code", _("“%(text)s”不是追溯码：追溯码是 13 位字母和数字（不区分大小写），"
                                     "印在包装的二维码旁。", text=text[:40]))
    return _existing(session, code, text)


def _from_url(session: Session, text: str) -> str:
    path = unquote(urlsplit(text if "://" in text else "//" + text.lstrip("/")).path)
    if match := _CONSUMER_PATH.search(path):
        code = normalize_code(match.group(1))
        if code is None:
            raise _not_found(match.group(1))
        return _existing(session, code, match.group(1))
    if match := _DIGITAL_LINK_PATH.search(path):
        try:
            gtin = read_gtin(match.group(1))
            lot = read_qualifiers(match.group(2) or "").get("10")
        except DomainError:
            raise _not_a_link(text) from None
        if lot is None:
            raise InvalidField("code", _("这个网址只有商品条码，没有批号，找不到具体批次；请扫描包装上的追溯二维码，"
                                         "或填写它旁边的追溯码。"))
        code = session.scalar(select(Batch.code).where(Batch.gtin == gtin, Batch.lot == lot))
        if code is None:
            raise NotFound(_("没有找到商品条码 %(gtin)s、批号 %(lot)s 的批次。请核对后重试，或填写包装上的追溯码。",
                             gtin=gtin, lot=lot))
        return code
    raise _not_a_link(text)


def _existing(session: Session, code: str, shown: str) -> str:
    if session.scalar(select(Batch.code).where(Batch.code == code)) is None:
        raise _not_found(shown)
    return code


def _not_found(shown: str) -> NotFound:
    return NotFound(_("没有找到追溯码为 %(code)s 的产品。请核对包装上的追溯码（不区分大小写），"
                      "或直接扫描二维码。", code=shown[:40]))


def _not_a_link(text: str) -> InvalidField:
    return InvalidField("code", _("这个网址不是追溯链接：追溯二维码中的网址含有 /t/ 加追溯码，"
                                  "或 /01/ 商品条码 /10/ 批号。请填写包装上的追溯码。"))


def batch_id_of(session: Session, code: str) -> int | None:
    """Return the id of the batch with this printed code (any case), or None."""
    canonical = normalize_code(code) if isinstance(code, str) else None
    if canonical is None:
        return None
    return session.scalar(select(Batch.id).where(Batch.code == canonical))
