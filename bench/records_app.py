"""The app as served, plus one bench-only route: ``POST /bench/append``, the raw-ledger-append
baseline of ``bench/records.py``. Never deploy this module; serve it with

    gunicorn --workers 4 bench.records_app:app        # from the checkout

``POST /bench/append?n=N`` appends one ledger entry (kind ``bench.append``, actor
``{"user": "bench", "org": null}``, subject ``bench:N``, data the request's JSON object)
through the request's write session (``db.writing()``: the single-writer lock) and commits,
which seals a signed checkpoint; no token check, no validation, no projection row.
"""

from __future__ import annotations

import itertools
import os

from flask import jsonify, request

from traceapp import create_app, db
from traceapp.auth import csrf
from traceapp.heap import freeze_startup_objects

app = create_app()
_unnumbered = itertools.count()


@app.post("/bench/append")
@csrf.exempt
def bench_append():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify({"error": {"code": "invalid", "message": "the body must be a JSON object"}}), 400
    n = request.args.get("n") or f"{os.getpid()}-{next(_unnumbered)}"
    session = db.writing()
    entry = db.ledger().append(session, "bench.append", {"user": "bench", "org": None}, f"bench:{n}", data)
    session.commit()
    return jsonify({"seq": entry.seq}), 201


freeze_startup_objects()  # as wsgi.py does once the app is built
