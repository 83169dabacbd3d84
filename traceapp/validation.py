"""The one input boundary of every write: reading fields from a request, a form, the CLI or the demo
loader, normalizing their text, and collecting what is wrong with them, so a rejected write names every
bad field by its label and writes nothing.

Text is normalized to Unicode NFC before it is checked, stored or hashed: the ledger hashes NFC
(``ledger.encoding``), so a projection row holding anything else would differ from its entry for good.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

from traceapp import clock
from traceapp.errors import DomainError
from traceapp.field_labels import LABELS
from traceapp.i18n import gettext as _


class InvalidInput(DomainError):
    """One or more fields break their rules; nothing was written."""

    status = 400
    code = "invalid_input"


# Lone surrogates cannot be encoded as UTF-8: no row, entry or answer could hold them.
SURROGATE = re.compile("[\ud800-\udfff]")
# C0 and C1 control characters and DEL. Multi-line text (reasons, descriptions) keeps newline and tab.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
MULTI_LINE_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) make a name or a code
# display as something else than it is ("黄桃\u202egpj.exe").
BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")

EARLIEST_DAY = date(2000, 1, 1)  # no harvest, inspection or validity in this registry starts earlier
LATEST_VALID_DAY = date(2100, 12, 31)
MAX_VALIDITY_YEARS = 10


def normalize_text(value: str, *, multiline: bool = False) -> str:
    """Return ``value`` without surrounding whitespace, in NFC (line breaks as ``\\n`` in multi-line text);
    every write's text goes through here before it is checked, so the projection row and the ledger entry
    hold one string."""
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")  # a form's textarea sends CRLF
    return unicodedata.normalize("NFC", value.strip())


def text_problem(value: str, label, *, multiline: bool = False) -> str | None:
    """Return the message saying why text for the field ``label`` is refused, None when it is acceptable."""
    if SURROGATE.search(value):
        return _("%(field)s含有无效的 Unicode 字符（单独的代理项），请重新输入。", field=label)
    if (MULTI_LINE_CONTROL if multiline else CONTROL).search(value):
        return (_("%(field)s不能包含换行和制表符以外的控制字符，请删除后再提交。", field=label) if multiline
                else _("%(field)s不能包含控制字符（如 NUL、换行或制表符），请删除后再提交。", field=label))
    if not multiline and BIDI_CONTROL.search(value):
        return _("%(field)s不能包含双向文字控制字符（U+202A–U+202E、U+2066–U+2069），请删除后再提交。", field=label)
    return None


def add_years(day: date, years: int) -> date:
    """Return the same calendar day ``years`` later (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


class Fields:
    """Reads fields from a mapping, normalizing their text, and records what is wrong with them.

    ``labels`` names fields as the user sees them (on top of ``field_labels.LABELS``); a field without
    a label is named by its key."""

    def __init__(self, data: dict, *, prefix: str = "", errors: dict[str, str] | None = None,
                 labels: dict | None = None, outer_label=None):
        self.data = data if isinstance(data, dict) else {}
        self.prefix = prefix
        self.errors: dict[str, str] = {} if errors is None else errors
        self.labels = LABELS if labels is None else {**LABELS, **labels}
        self.outer_label = outer_label

    def nested(self, data: dict, prefix: str, *, label=None, labels: dict | None = None) -> Fields:
        """Return a reader for a nested object whose errors are named ``prefix.field`` here; ``label``
        names the object in messages ("第 1 个检测项目")."""
        return Fields(data, prefix=f"{self.prefix}{prefix}.", errors=self.errors, labels=labels,
                      outer_label=label)

    def label(self, field: str):
        """Return how messages name ``field``: its label, else its key (with the nested prefix)."""
        inner = self.labels.get(field)
        if inner is None:
            return self.prefix + field
        if self.outer_label is not None:
            return _("%(outer)s的%(inner)s", outer=self.outer_label, inner=inner)
        return inner

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(self.prefix + field, message)

    def text(self, field: str, *, required: bool = True, max_length: int = 200, multiline: bool = False) -> str:
        """Read a text field in NFC; names, codes and numbers are single-line (``multiline`` for a reason
        or a description, which may hold newlines and tabs)."""
        value = self.data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, _("%(field)s是必填项。", field=self.label(field)))
            return ""
        if not isinstance(value, str):
            self.fail(field, _("%(field)s必须是文本。", field=self.label(field)))
            return ""
        value = normalize_text(value, multiline=multiline)
        if len(value) > max_length:
            self.fail(field, _("%(field)s不能超过 %(max)d 个字符。", field=self.label(field), max=max_length))
            return ""  # a refused value reaches no query (PostgreSQL cannot even compare text holding NUL)
        problem = text_problem(value, self.label(field), multiline=multiline)
        if problem:
            self.fail(field, problem)
            return ""
        return value

    def choice(self, field: str, choices: tuple[str, ...], shown: dict | None = None) -> str:
        """Read one of ``choices``; ``shown`` maps each code to its label (``records.labels``), so the
        refusal lists what the form's options say ("合格、不合格"), not the codes behind them."""
        value = self.text(field, max_length=64)
        if value and value not in choices:
            names = [str(shown.get(code, code)) for code in choices] if shown else list(choices)
            self.fail(field, _("%(field)s必须是以下之一：%(choices)s。", field=self.label(field),
                               choices=_("、").join(names)))
        return value

    def pattern(self, field: str, regex: str, rule: str, *, required: bool = True) -> str:
        """Read a text field that must match ``regex`` (ASCII classes such as ``[0-9]``, never ``\\d``)."""
        value = self.text(field, required=required, max_length=100)
        if value and not re.fullmatch(regex, value, re.ASCII):
            self.fail(field, rule)
        return value

    def date(self, field: str, *, required: bool = True) -> date | None:
        """Read a date written ``YYYY-MM-DD`` in ASCII digits."""
        value = self.text(field, required=required, max_length=10)
        if not value:
            return None
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fail(field, _("%(field)s必须是 YYYY-MM-DD 格式的日期，例如 2026-08-01。", field=self.label(field)))
            return None

    def past_date(self, field: str, *, required: bool = True) -> date | None:
        """Read the date of something that happened (a harvest, an inspection): from 2000-01-01 to today
        in the deployment's time zone."""
        day = self.date(field, required=required)
        if day is None:
            return None
        today = clock.today()
        if day < EARLIEST_DAY:
            self.fail(field, _("%(field)s不能早于 %(date)s，请核对年份。", field=self.label(field),
                               date=EARLIEST_DAY.isoformat()))
            return None
        if day > today:
            self.fail(field, _("%(field)s不能晚于今天（%(today)s）。", field=self.label(field),
                               today=today.isoformat()))
            return None
        return day

    def validity(self, start_field: str = "valid_from", end_field: str = "valid_to"
                 ) -> tuple[date | None, date | None]:
        """Read a validity period (a certificate's, a licence's): within 2000-01-01…2100-12-31, the end not
        before the start and at most ten years after it."""
        start, end = self.date(start_field), self.date(end_field)
        for field, day in ((start_field, start), (end_field, end)):
            if day is not None and not EARLIEST_DAY <= day <= LATEST_VALID_DAY:
                self.fail(field, _("%(field)s必须在 %(first)s 到 %(last)s 之间，请核对年份。",
                                   field=self.label(field), first=EARLIEST_DAY.isoformat(),
                                   last=LATEST_VALID_DAY.isoformat()))
                return None, None
        if start and end and end < start:
            self.fail(end_field, _("%(end)s不能早于%(start)s。", end=self.label(end_field),
                                   start=self.label(start_field)))
            return None, None
        if start and end and end > add_years(start, MAX_VALIDITY_YEARS):
            self.fail(end_field, _("有效期最长 %(n)d 年：%(end)s不能晚于 %(last)s。", n=MAX_VALIDITY_YEARS,
                                   end=self.label(end_field),
                                   last=add_years(start, MAX_VALIDITY_YEARS).isoformat()))
            return None, None
        return start, end

    def quantity(self, field: str, value=None) -> Decimal | None:
        """Read a positive decimal quantity with at most 3 decimal places (a string or int, ASCII digits)."""
        raw = self.data.get(field) if value is None else value
        if raw is None or raw == "":
            self.fail(field, _("%(field)s是必填项。", field=self.label(field)))
            return None
        if isinstance(raw, bool) or not isinstance(raw, (str, int)) or not re.fullmatch(
                r"[0-9]{1,15}(\.[0-9]{1,3})?", str(raw).strip()):
            self.fail(field, _("%(field)s必须是十进制数字字符串，最多 3 位小数，例如 \"1250.5\"。",
                               field=self.label(field)))
            return None
        amount = Decimal(str(raw).strip())
        if amount <= 0:
            self.fail(field, _("%(field)s必须大于 0。", field=self.label(field)))
            return None
        return amount

    def integer(self, field: str, *, required: bool = True) -> int | None:
        """Read a positive integer id (an int, or a string of ASCII digits from a form)."""
        raw = self.data.get(field)
        if raw is None or raw == "":
            if required:
                self.fail(field, _("%(field)s是必填项。", field=self.label(field)))
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not re.fullmatch(r"[0-9]{1,9}",
                                                                                      str(raw).strip()):
            self.fail(field, _("%(field)s必须是正整数编号。", field=self.label(field)))
            return None
        return int(str(raw).strip())

    def text_list(self, field: str, *, max_items: int = 50, max_length: int = 100) -> list[str]:
        """Read a non-empty list of distinct non-empty single-line strings in NFC (or one comma-separated
        string from a form)."""
        raw = self.data.get(field)
        if isinstance(raw, str):
            raw = [part for part in re.split(r"[,，、;；\n]", raw) if part.strip()]
        if not raw:
            self.fail(field, _("%(field)s是必填项。", field=self.label(field)))
            return []
        if not isinstance(raw, list) or len(raw) > max_items or not all(
                isinstance(item, str) and item.strip() and len(normalize_text(item)) <= max_length
                for item in raw):
            self.fail(field, _("%(field)s必须是由非空文本组成的列表（最多 %(n)d 项，每项不超过 %(max)d 个字符）。",
                               field=self.label(field), n=max_items, max=max_length))
            return []
        items = [normalize_text(item) for item in raw]
        for item in items:
            problem = text_problem(item, self.label(field))
            if problem:
                self.fail(field, problem)
                return []
        return list(dict.fromkeys(items))

    def check(self) -> None:
        """Raise InvalidInput naming every bad field, if any."""
        if self.errors:
            first = next(iter(self.errors.values()))
            raise InvalidInput(first, dict(self.errors))
