"""QR codes of batches: ``/qr/<code>.svg`` and ``.png`` encode the consumer URL
(TRACEAPP_PUBLIC_URL + /t/<code>), or the GS1 Digital Link URI (/01/<gtin>/10/<lot>) when the batch's
brand chose it. Either always resolves to the same page, so a code cached from before a brand changed
the setting stays right: each is made once per process and served with a long cache lifetime and an ETag."""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections import OrderedDict
from functools import lru_cache

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, current_app, request
from PIL import Image
from sqlalchemy import select

from traceapp import db
from traceapp.brands.models import Brand
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.public.digital_link import digital_link_uri
from traceapp.records.codes import normalize_code
from traceapp.records.queries import public_url
from traceapp.records.services import get_batch

bp = Blueprint("qr", __name__)
LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
FORMATS = {"svg": "image/svg+xml", "png": "image/png"}
MAX_KEPT = 20000  # images kept per worker
# qrcode gives a run of upper-case letters and digits its own compact (alphanumeric) segment only when
# the run is at least this long; a batch code after "/t/" is 14, so each symbol is also tried with 14.
SEGMENT_RUNS = (20, 14)


@lru_cache(maxsize=2048)
def render(url: str, fmt: str, level: str, box_size: int) -> bytes:
    """Return the QR code of ``url`` as SVG or PNG bytes."""
    code = symbol(url, level, box_size)
    if fmt == "png":
        return _png(code.get_matrix(), box_size)
    buffer = io.BytesIO()
    code.make_image(image_factory=qrcode.image.svg.SvgPathImage).save(buffer)
    return buffer.getvalue()


def symbol(url: str, level: str, box_size: int = 1, border: int = 4) -> qrcode.QRCode:
    """Return the QR code of ``url``, made, in the smallest version that qrcode's segmentations give: a
    batch code is 13 upper-case letters and digits so that it can take the compact alphanumeric mode.
    Label sheets draw the same symbol (``border=0``: they draw their own quiet zone)."""
    def segmented(run: int) -> qrcode.QRCode:
        code = qrcode.QRCode(error_correction=LEVELS[level], box_size=box_size, border=border)
        code.add_data(url, optimize=run)
        return code

    code = min(map(segmented, SEGMENT_RUNS), key=qrcode.QRCode.best_fit)  # best_fit sets the version; ties: first
    code.make(fit=False)
    return code


def _png(modules: list[list[bool]], box_size: int) -> bytes:
    """Return the modules (border included) as a black-on-white 1-bit PNG of ``box_size`` pixels a module:
    the same bytes as qrcode's PIL image, made in one step instead of a rectangle drawn per dark module."""
    count = len(modules)
    image = Image.new("1", (count, count))
    image.putdata([0 if dark else 255 for row in modules for dark in row])
    buffer = io.BytesIO()
    image.resize((count * box_size, count * box_size), Image.Resampling.NEAREST).save(buffer, "PNG")
    return buffer.getvalue()


def target_url(session, batch) -> str:
    """Return the URL a batch's QR code (and its printed labels) encode: the GS1 Digital Link URI when the
    batch has a GTIN and lot and its brand chose Digital Link QR codes, else the consumer page."""
    if batch.gtin and batch.lot and batch.brand and session.scalar(
            select(Brand.qr_digital_link).where(Brand.slug == batch.brand)):
        return digital_link_uri(batch.gtin, batch.lot)
    return public_url(f"/t/{batch.code}")


def served_image(code: str, fmt: str, level: str, size: int) -> tuple[bytes, str]:
    """Return (image, ETag) of a batch's QR code, kept per worker for QR_CACHE_SECONDS so a cached image costs
    no database query; an unknown code is looked up (and refused) every time. A code's target changes only
    when its GTIN/lot is corrected or its brand switches Digital Link QR codes, and a worker notices within
    that time (browsers keep an image for a year in any case)."""
    cache = current_app.extensions.setdefault("traceapp.qr_images", OrderedDict())
    key = (normalize_code(code) if isinstance(code, str) else None, fmt, level, size)
    now = time.monotonic()
    kept = cache.get(key)
    if kept is not None and kept[2] > now:
        return kept[0], kept[1]
    session = db.session()
    batch = get_batch(session, code)
    body = render(target_url(session, batch), fmt, level, size)
    cache[key] = (body, hashlib.sha256(body).hexdigest()[:32], now + current_app.config["QR_CACHE_SECONDS"])
    cache.move_to_end(key)
    while len(cache) > MAX_KEPT:
        cache.popitem(last=False)
    return cache[key][0], cache[key][1]


@bp.get("/qr/<code>.<fmt>")
def image(code: str, fmt: str):
    if fmt not in FORMATS:
        raise InvalidField("format", _("二维码格式必须是 svg 或 png。"))
    level = request.args.get("ec", "M").upper()
    if level not in LEVELS:
        raise InvalidField("ec", _("纠错等级必须是 L、M、Q 或 H 之一。"))
    size = request.args.get("size", "10")
    if not re.fullmatch(r"[0-9]{1,2}", size) or not 1 <= int(size) <= 40:
        raise InvalidField("size", _("模块大小必须是 1 到 40 之间的整数（每个模块的像素数）。"))
    body, etag = served_image(code, fmt, level, int(size))
    response = Response(body, mimetype=FORMATS[fmt])
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = 31536000
    response.cache_control.immutable = True
    return response.make_conditional(request)
