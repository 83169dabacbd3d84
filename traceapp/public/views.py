"""The public home page."""

from __future__ import annotations

from flask import Blueprint, render_template

from traceapp import db
from traceapp.ledger.store import parse_checkpoint

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    latest = db.ledger().latest_checkpoint(db.session())
    checkpoint = parse_checkpoint(latest[1]) if latest else None
    return render_template("index.html", checkpoint=checkpoint, key=db.ledger().verifier.encode())
