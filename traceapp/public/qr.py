"""QR codes of batches: ``/qr/<code>.svg`` and ``.png`` encode the consumer URL
(TRACEAPP_PUBLIC_URL + /t/<code>). They never change, so each is made once per process and
served with a long cache lifetime and an ETag."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

import qrcode
import qrcode.image.pure
import qrcode.image.svg
from flask import Blueprint, Response, request

from traceapp import db
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.records.queries import public_url
from traceapp.records.services import get_batch

bp = Blueprint("qr", __name__)
LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


@lru_cache(maxsize=2048)
def render(url: str, fmt: str, level: str, box_size: int) -> bytes:
    """Return the QR code of ``url`` as SVG or PNG bytes."""
    factory = qrcode.image.svg.SvgPathImage if fmt == "svg" else qrcode.image.pure.PyPNGImage
    code = qrcode.QRCode(error_correction=LEVELS[level], box_size=box_size, border=4, image_factory=factory)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


@bp.get("/qr/<code>.<fmt>")
def image(code: str, fmt: str):
    if fmt not in FORMATS:
        raise InvalidField("format", _("二维码格式必须是 svg 或 png。"))
    level = request.args.get("ec", "M").upper()
    if level not in LEVELS:
        raise InvalidField("ec", _("参数 ec 必须是 L、M、Q 或 H 之一。"))
    size = request.args.get("size", "10")
    if not size.isdigit() or not 1 <= int(size) <= 40:
        raise InvalidField("size", _("参数 size 必须是 1 到 40 之间的整数（每个模块的像素数）。"))
    batch = get_batch(db.session(), code)
    body = render(public_url(f"/t/{batch.code}"), fmt, level, int(size))
    response = Response(body, mimetype=FORMATS[fmt])
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = 31536000
    response.cache_control.immutable = True
    return response.make_conditional(request)
