"""Query-string parameters checked with messages that name the parameter and the rule."""

from __future__ import annotations

import re

from flask import request

from traceapp.errors import InvalidField, wants_json
from traceapp.field_labels import LABELS as FIELD_LABELS
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l

# How messages name the integer parameters of pages and endpoints: a link's parameter is read by people
# too (a pasted address, a page number), so it is named by what it means, not by its key.
LABELS = {"start": _l("起始序号"), "end": _l("终止序号"), "limit": _l("条数"), "offset": _l("跳过的条数"),
          "size": _l("树大小"), "seq": _l("条目序号"), "old": _l("旧树大小"), "new": _l("新树大小"),
          "page": _l("页码"), "before": _l("翻页位置"), "depth": _l("追溯层数"), "organization": _l("组织编号"),
          "holder": _l("持有人编号"), "q": _l("搜索词")}


def param_name(name: str, labels: dict | None = None) -> str:
    """Return how a message names query parameter ``name`` (labelled in ``labels``, else in ``LABELS``): by
    its meaning on a page; by its meaning and its key for a JSON client, whose developer wrote the key
    and looks it up in the reference."""
    label = (labels or LABELS).get(name)
    if label is None:
        return name
    return _("%(label)s（%(name)s）", label=label, name=name) if machine_client() else str(label)


def machine_client() -> bool:
    """Return whether the request comes from a program (a JSON endpoint, an API token, a JSON Accept)."""
    return (wants_json() or request.headers.get("Authorization", "").startswith("Bearer ")
            or request.accept_mimetypes.best == "application/json")


def int_arg(name: str, *, default: int | None = None, minimum: int = 0, maximum: int | None = None) -> int:
    """Return query parameter ``name`` as an int in [minimum, maximum]; raise InvalidField."""
    raw = request.args.get(name)
    field = param_name(name)
    if raw is None:
        if default is None:
            raise InvalidField(name, _("缺少%(field)s：请给出一个整数。", field=field))
        return default
    if raw == "":
        # "limit=" is not "no limit": a client that meant a number sent none, and guessing hides its bug.
        raise InvalidField(name, _("%(field)s是空的：请给出一个整数，或去掉这一项。", field=field))
    if not re.fullmatch(r"-?[0-9]{1,30}", raw):
        raise InvalidField(name, _("%(field)s必须是整数，收到的是“%(value)s”。", field=field, value=raw[:40]))
    value = int(raw)
    if value < minimum:
        raise InvalidField(name, _("%(field)s不能小于 %(min)d，收到的是 %(value)d。",
                                   field=field, min=minimum, value=value))
    if maximum is not None and value > maximum:
        raise InvalidField(name, _("%(field)s不能大于 %(max)d，收到的是 %(value)d。",
                                   field=field, max=maximum, value=value))
    return value


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul_bytes() -> None:
    """Refuse a query parameter or form field holding a NUL byte: no field may hold one, and
    PostgreSQL cannot even compare text with it. (Path parts are checked by the lookups: a code
    or slug that cannot be one is simply not found; JSON text fields by ``validation.Fields``.)"""
    form = request.form.items(multi=True) if request.mimetype in FORM_TYPES else ()
    for name, value in [*request.args.items(multi=True), *form]:
        if "\x00" in value:
            field = LABELS.get(name) or FIELD_LABELS.get(name) or name[:40]
            raise InvalidField(name, _("%(field)s不能包含空字符（NUL），请删除后再提交。", field=field))


def init_app(app) -> None:
    app.before_request(refuse_nul_bytes)
