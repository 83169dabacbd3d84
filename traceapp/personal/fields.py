"""Which fields of which entries name or reach a natural person, and how public pages show a person.

Organizations' ``contact`` and ``address`` (any kind) and the ``name`` of an ``individual``; a
合格证's ``contact``. An organization's name of any other kind, its 统一社会信用代码 and its region
are public business registration facts. ``actor.user`` is an opaque ``user:<id>`` in every entry.
"""

from __future__ import annotations

#: What a projection column holds once its value is erased (both languages: exports and pages alike).
ERASED = "已删除 / erased"
#: The legal basis an erasure entry cites.
LEGAL_BASIS = "个人信息保护法第四十七条"
ERASURE_KIND = "personal_data.erased"

# Compound surnames, so 欧阳娜娜 shows as 欧阳某 and not 欧某.
_COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
             "令狐", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "澹台", "万俟", "闻人", "呼延", "申屠")


def personal_paths(kind: str, data: dict) -> tuple[str, ...]:
    """Return the paths of ``data`` that are personal in an entry of ``kind``."""
    if kind == "org.registered":
        return ("name", "address", "contact") if data.get("kind") == "individual" else ("address", "contact")
    if kind == "compliance_certificate.issued":
        return ("contact",)
    if kind == "org.changed":
        return changed_paths(data.get("changes") or {}, individual=False)
    return ()


def changed_paths(changes: dict, *, individual: bool) -> tuple[str, ...]:
    """Return the personal paths of an ``org.changed`` entry's data: each changed personal field, both in
    ``changes`` and in ``previous`` (the name too when the organization is or was an ``individual``)."""
    personal = ("name", "address", "contact") if individual else ("address", "contact")
    return tuple(f"{part}.{key}" for part in ("changes", "previous") for key in personal if key in changes)


#: Kinds whose entries may hold personal fields (``personal_paths`` is not empty for them).
PERSONAL_KINDS = ("org.registered", "org.changed", "compliance_certificate.issued")


def public_name(name: str | None, kind: str | None) -> str | None:
    """Return how public pages name an organization: an ``individual`` by surname followed by 某."""
    if kind != "individual" or not name:
        return name
    if name == ERASED:
        return "某"
    name = name.strip()
    surname = name[:2] if name[:2] in _COMPOUND else name[:1]
    if surname.isascii():  # a name in Latin letters: its first word
        surname = name.split()[0]
        return f"{surname} 某"
    return f"{surname}某"


def is_pseudonymous(user: object) -> bool:
    """Return whether an entry's ``actor.user`` names no person: ``user:<id>`` or a ``system:`` job."""
    return isinstance(user, str) and (user.startswith("user:") or user.startswith("system:")) or user is None
