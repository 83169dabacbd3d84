"""Drawing batch labels: the QR matrix, where each part of a label goes, and the PDF sheet.

Every label of a sheet is the same, so the PDF draws one label as a form XObject and places
it at each position: 1,000 labels cost little more than one. The QR code is vector rectangles
from the qrcode library's matrix (sharp at any printer resolution). The text uses a CJK
TrueType font from Debian's fonts-wqy-microhei when installed, else reportlab's built-in CID
font STSong-Light, so a missing font never breaks printing."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen import canvas

from traceapp.public.qr import symbol
from traceapp.records.label_sheets import Layout

log = logging.getLogger(__name__)

# TrueType-outline CJK fonts (reportlab cannot embed the CFF outlines of Noto CJK).
FONT_FILES = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
              Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"))
TRUETYPE_NAME = "TraceappLabelSans"
FALLBACK_FONT = "STSong-Light"
QUIET_ZONE = 4  # modules of white around the code (ISO/IEC 18004 §6.3.8)
MIN_SHRINK = 0.6  # a line shrinks to 60 % of its size before it is cut with an ellipsis
ELLIPSIS = "…"


@dataclass(frozen=True)
class LabelContent:
    """What one label says: the QR target and the facts printed beside it."""

    url: str
    code: str
    product: str
    brand: str | None
    producer: str
    harvest_date: str

    def lines(self) -> list[tuple[str, float, bool]]:
        """Return (text, weight, may be cut) for each text line, the product largest; the code is never cut."""
        found = [(self.product, 1.35, True)]
        if self.brand:
            found.append((self.brand, 1.0, True))
        found += [(self.producer, 0.9, True), (f"采收 {self.harvest_date}", 0.9, True), (self.code, 1.0, False)]
        return found


@dataclass(frozen=True)
class Line:
    text: str
    size: float  # font size in mm
    baseline: float  # from the label's top, in mm


@dataclass(frozen=True)
class LabelArt:
    """Where a label's parts go, in mm from the label's top left corner."""

    width: float
    height: float
    qr_x: float
    qr_y: float
    qr_side: float  # including the quiet zone
    modules: tuple[tuple[bool, ...], ...]
    text_x: float
    text_width: float
    lines: tuple[Line, ...]

    @property
    def grid(self) -> int:
        """Return the QR code's width in modules, with its quiet zone."""
        return len(self.modules) + 2 * QUIET_ZONE

    @property
    def module(self) -> float:
        return self.qr_side / self.grid

    def runs(self) -> list[tuple[int, int, int]]:
        """Return the dark runs of the matrix as (row, first column, length)."""
        found = []
        for r, row in enumerate(self.modules):
            c = 0
            while c < len(row):
                if row[c]:
                    start = c
                    while c < len(row) and row[c]:
                        c += 1
                    found.append((r, start, c - start))
                else:
                    c += 1
        return found

    def svg_path(self) -> str:
        """Return the SVG path of the dark modules, in module units with the quiet zone."""
        return "".join(f"M{c + QUIET_ZONE} {r + QUIET_ZONE}h{n}v1h-{n}z" for r, c, n in self.runs())


@lru_cache(maxsize=4096)
def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """Return the QR code of ``url`` (error correction M, like /qr/<code>.png) without its quiet zone."""
    return tuple(tuple(bool(m) for m in row) for row in symbol(url, "M", border=0).get_matrix())


@cache
def label_font() -> str:
    """Register the CJK font once per process and return its name."""
    for path in FONT_FILES:
        if path.exists():
            try:
                pdfmetrics.registerFont(TTFont(TRUETYPE_NAME, str(path), subfontIndex=0))
                return TRUETYPE_NAME
            except (TTFError, OSError) as exc:
                log.warning("cannot use the label font %s (%s); trying the next", path, exc)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def text_width(text: str, size: float) -> float:
    """Return the width in mm of ``text`` at ``size`` mm in the label font."""
    return pdfmetrics.stringWidth(text, label_font(), size)


def fit(text: str, size: float, width: float, *, cut: bool = True) -> tuple[str, float]:
    """Shrink ``text`` to fit ``width``: when ``cut``, down to MIN_SHRINK of ``size`` and then cut with an
    ellipsis; otherwise as far as it takes."""
    natural = text_width(text, size)
    if natural <= width:
        return text, size
    if not cut:
        return text, size * width / natural
    smaller = max(size * MIN_SHRINK, size * width / natural)
    while text and text_width(text, smaller) > width:
        text = text[:-2] + ELLIPSIS if len(text) > 1 else ""
    return text, smaller


@lru_cache(maxsize=256)
def label_art(content: LabelContent, width: float, height: float) -> LabelArt:
    """Return the placement of a label of ``width`` × ``height`` mm: the QR code left, the text right."""
    pad = min(3.0, max(1.0, height * 0.045))
    qr_side = min(height - 2 * pad, width * 0.5)
    gap = pad * 0.6
    text_x = pad + qr_side + gap
    text_w = width - text_x - pad
    weights = content.lines()
    unit = (height - 2 * pad) / sum(w for _, w, _cut in weights) / 1.25  # 1.25: line height over font size
    cap = 4.2 if height < 50 else 5.0  # mm: 12 pt on sheets, 14 pt on thermal labels
    base = min(unit, cap)
    block = sum(base * w * 1.25 for _, w, _cut in weights)
    y = (height - block) / 2
    lines = []
    for text, weight, cut in weights:
        fitted, size = fit(text, base * weight, text_w, cut=cut)
        lines.append(Line(fitted, round(size, 3), round(y + base * weight * 1.0, 3)))
        y += base * weight * 1.25
    return LabelArt(width, height, pad, (height - qr_side) / 2, qr_side, qr_matrix(content.url), text_x, text_w,
                    tuple(lines))


def render_pdf(content: LabelContent, layout: Layout, labels: int) -> bytes:
    """Return a PDF of ``labels`` copies of the label on ``layout``'s pages."""
    art = label_art(content, layout.label_width, layout.label_height)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(layout.page_width * mm, layout.page_height * mm), pageCompression=1)
    pdf.setTitle(f"{content.product} {content.code}")
    pdf.setCreator("traceapp")
    _draw_label_form(pdf, art)
    positions = layout.positions()
    for count in layout.pages(labels):
        for x, y in positions[:count]:
            pdf.saveState()
            pdf.translate(x * mm, (layout.page_height - y - layout.label_height) * mm)
            pdf.doForm("label")
            pdf.restoreState()
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _draw_label_form(pdf: canvas.Canvas, art: LabelArt) -> None:
    pdf.beginForm("label", lowerx=0, lowery=0, upperx=art.width * mm, uppery=art.height * mm)
    pdf.setFillColorRGB(0, 0, 0)
    unit = art.module * mm
    left = (art.qr_x + QUIET_ZONE * art.module) * mm
    top = (art.height - art.qr_y - QUIET_ZONE * art.module) * mm
    path = pdf.beginPath()
    for r, c, n in art.runs():
        # a hair taller than a module so that anti-aliased renderers leave no seam between rows
        path.rect(left + c * unit, top - (r + 1) * unit, n * unit, unit * 1.02)
    pdf.drawPath(path, stroke=0, fill=1)
    font = label_font()
    for line in art.lines:
        pdf.setFont(font, line.size * mm)
        pdf.drawString(art.text_x * mm, (art.height - line.baseline) * mm, line.text)
    pdf.endForm()
