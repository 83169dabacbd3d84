"""Label sheets for a batch: one label per package, the sheet geometries we print on, and the
``batch.labels_printed`` entries that keep the labels printed within the batch's quantity."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.errors import Rejected
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l
from traceapp.ledger.store import ledger_of
from traceapp.numbers import format_quantity
from traceapp.records.access import require_batch_owner
from traceapp.records.holds import refuse_held
from traceapp.records.models import Batch, LabelPrint
from traceapp.records.values import quantity_text
from traceapp.validation import Fields

MAX_LABELS = 1000
KIND = "batch.labels_printed"


@dataclass(frozen=True)
class Layout:
    """A sheet of ``columns`` × ``rows`` labels; every length in millimetres, origin top left."""

    name: str
    title: object  # a lazy translated string
    page_width: float
    page_height: float
    columns: int
    rows: int
    label_width: float
    label_height: float
    left: float = 0.0  # page edge to the first label
    top: float = 0.0
    pitch_x: float = 0.0  # label origin to the next label's; 0 means the labels touch
    pitch_y: float = 0.0

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def thermal(self) -> bool:
        return self.per_page == 1

    def positions(self) -> list[tuple[float, float]]:
        """Return the top-left corner of each label on a page, row by row."""
        step_x = self.pitch_x or self.label_width
        step_y = self.pitch_y or self.label_height
        return [(round(self.left + c * step_x, 2), round(self.top + r * step_y, 2))
                for r in range(self.rows) for c in range(self.columns)]

    def pages(self, labels: int) -> list[int]:
        """Return how many labels each page holds when ``labels`` are printed."""
        full, rest = divmod(labels, self.per_page)
        return [self.per_page] * full + ([rest] if rest else [])


# Geometries of common A4 sticker sheets (Avery's / 得力's published templates) and roll labels.
LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    Layout("a4-24", _l("A4 24 张（3×8，70×37 mm，如 Avery 3474）"), 210, 297, 3, 8, 70, 37, left=0, top=0.5),
    Layout("a4-21", _l("A4 21 张（3×7，63.5×38.1 mm，如 Avery L7160）"), 210, 297, 3, 7, 63.5, 38.1,
           left=7.2, top=15.15, pitch_x=66.0, pitch_y=38.1),
    Layout("a4-14", _l("A4 14 张（2×7，99.1×38.1 mm，如 Avery L7163）"), 210, 297, 2, 7, 99.1, 38.1,
           left=4.65, top=15.15, pitch_x=101.6, pitch_y=38.1),
    Layout("a4-40", _l("A4 40 张（4×10，48.5×25.4 mm，如 Avery 3657）"), 210, 297, 4, 10, 48.5, 25.4,
           left=8.0, top=21.5),
    Layout("100x70", _l("热敏标签 100×70 mm（每页一张）"), 100, 70, 1, 1, 100, 70),
    Layout("80x60", _l("热敏标签 80×60 mm（每页一张）"), 80, 60, 1, 1, 80, 60),
)}
DEFAULT_LAYOUT = "a4-24"


@dataclass(frozen=True)
class LabelRequest:
    labels: int
    package_quantity: Decimal
    layout: Layout


def number_text(amount: Decimal | int) -> str:
    """Return a quantity with thousands separators ("1,200.5"): :func:`traceapp.numbers.format_quantity`."""
    return format_quantity(amount)


def read_request(data: dict) -> LabelRequest:
    """Read ``labels``, ``package_quantity`` and ``layout``; raise InvalidInput naming each bad field."""
    f = Fields(data)
    labels = _count(f, "labels")
    package = f.quantity("package_quantity")
    layout = f.choice("layout", tuple(LAYOUTS), {name: layout.title for name, layout in LAYOUTS.items()})
    f.check()
    return LabelRequest(labels, package, LAYOUTS[layout])


def _count(f: Fields, field: str) -> int:
    raw = f.data.get(field)
    if raw is None or raw == "":
        f.fail(field, _("%(field)s是必填项。", field=f.label(field)))
        return 0
    text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= MAX_LABELS:
        f.fail(field, _("%(field)s必须是 1 到 %(max)d 之间的整数。", field=f.label(field), max=MAX_LABELS))
        return 0
    return int(text)


def labels_printed(session: Session, batch: Batch) -> int:
    """Return how many labels have been printed for the batch."""
    return sum(labels for labels, _package in _prints(session, batch))


def quantity_covered(session: Session, batch: Batch) -> Decimal:
    """Return the quantity the batch's printed labels cover (labels × package quantity)."""
    return sum((labels * package for labels, package in _prints(session, batch)), Decimal(0))


