"""Handing part of a batch over to another organization through the JSON API (the batch's producer),
and the transfers out of a batch."""

from __future__ import annotations

from flask import jsonify

from traceapp import db
from traceapp.api import schemas
from traceapp.api.openapi import operation
from traceapp.api.views import api_user, bp, write
from traceapp.records.models import Organization
from traceapp.records.services import get_batch
from traceapp.records.transfers import transfer_batch, transfer_view, transfers_of


@bp.post("/batches/<code>/transfers")
@operation(summary="Hand part of a batch over to another producer organization (the batch's producer); a "
                   "batch.transferred entry. The receiver may then use up to that quantity as an input",
           request=schemas.TransferIn, response=schemas.TransferOut, status=201, errors=(400, 401, 403, 409, 422))
def create_transfer(code: str):
    def action(session, body, user):
        batch = get_batch(session, code)
        row = transfer_batch(session, batch, body, user=user)
        return transfer_view(row, session.get_one(Organization, row.to_id).name, batch.unit)
    return write(action, schemas.TransferOut())


@bp.get("/batches/<code>/transfers")
@operation(summary="The transfers out of a batch, oldest first", response=schemas.TransferList, errors=(401,))
def list_transfers(code: str):
    api_user()
    session = db.session()
    batch = get_batch(session, code)
    return jsonify(schemas.TransferList().dump({"batch": batch.code,
                                                "items": transfers_of(session, [batch.id]).get(batch.id, [])}))

