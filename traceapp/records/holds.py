"""What stops a batch from being used: a standing recall, or a frozen or void code. Such a batch
cannot be an input, be handed over, get a new 合格证 or have labels printed."""

from __future__ import annotations

from sqlalchemy.orm import Session

from traceapp.errors import Rejected
from traceapp.i18n import gettext as _
from traceapp.records.models import Batch, CodeState
from traceapp.records.recalls import recall_status

ACTIONS = ("input", "transfer", "compliance", "labels")


def hold_of(session: Session, batch: Batch) -> dict | None:
    """Return {state: recalled | frozen | void, reason} of a batch that may not be used, else None.
    A recall comes first: it is the reason a consumer must hear of."""
    recall = recall_status(session, batch)
    if recall is not None:
        return {"state": "recalled", "reason": recall["reason"]}
    row = session.get(CodeState, batch.id)
    if row is not None and row.state != "active":
        return {"state": row.state, "reason": row.reason}
    return None


def hold_message(batch: Batch, hold: dict, action: str) -> str:
    """Return the sentences that refuse ``action`` (one of ACTIONS) on a held batch: its state and
    the reason given, then what is refused and what to do."""
    if hold["state"] == "recalled":
        state = _("批次 %(code)s 已被召回，召回原因：%(reason)s。", code=batch.code, reason=hold["reason"])
    elif hold["state"] == "frozen":
        state = _("批次 %(code)s 的追溯码已被冻结，冻结原因：%(reason)s。", code=batch.code, reason=hold["reason"])
    else:
        state = _("批次 %(code)s 的追溯码已作废，作废原因：%(reason)s。", code=batch.code, reason=hold["reason"])
    refused = {
        "input": _("已召回、冻结或作废的批次不能作为原料批次，请改用其他批次。"),
        "transfer": _("已召回、冻结或作废的批次不能转交给其他组织。"),
        "compliance": _("已召回、冻结或作废的批次不能再开具合格证。"),
        "labels": _("已召回、冻结或作废的批次不能再打印标签。"),
    }[action]
    # Chinese sentences run on; the English catalog puts a space between them.
    return _("%(state)s%(refused)s", state=state, refused=refused)


def refuse_held(session: Session, batch: Batch, action: str, field: str = "batch") -> None:
    """Raise Rejected (422) naming the state and its reason when the batch may not be used for ``action``."""
    hold = hold_of(session, batch)
    if hold is not None:
        message = hold_message(batch, hold, action)
        raise Rejected(message, {field: message})