def _prints(session: Session, batch: Batch) -> list[tuple[int, Decimal]]:
    return [tuple(row) for row in session.execute(
        select(LabelPrint.labels, LabelPrint.package_quantity).where(LabelPrint.batch_id == batch.id))]


def labels_left(session: Session, batch: Batch, package_quantity: Decimal) -> int:
    """Return how many more labels of ``package_quantity`` the batch's quantity allows."""
    left = batch.quantity - quantity_covered(session, batch)
    return max(0, int((left / package_quantity).to_integral_value(ROUND_FLOOR)))


def check_allowance(session: Session, batch: Batch, request: LabelRequest) -> None:
    """Raise Rejected when the labels, with those printed before, would cover more than the batch."""
    refuse_held(session, batch, "labels", "code")
    left = labels_left(session, batch, request.package_quantity)
    if request.labels <= left:
        return
    allowed = int((batch.quantity / request.package_quantity).to_integral_value(ROUND_FLOOR))
    message = _("本批次共 %(quantity)s %(unit)s，按每件 %(package)s %(unit)s 最多可打印 %(allowed)s 张标签；"
                "已打印 %(printed)s 张；再打印 %(labels)s 张将超出 %(excess)s 张（最多还能打印 %(left)s 张）。",
                quantity=number_text(batch.quantity), unit=batch.unit, package=number_text(request.package_quantity),
                allowed=number_text(allowed), printed=number_text(labels_printed(session, batch)),
                labels=number_text(request.labels), excess=number_text(request.labels - left), left=number_text(left))
    raise Rejected(message, {"labels": message})


def print_labels(session: Session, batch: Batch, data: dict, *, user) -> LabelPrint:
    """Record a sheet of labels for the batch and append ``batch.labels_printed``.

    Raises Forbidden unless the user is staff of the batch's producer (or an admin),
    InvalidInput naming each bad field, and Rejected when the labels would cover more than
    the batch's quantity (or its code is frozen or void).
    """
    require_batch_owner(user, batch)
    request = read_request(data)
    check_allowance(session, batch, request)
    entry = ledger_of(session).append(session, KIND, user.actor(), f"batch:{batch.code}",
                                      label_record(request.labels, request.package_quantity, batch.unit,
                                                   request.layout.name))
    row = LabelPrint(batch_id=batch.id, labels=request.labels, package_quantity=request.package_quantity,
                     layout=request.layout.name, printed_by=user.username, ledger_seq=entry.seq)
    session.add(row)
    session.flush()
    return row


def label_record(labels: int, package_quantity: Decimal, unit: str, layout: str) -> dict:
    """Return the data of a ``batch.labels_printed`` entry."""
    return {"labels": labels, "package_quantity": quantity_text(package_quantity), "unit": unit, "layout": layout}


def get_label_print(session: Session, batch: Batch, print_id: int) -> LabelPrint | None:
    """Return the batch's recorded print ``print_id``, or None."""
    row = session.get(LabelPrint, print_id)
    return row if row is not None and row.batch_id == batch.id else None


def prints_of(session: Session, batch: Batch) -> list[LabelPrint]:
    """Return the batch's recorded prints, oldest first."""
    return list(session.scalars(select(LabelPrint).where(LabelPrint.batch_id == batch.id).order_by(LabelPrint.id)))


def label_print_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each label_prints row that differs from its ``batch.labels_printed`` entry."""
    from traceapp.personal.actors import actor_names
    from traceapp.records.projections import entries, with_batches

    name_of = actor_names(session)
    rows, batches = with_batches(session, LabelPrint, lambda row: row.ledger_seq)
    for seq, entry in entries(session, KIND):
        row = rows.pop(seq, None)
        if row is None:
            yield f"label_prints: the print in entry {seq} is missing"
            continue
        code, unit = batches[seq]
        actual = {"batch": f"batch:{code}", "printed_by": row.printed_by,
                  "data": label_record(row.labels, row.package_quantity, unit, row.layout)}
        expected = {"batch": entry["subject"], "printed_by": name_of(entry["actor"]["user"]), "data": entry["data"]}
        if actual != expected:
            fields = sorted({k for k in ("batch", "printed_by") if actual[k] != expected[k]}
                            | {k for k in expected["data"] if actual["data"].get(k) != expected["data"][k]})
            yield f"label_prints: row {row.id} differs from entry {seq} in {', '.join(fields)}"
    for seq in sorted(rows):
        yield f"label_prints: row {rows[seq].id} has no ledger entry"
