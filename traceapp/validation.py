"""Collecting field errors for one write, so a rejected request names every bad field."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from traceapp.errors import DomainError
from traceapp.i18n import gettext as _


class InvalidInput(DomainError):
    """One or more fields break their rules; nothing was written."""

    status = 400
    code = "invalid_input"


# Control characters no text field may hold (tab, newline and carriage return are allowed); PostgreSQL
# cannot even store NUL.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Fields:
    """Reads fields from a mapping and records what is wrong with them."""

    def __init__(self, data: dict, *, prefix: str = "", errors: dict[str, str] | None = None):
        self.data = data if isinstance(data, dict) else {}
        self.prefix = prefix
        self.errors: dict[str, str] = {} if errors is None else errors

    def nested(self, data: dict, prefix: str) -> Fields:
        """Return a reader for a nested object whose errors are named ``prefix.field`` here."""
        return Fields(data, prefix=f"{self.prefix}{prefix}.", errors=self.errors)

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(self.prefix + field, message)

    def text(self, field: str, *, required: bool = True, max_length: int = 200) -> str:
        value = self.data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, _("%(field)s 是必填项。", field=self.prefix + field))
            return ""
        if not isinstance(value, str):
            self.fail(field, _("%(field)s 必须是文本。", field=self.prefix + field))
            return ""
        value = value.strip()
        if len(value) > max_length:
            self.fail(field, _("%(field)s 不能超过 %(max)d 个字符。", field=self.prefix + field, max=max_length))
            return ""  # a refused value reaches no query (PostgreSQL cannot even compare text holding NUL)
        if CONTROL.search(value):
            self.fail(field, _("%(field)s 不能包含控制字符（如 NUL）。", field=self.prefix + field))
            return ""
        return value

    def choice(self, field: str, choices: tuple[str, ...]) -> str:
        value = self.text(field, max_length=64)
        if value and value not in choices:
            self.fail(field, _("%(field)s 必须是以下之一：%(choices)s。", field=self.prefix + field,
                               choices=", ".join(choices)))
        return value

    def pattern(self, field: str, regex: str, rule: str, *, required: bool = True) -> str:
        value = self.text(field, required=required, max_length=100)
        if value and not re.fullmatch(regex, value):
            self.fail(field, rule)
        return value

    def date(self, field: str, *, required: bool = True) -> date | None:
        value = self.text(field, required=required, max_length=10)
        if not value:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            self.fail(field, _("%(field)s 必须是 YYYY-MM-DD 格式的日期。", field=self.prefix + field))
            return None

    def quantity(self, field: str, value=None) -> Decimal | None:
        """Read a positive decimal quantity with at most 3 decimal places (a string or int)."""
        raw = self.data.get(field) if value is None else value
        if raw is None or raw == "":
            self.fail(field, _("%(field)s 是必填项。", field=self.prefix + field))
            return None
        if isinstance(raw, bool) or not isinstance(raw, (str, int)) or not re.fullmatch(
                r"\d{1,15}(\.\d{1,3})?", str(raw).strip()):
            self.fail(field, _("%(field)s 必须是十进制数字字符串，最多 3 位小数，例如 \"1250.5\"。",
                               field=self.prefix + field))
            return None
        amount = Decimal(str(raw).strip())
        if amount <= 0:
            self.fail(field, _("%(field)s 必须大于 0。", field=self.prefix + field))
            return None
        return amount

    def integer(self, field: str, *, required: bool = True) -> int | None:
        """Read a positive integer id (an int, or a string of digits from a form)."""
        raw = self.data.get(field)
        if raw is None or raw == "":
            if required:
                self.fail(field, _("%(field)s 是必填项。", field=self.prefix + field))
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not re.fullmatch(r"\d{1,9}", str(raw).strip()):
            self.fail(field, _("%(field)s 必须是正整数编号。", field=self.prefix + field))
            return None
        return int(str(raw).strip())

    def text_list(self, field: str, *, max_items: int = 50, max_length: int = 100) -> list[str]:
        """Read a non-empty list of distinct non-empty strings (or one comma-separated string from a form)."""
        raw = self.data.get(field)
        if isinstance(raw, str):
            raw = [part for part in re.split(r"[,，、;；\n]", raw) if part.strip()]
        if not raw:
            self.fail(field, _("%(field)s 是必填项。", field=self.prefix + field))
            return []
        if not isinstance(raw, list) or len(raw) > max_items or not all(
                isinstance(item, str) and item.strip() and len(item.strip()) <= max_length and not CONTROL.search(item)
                for item in raw):
            self.fail(field, _("%(field)s 必须是由非空文本组成的列表（最多 %(n)d 项，每项不超过 %(max)d 个字符）。",
                               field=self.prefix + field, n=max_items, max=max_length))
            return []
        return list(dict.fromkeys(item.strip() for item in raw))

    def check(self) -> None:
        """Raise InvalidInput naming every bad field, if any."""
        if self.errors:
            first = next(iter(self.errors.values()))
            raise InvalidInput(first, dict(self.errors))
