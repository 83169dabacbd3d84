"""Ledger endpoints for auditors and verifiers (DESIGN.md part 1, "Ledger endpoints")."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from traceapp import db
from traceapp.errors import NotFound
from traceapp.i18n import gettext as _
from traceapp.ledger.store import parse_checkpoint
from traceapp.params import int_arg

bp = Blueprint("ledger", __name__, url_prefix="/ledger")
MAX_ENTRIES = 1000


def _signed_size() -> int:
    latest = db.ledger().latest_checkpoint(db.session())
    if latest is None:
        raise NotFound(_("账本还没有签名检查点，请先运行 flask --app traceapp db upgrade。"))
    return latest[0]


def _text(body: str) -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/")
def about():
    """For auditors: what the checkpoint, the key and the proofs show, and the tools that check them."""
    latest = db.ledger().latest_checkpoint(db.session())
    return render_template("public/ledger.html", checkpoint=parse_checkpoint(latest[1]) if latest else None,
                           key=db.ledger().verifier.encode())


@bp.get("/checkpoint")
def checkpoint():
    latest = db.ledger().latest_checkpoint(db.session())
    if latest is None:
        raise NotFound(_("账本还没有签名检查点，请先运行 flask --app traceapp db upgrade。"))
    return _text(latest[1])


@bp.get("/key")
def key():
    response = _text(db.ledger().verifier.encode())  # exactly the C2SP key text, no newline
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/entries")
def entries():
    size = _signed_size()
    start = int_arg("start", default=0, maximum=size)
    limit = int_arg("limit", default=100, minimum=1, maximum=MAX_ENTRIES)
    rows = db.ledger().entries(db.session(), start, min(limit, size - start))
    body = b"".join(b'{"seq":%d,"entry":%s,"hash":"%s"}\n' % (seq, raw, digest.encode())
                    for seq, raw, digest in rows)
    response = Response(body, mimetype="application/x-ndjson")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/proof/inclusion")
def inclusion():
    current = _signed_size()
    size = int_arg("size", default=current, minimum=1, maximum=current)
    seq = int_arg("seq", maximum=size - 1)
    leaf, path = db.ledger().inclusion_proof(db.session(), seq, size)
    return _json({"seq": seq, "size": size, "leaf_hash": leaf.hex(), "proof": [h.hex() for h in path]})


@bp.get("/proof/consistency")
def consistency():
    current = _signed_size()
    new = int_arg("new", default=current, minimum=1, maximum=current)
    old = int_arg("old", minimum=1, maximum=new)
    path = db.ledger().consistency_proof(db.session(), old, new)
    return _json({"old": old, "new": new, "proof": [h.hex() for h in path]})


def _json(body: dict) -> Response:
    response = jsonify(body)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
