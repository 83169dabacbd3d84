"""Query-string parameters checked with messages that name the parameter and the rule."""

from __future__ import annotations

import re

from flask import request

from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _


def int_arg(name: str, *, default: int | None = None, minimum: int = 0, maximum: int | None = None) -> int:
    """Return query parameter ``name`` as an int in [minimum, maximum]; raise InvalidField."""
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise InvalidField(name, _("缺少参数 %(name)s：它是必填的整数。", name=name))
        return default
    if raw == "":
        # "limit=" is not "no limit": a client that meant a number sent none, and guessing hides its bug.
        raise InvalidField(name, _("参数 %(name)s 是空的：请给出一个整数，或去掉这个参数。", name=name))
    if not re.fullmatch(r"-?[0-9]{1,30}", raw):
        raise InvalidField(name, _("参数 %(name)s 必须是整数，收到的是“%(value)s”。", name=name, value=raw[:40]))
    value = int(raw)
    if value < minimum:
        raise InvalidField(name, _("参数 %(name)s 不能小于 %(min)d，收到的是 %(value)d。",
                                   name=name, min=minimum, value=value))
    if maximum is not None and value > maximum:
        raise InvalidField(name, _("参数 %(name)s 不能大于 %(max)d，收到的是 %(value)d。",
                                   name=name, max=maximum, value=value))
    return value


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul_bytes() -> None:
    """Refuse a query parameter or form field holding a NUL byte: no field may hold one, and
    PostgreSQL cannot even compare text with it. (Path parts are checked by the lookups: a code
    or slug that cannot be one is simply not found; JSON text fields by ``validation.Fields``.)"""
    form = request.form.items(multi=True) if request.mimetype in FORM_TYPES else ()
    for name, value in [*request.args.items(multi=True), *form]:
        if "\x00" in value:
            raise InvalidField(name, _("参数 %(name)s 不能包含空字符（NUL）。", name=name))


def init_app(app) -> None:
    app.before_request(refuse_nul_bytes)
