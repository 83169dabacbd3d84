"""The public home page and the consumer page of a batch."""

from __future__ import annotations

from flask import Blueprint, render_template

from traceapp import db
from traceapp.brands.queries import claim_status
from traceapp.ledger.store import parse_checkpoint
from traceapp.records import queries
from traceapp.records.services import get_batch

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    latest = db.ledger().latest_checkpoint(db.session())
    checkpoint = parse_checkpoint(latest[1]) if latest else None
    return render_template("index.html", checkpoint=checkpoint, key=db.ledger().verifier.encode())


@bp.get("/t/<code>")
def trace(code: str):
    """The consumer page of one batch: what a QR code on a package opens."""
    session = db.session()
    batch = get_batch(session, code)
    return render_template("trace.html", batch=queries.batch_detail(session, batch),
                           claim=claim_status(session, batch))
