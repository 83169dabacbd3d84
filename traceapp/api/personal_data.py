"""Reveals of the personal fields an entry holds as commitments, for regulators' and admins' tokens,
so an auditor can recompute each commitment independently."""

from __future__ import annotations

from flask import jsonify
from marshmallow import Schema, fields

from traceapp import db
from traceapp.api.openapi import operation
from traceapp.api.views import api_user, bp
from traceapp.errors import NotFound
from traceapp.i18n import gettext as _
from traceapp.personal.services import reveals

MAX_SEQ = 2**53 - 1  # entries' seq stay in the I-JSON range


class PersonalDataOut(Schema):
    seq = fields.Integer(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.Dict(), required=True, metadata={
        "description": 'by field path: {"value", "salt" (hex)}, or {"erased": <seq of the personal_data.erased '
                       'entry>}; the commitment is SHA-256(salt ‖ RFC 8785 bytes of the value)'})


@bp.get("/personal-data/<int:seq>")
@operation(summary="The reveals of one entry's personal fields (regulator, admin)", response=PersonalDataOut,
           errors=(401, 403, 404))
def personal_data(seq: int):
    user = api_user()
    if seq > MAX_SEQ:
        raise NotFound(_("账本中没有序号为 %(seq)s 的条目。", seq=seq))
    found = reveals(db.session(), seq, user=user)
    return jsonify(PersonalDataOut().dump({"seq": found["seq"], "fields_": found["fields"]}))
