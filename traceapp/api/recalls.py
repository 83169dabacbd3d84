"""Recalls and the forward / backward trace of a batch through the JSON API."""

from __future__ import annotations

from flask import jsonify, request

from traceapp import db
from traceapp.api import schemas
from traceapp.api.openapi import integer, operation
from traceapp.api.views import api_user, bp, write
from traceapp.errors import InvalidField
from traceapp.i18n import gettext as _
from traceapp.params import int_arg
from traceapp.records.endings import read_reason
from traceapp.records.recalls import lift_recall, recall_batch
from traceapp.records.services import get_batch
from traceapp.records.trace import DIRECTIONS, MAX_DEPTH, trace


@bp.post("/batches/<code>/recall")
@operation(summary="Recall a batch, or it and everything made from it, with a reason (regulator); one "
                   "batch.recalled entry per affected batch", request=schemas.RecallIn, response=schemas.RecallOut,
           status=201, errors=(400, 401, 403, 409))
def recall_endpoint(code: str):
    def action(session, body, user):
        batch = get_batch(session, code)
        recalled = recall_batch(session, batch, body, user=user)
        # read_reason gives the reason as the service recorded it (checked, so it cannot fail here)
        return {"batch": batch.code, "scope": body.get("scope") or "batch", "reason": read_reason(body),
                "recalled": [b.code for b in recalled]}
    return write(action, schemas.RecallOut())


@bp.post("/batches/<code>/recall/lift")
@operation(summary="Lift a batch's recall with a reason (regulator); a batch.recall_lifted entry",
           request=schemas.ReasonIn, response=schemas.RecallLiftOut, errors=(400, 401, 403, 409))
def lift_recall_endpoint(code: str):
    def action(session, body, user):
        return lift_recall(session, get_batch(session, code), body, user=user)
    return write(action, schemas.RecallLiftOut(), status=200)


@bp.get("/batches/<code>/trace")
@operation(summary="The batch's trace as a tree: forward (every batch made from it) or backward (everything it "
                   "was made from, down to the farms)", response=schemas.TraceOut, errors=(400, 401),
           query=(("direction", {"type": "string", "enum": list(DIRECTIONS)}, "forward or backward", True),
                  ("depth", integer(1, MAX_DEPTH), f"levels, 1 to {MAX_DEPTH} (default {MAX_DEPTH})")))
def trace_endpoint(code: str):
    api_user()
    direction = request.args.get("direction", "")
    if direction not in DIRECTIONS:
        raise InvalidField("direction", _("追溯方向必须是 forward（向下游）或 backward（向上游）。"))
    depth = int_arg("depth", default=MAX_DEPTH, minimum=1, maximum=MAX_DEPTH)
    session = db.session()
    batch = get_batch(session, code)
    tree = trace(session, batch, direction, max_depth=depth)
    truncated = tree.pop("truncated")
    # The tree is built in its final shape; dumping thousands of nested nodes through marshmallow would cost
    # more than the trace's queries (TraceOut documents it).
    return jsonify({"batch": batch.code, "direction": direction, "truncated": truncated, "tree": tree})
