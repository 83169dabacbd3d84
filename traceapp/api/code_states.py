"""Freezing, unfreezing and voiding a batch's code through the JSON API (its producer or a regulator)."""

from __future__ import annotations

from marshmallow import Schema, fields

from traceapp.api import schemas
from traceapp.api.openapi import operation
from traceapp.api.views import bp, write
from traceapp.records.code_states import freeze_code, unfreeze_code, void_code
from traceapp.records.services import get_batch


class CodeStateOut(Schema):
    code = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": ["active", "frozen", "void"]})
    reason = fields.String(allow_none=True, metadata={"description": "why; null when active"})
    changed_at = fields.DateTime(allow_none=True, metadata={"description": "UTC; null when active"})


def _change(code: str, service):
    def action(session, body, user):
        batch = get_batch(session, code)
        return {"code": batch.code, **service(session, batch, body, user=user)}
    return write(action, CodeStateOut(), status=200)


@bp.post("/batches/<code>/freeze")
@operation(summary="Freeze the batch's code with a reason (its producer, a regulator); reversible",
           request=schemas.ReasonIn, response=CodeStateOut, errors=(400, 401, 403, 409))
def freeze_code_endpoint(code: str):
    return _change(code, freeze_code)


@bp.post("/batches/<code>/unfreeze")
@operation(summary="Make a frozen code active again, with a reason (its producer, a regulator)",
           request=schemas.ReasonIn, response=CodeStateOut, errors=(400, 401, 403, 409))
def unfreeze_code_endpoint(code: str):
    return _change(code, unfreeze_code)


@bp.post("/batches/<code>/void")
@operation(summary="Void the batch's code for good, with a reason (its producer, a regulator)",
           request=schemas.ReasonIn, response=CodeStateOut, errors=(400, 401, 403, 409))
def void_code_endpoint(code: str):
    return _change(code, void_code)
