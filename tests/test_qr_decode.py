"""The QR codes as a phone reads them: /qr/<code>.png and /qr/<code>.svg (rasterized with cairosvg) are
decoded by a real decoder (zxing-cpp), at the asked error-correction level, and the URL they carry leads to
the batch's consumer page. SQLite and PostgreSQL."""

from __future__ import annotations

import io

import cairosvg
import pytest
import qrcode
import qrcode.image.pil
import zxingcpp
from PIL import Image

from tests.factories import make_batch, make_world
from traceapp import db
from traceapp.public.qr import LEVELS, render, symbol

PUBLIC_URL = "http://traceapp.test"  # the app fixture's TRACEAPP_PUBLIC_URL


def decode(image: Image.Image) -> tuple[str, str]:
    """Return the text and error-correction level of the one QR code in ``image``."""
    # Transparent parts (the SVG has no background) are paper: white.
    paper = Image.new("RGBA", image.size, "white")
    found = zxingcpp.read_barcodes(Image.alpha_composite(paper, image.convert("RGBA")).convert("L"))
    codes = [r for r in found if r.format == zxingcpp.BarcodeFormat.QRCode and r.valid]
    assert len(codes) == 1, found
    return codes[0].text, codes[0].ec_level


def decode_png(body: bytes) -> tuple[str, str]:
    return decode(Image.open(io.BytesIO(body)))


def decode_svg(body: bytes) -> tuple[str, str]:
    # The SVG is 1 mm per module; drawn at 400 px, a module is several pixels wide, as on a printed label.
    return decode(Image.open(io.BytesIO(cairosvg.svg2png(bytestring=body, output_width=400))))


DECODERS = {"png": decode_png, "svg": decode_svg}


def scanned(client, code: str, fmt: str, ec: str) -> tuple[str, str]:
    response = client.get(f"/qr/{code}.{fmt}?ec={ec}")
    assert response.status_code == 200
    assert response.mimetype == ("image/png" if fmt == "png" else "image/svg+xml")
    return DECODERS[fmt](response.data)


def follow(client, url: str):
    """Open a decoded URL as a phone would: through every redirect, on this app."""
    assert url.startswith(PUBLIC_URL + "/")
    return client.get(url.removeprefix(PUBLIC_URL), follow_redirects=True)


@pytest.fixture
def batches(app):
    with app.app_context(), db.write_session() as s:
        world = make_world(s)
        first = make_batch(s, world["producer"])
        second = make_batch(s, world["producer"], product="黄桃罐头", gtin="06901234567892", lot="YL-01")
        return first.code, second.code


@pytest.mark.parametrize("fmt", ["png", "svg"])
@pytest.mark.parametrize("ec", ["M", "Q"])
def test_the_qr_code_decodes_to_the_consumer_page_of_its_batch(client, batches, fmt, ec):
    for code in batches:
        text, level = scanned(client, code, fmt, ec)
        assert (text, level) == (f"{PUBLIC_URL}/t/{code}", ec)
        page = follow(client, text)
        assert page.status_code == 200
        assert code in page.get_data(as_text=True)



def test_a_served_image_is_kept_per_worker_and_unknown_codes_are_always_refused(app, client, batches):
    from sqlalchemy import event

    queries = []
    engine = app.extensions["traceapp.db"].engine
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, sql, *a: queries.append(sql))
    first = client.get(f"/qr/{batches[0]}.png")
    after_first = len(queries)
    again = client.get(f"/qr/{batches[0].lower()}.png", headers={"If-None-Match": first.headers["ETag"]})
    assert after_first > 0 and len(queries) == after_first  # no query for a kept image
    assert again.status_code == 304
    assert client.get("/qr/ZZZZZZZZZZZZZ.png").status_code == 404
    assert len(queries) > after_first


@pytest.mark.parametrize(("level", "size"), [("M", 1), ("M", 10), ("Q", 3), ("H", 40)])
def test_the_png_is_the_image_qrcode_itself_draws(level, size):
    url = f"{PUBLIC_URL}/t/K5F89N9NFG49J"
    buffer = io.BytesIO()
    code = symbol(url, level, size)
    code.make_image(image_factory=qrcode.image.pil.PilImage).save(buffer)
    ours = render(url, "png", level, size)
    assert Image.open(io.BytesIO(ours)).size == ((code.modules_count + 8) * size,) * 2
    assert ours == buffer.getvalue()


def qrcode_default_version(url: str) -> int:
    code = qrcode.QRCode(error_correction=LEVELS["M"])
    code.add_data(url)
    return code.best_fit()


@pytest.mark.parametrize(("url", "version", "default"), [
    ("https://zhuisu.example.com.cn/t/K5F89N9NFG49J", 3, 4),  # the code in alphanumeric mode saves a version
    ("https://id.example.cn/01/06901234567892/10/YL-01", 3, 3),  # where it would cost one, qrcode's own choice
    ("http://traceapp.test/t/K5F89N9NFG49J", 3, 3),
])
def test_a_qr_code_takes_the_smallest_version_and_decodes_to_its_url(url, version, default):
    assert qrcode_default_version(url) == default
    assert symbol(url, "M", 10).version == version
    assert decode_png(render(url, "png", "M", 10)) == (url, "M")
