"""The key qualifiers of a GS1 Digital Link URI's path after its GTIN (AI 01): ``/22/<variant>``,
``/10/<lot>`` and ``/21/<serial>``, each at most once and in that order, as the GS1 Digital Link URI
syntax fixes them. Anything else in the path makes the URI invalid, which the resolver answers with
400 (the GS1-Conformant Resolver standard: a resolver SHALL validate the URI's syntax); data
attributes such as an expiry date (17) belong in the query string, which is passed on.
"""

from __future__ import annotations

from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.i18n import lazy_gettext as _l

# In their fixed order; each is up to 20 characters of GS1's character set 82 (X..20).
QUALIFIERS = {"22": _l("消费品变体"), "10": _l("批号"), "21": _l("序列号")}
MAX_LENGTH = 20


def read_qualifiers(rest: str) -> dict[str, str]:
    """Return the qualifiers of the path after ``/01/<gtin>/`` by AI; raise InvalidField("path")
    when the path is not a valid GS1 Digital Link."""
    segments = rest.split("/")
    if len(segments) > 1 and segments[-1] == "":  # one trailing slash is tolerated, as on the other routes
        segments.pop()
    if len(segments) % 2:
        raise _invalid(_("这不是有效的 GS1 数字链接：GTIN 之后的路径必须由“/限定符/值”成对组成，例如 /10/批号；"
                         "“%(segment)s”后面缺少值。", segment=segments[-1][:40]))
    order = list(QUALIFIERS)
    found: dict[str, str] = {}
    for ai, value in zip(segments[::2], segments[1::2], strict=True):
        if ai not in QUALIFIERS:
            raise _invalid(_("这不是有效的 GS1 数字链接：路径中 GTIN 之后只能依次出现 /22/（消费品变体）、"
                             "/10/（批号）、/21/（序列号），不能出现 /%(ai)s/；"
                             "有效期等其他数据请写在问号之后的查询字符串中，例如 ?17=271231。", ai=ai[:20]))
        if found and order.index(ai) <= order.index(list(found)[-1]):
            raise _invalid(_("这不是有效的 GS1 数字链接：/22/、/10/、/21/ 各至多出现一次，并且必须按这个顺序排列；"
                             "/%(ai)s/ 的位置不对。", ai=ai))
        if not value or len(value) > MAX_LENGTH or any(c.isspace() or not c.isprintable() for c in value):
            raise _invalid(_("这不是有效的 GS1 数字链接：%(label)s（AI %(ai)s）不能为空，最多 %(max)d 个字符，"
                             "且不能包含空白或控制字符。", label=QUALIFIERS[ai], ai=ai, max=MAX_LENGTH))
        found[ai] = value
    return found


def _invalid(message: str) -> InvalidField:
    return InvalidField("path", message)
