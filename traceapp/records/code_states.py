"""A batch code's state: ``active``, ``frozen`` (reversible) or ``void`` (final), changed with a
reason by the batch's producer or a regulator through ``code.frozen``, ``code.unfrozen`` and
``code.voided`` entries about ``batch:<code>``. The ``code_states`` row holds the latest
state other than active; no row means active."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from traceapp.errors import Conflict
from traceapp.i18n import gettext as _
from traceapp.ledger.encoding import format_ts
from traceapp.ledger.store import LedgerEntry, ledger_of
from traceapp.records.access import require_batch_owner
from traceapp.records.endings import read_reason
from traceapp.records.models import Batch, CodeState
from traceapp.records.projections import compare

# kind -> the state it leaves the code in (None: active, the row goes)
KINDS = {"code.frozen": "frozen", "code.unfrozen": None, "code.voided": "void"}
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def may_change_code_state(user, batch: Batch) -> bool:
    """Return whether the user may freeze, unfreeze or void the batch's code."""
    return user.role in ("admin", "regulator") or (
        user.role == "producer" and user.organization_id == batch.organization_id)


def require_code_authority(user, batch: Batch) -> None:
    """Raise Forbidden unless the user is a regulator, an admin or staff of the batch's producer."""
    if user.role not in ("admin", "regulator"):
        require_batch_owner(user, batch)


def freeze_code(session: Session, batch: Batch, data: dict, *, user) -> dict:
    """Freeze an active code with a reason (``code.frozen``); raise Conflict when it is frozen or void."""
    return _change(session, batch, data, user=user, kind="code.frozen", allowed=("active",))


def unfreeze_code(session: Session, batch: Batch, data: dict, *, user) -> dict:
    """Make a frozen code active again, with a reason (``code.unfrozen``); raise Conflict unless it is frozen."""
    return _change(session, batch, data, user=user, kind="code.unfrozen", allowed=("frozen",))


def void_code(session: Session, batch: Batch, data: dict, *, user) -> dict:
    """Void a code for good, with a reason (``code.voided``); raise Conflict when it is void already."""
    return _change(session, batch, data, user=user, kind="code.voided", allowed=("active", "frozen"))


def _change(session: Session, batch: Batch, data: dict, *, user, kind: str, allowed: tuple[str, ...]) -> dict:
    require_code_authority(user, batch)
    reason = read_reason(data)
    row = session.get(CodeState, batch.id)
    state = row.state if row is not None else "active"
    if state not in allowed:
        if state == "void":
            raise Conflict(_("批次码 %(code)s 已作废，作废是最终状态，不能再冻结、解冻或作废。", code=batch.code))
        if state == "frozen":
            raise Conflict(_("批次码 %(code)s 已经处于冻结状态。", code=batch.code))
        raise Conflict(_("批次码 %(code)s 没有被冻结，不需要解冻。", code=batch.code))
    entry = ledger_of(session).append(session, kind, user.actor(), f"batch:{batch.code}", {"reason": reason})
    new_state = KINDS[kind]
    if new_state is None:
        session.delete(row)
    else:
        if row is None:
            row = CodeState(batch_id=batch.id)
            session.add(row)
        row.state, row.reason, row.changed_by = new_state, reason, user.username
        row.changed_at, row.ledger_seq = datetime.strptime(entry.entry["ts"], TS_FORMAT), entry.seq
    session.flush()
    return code_state(session, batch)


def code_state(session: Session, batch: Batch) -> dict:
    """Return ``{"state", "reason", "changed_at"}`` of the batch's code: ``active`` with no reason and
    no time when it was never frozen or voided (or was unfrozen); ``changed_at`` is an aware UTC datetime."""
    row = session.get(CodeState, batch.id)
    if row is None:
        return {"state": "active", "reason": None, "changed_at": None}
    return {"state": row.state, "reason": row.reason, "changed_at": row.changed_at.replace(tzinfo=UTC)}


def code_state_sentence(state: dict) -> str | None:
    """Return what a page says about a frozen or void code (None for an active one)."""
    if state["state"] == "frozen":
        return _("此批次码已被冻结（可恢复），原因：%(reason)s", reason=state["reason"])
    if state["state"] == "void":
        return _("此批次码已作废，原因：%(reason)s", reason=state["reason"])
    return None


def code_state_differences(session: Session) -> Iterator[str]:
    """Yield a sentence for each ``code_states`` row that differs from the code's latest ``code.*`` entry."""
    from traceapp.personal.actors import actor_names

    name_of = actor_names(session)
    expected: dict[str, tuple[int, dict]] = {}
    for seq, body in session.execute(select(LedgerEntry.seq, LedgerEntry.body)
                                     .where(LedgerEntry.kind.in_(tuple(KINDS))).order_by(LedgerEntry.seq)):
        entry = json.loads(bytes(body))
        code = entry["subject"].removeprefix("batch:")
        state = KINDS[entry["kind"]]
        if state is None:
            expected.pop(code, None)
        else:
            expected[code] = (seq, {"state": state, "reason": entry["data"]["reason"],
                                    "changed_by": name_of(entry["actor"]["user"]), "changed_at": entry["ts"]})
    rows = {code: row for row, code in session.execute(select(CodeState, Batch.code)
                                                        .join(Batch, Batch.id == CodeState.batch_id))}

    def record(row: CodeState) -> dict:
        return {"state": row.state, "reason": row.reason, "changed_by": row.changed_by,
                "changed_at": format_ts(row.changed_at.replace(tzinfo=UTC))}

    yield from compare("code_states", expected, rows, record, lambda row: row.ledger_seq)
