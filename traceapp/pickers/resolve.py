"""Turning what a person typed into a picker's field into the value the services store, for forms
and filters sent without the pickers' script (or typed without choosing from the list): a region by
its name or full name (炎陵县, 湖南省株洲市炎陵县) or pinyin, a brand by its name or alias (炎陵黄桃), an
organization by its name or 统一社会信用代码.

A value that already has the stored form (six digits, a slug, an id) is passed on unchanged, so the
services keep the one set of rules and their messages. A name that matches nothing, or several
things, is refused here, naming the field by its label."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from traceapp.brands.models import Brand
from traceapp.brands.search import fold
from traceapp.errors import InvalidField
from traceapp.field_labels import LABELS
from traceapp.i18n import gettext as _
from traceapp.pickers import queries
from traceapp.records import regions
from traceapp.records.models import Organization
from traceapp.validation import InvalidInput

SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
T = TypeVar("T")
SHOWN = 5  # candidates named in an "ambiguous" message


def _clean(value) -> str:
    return unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else ""


def _label(field: str, label) -> str:
    return str(label if label is not None else LABELS.get(field, field))


def region(value, field: str, label=None) -> str:
    """Return the 6-digit code for a region typed as a code, a (full) name or pinyin; raise InvalidField."""
    text = _clean(value)
    if not text or re.fullmatch(r"[0-9]+", text):
        return text  # the service checks codes
    found = [r for r in regions.all_regions() if text in (r.name, regions.full_name(r.code))]
    if not found:
        found = regions.search(text, SHOWN + 1)
        folded = regions.fold_pinyin(text)
        exact = [r for r in found if regions.fold_pinyin(r.pinyin) == folded]
        found = exact if len(exact) == 1 else found
    if len(found) == 1:
        return found[0].code
    if not found:
        raise InvalidField(field, _("%(field)s：没有名为“%(text)s”的行政区划，请从列表中选择，或填写 6 位代码。",
                                    field=_label(field, label), text=text[:40]))
    names = "、".join(regions.full_name(r.code) for r in found[:SHOWN])
    raise InvalidField(field, _("%(field)s：“%(text)s”对应多个行政区划（%(names)s），请从列表中选择一个。",
                                field=_label(field, label), text=text[:40], names=names))


def brand(session: Session, value, field: str = "brand", label=None) -> str:
    """Return the slug for a brand typed as its slug, name or alias; '' for none; raise InvalidField."""
    text = _clean(value)
    if not text or SLUG.fullmatch(text):
        return text
    if SLUG.fullmatch(text.lower()):
        return text.lower()
    rows = session.scalars(select(Brand).where(Brand.name == text).order_by(Brand.id)).all()
    if not rows:
        rows = [b for b in session.scalars(select(Brand).where(Brand.search_text.contains(
            fold(text), autoescape=True))) if text in b.aliases]
    if len(rows) == 1:
        return rows[0].slug
    if not rows:
        raise InvalidField(field, _("%(field)s：没有名为“%(text)s”的品牌，请从列表中选择，或填写品牌名称。",
                                    field=_label(field, label), text=text[:40]))
    names = "、".join(f"{b.name}（{b.slug}）" for b in rows[:SHOWN])
    raise InvalidField(field, _("%(field)s：“%(text)s”对应多个品牌（%(names)s），请从列表中选择一个。",
                                field=_label(field, label), text=text[:40], names=names))


def organization(session: Session, value, viewer, field: str, label=None,
                 kinds: tuple[str, ...] | None = None) -> str:
    """Return the id (as text) for an organization typed as its id, name or 统一社会信用代码; raise
    InvalidField. A viewer who may not see personal data finds an individual by its full name only."""
    text = _clean(value)
    if not text or re.fullmatch(r"[0-9]+", text):
        return text
    query = select(Organization).where(or_(Organization.name == text, Organization.uscc == text.upper()))
    if kinds:
        query = query.where(Organization.kind.in_(kinds))
    rows = session.scalars(query.order_by(Organization.id).limit(SHOWN + 1)).all()
    if len(rows) == 1:
        return str(rows[0].id)
    if not rows:
        raise InvalidField(field, _("%(field)s：没有名称或统一社会信用代码为“%(text)s”的组织，请从列表中选择。",
                                    field=_label(field, label), text=text[:40]))
    names = "、".join(queries.organization_item(o, viewer)["text"] for o in rows[:SHOWN])
    raise InvalidField(field, _("%(field)s：“%(text)s”对应多个组织（%(names)s），请从列表中选择一个。",
                                field=_label(field, label), text=text[:40], names=names))


def fields(data: dict, resolvers: dict[str, Callable[[str], str]]) -> dict[str, str]:
    """Replace each field of ``data`` named in ``resolvers`` by its resolved value, in place; return the
    fields that could not be resolved with their messages (their typed text is left for the service)."""
    problems: dict[str, str] = {}
    for field, resolver in resolvers.items():
        if data.get(field):
            try:
                data[field] = resolver(data[field])
            except InvalidField as exc:
                problems.update(exc.fields)
    return problems


def saving(problems: dict[str, str], save: Callable[[], T]) -> T:
    """Run ``save`` (a service call); report the fields ``fields`` could not resolve with the service's
    other refusals, in the resolver's words (they say more than "must be a code"), and refuse the write."""
    try:
        result = save()
    except InvalidInput as exc:
        exc.fields.update(problems)
        raise
    if problems:
        raise InvalidInput(next(iter(problems.values())), problems)
    return result


def filter_args(session: Session, args: Mapping[str, str], viewer, *, labels: Mapping,
                producer_kinds=None) -> dict[str, str]:
    """Return a query string's filters with ``region``, ``brand`` and ``producer`` typed as names turned
    into the codes, slugs and ids the filters take; raise InvalidField for a name that matches nothing
    or several things, naming the filter by its entry in ``labels``."""
    resolved = {key: args.get(key, "") for key in args}
    resolvers = {"region": lambda v: region(v, "region", labels["region"]),
                 "brand": lambda v: brand(session, v, "brand", labels["brand"]),
                 "producer": lambda v: organization(session, v, viewer, "producer", labels["producer"],
                                                    kinds=producer_kinds)}
    for field, resolver in resolvers.items():
        if resolved.get(field, "").strip():
            resolved[field] = resolver(resolved[field])
    return resolved
