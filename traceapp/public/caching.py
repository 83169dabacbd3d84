"""What lets any HTTP cache keep the consumer page: its release stamp and its strong ETag.

The page is a function of what it shows (the batch's view, read from the database), the language, the
release that renders it and the ledger key it embeds. So its ETag is a digest of exactly those: a write
that changes what the page shows changes the view, and so the ETag; a write that does not, does not. A
certificate or licence that runs out changes the view on the day it does (its status is computed for
today), so the ETag follows the date where a validity ends without being told. Checking an ETag reads
the view but renders nothing.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from flask import Flask, current_app, request

from traceapp.i18n import TRANSLATIONS

_RELEASE = "traceapp.public.release"
MAX_AGE = 60  # seconds a cache may serve the page without asking
STALE_WHILE_REVALIDATE = 600  # seconds it may serve a stale copy while it asks


def init_app(app: Flask) -> None:
    """Stamp the release once, at start: the package's version and a digest of the templates and
    translations (a deployment that changes them is a new release, whatever its version says)."""
    try:
        stamp = version("traceapp")
    except PackageNotFoundError:
        stamp = "unpackaged"
    digest = hashlib.sha256(stamp.encode())
    for folder, pattern in ((Path(app.root_path, app.template_folder), "*.html"), (TRANSLATIONS, "*.po")):
        for path in sorted(folder.resolve().rglob(pattern)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    app.extensions[_RELEASE] = digest.hexdigest()


def etag(view: dict, *parts: object) -> str:
    """Return the strong ETag of a representation of ``view``: a digest of the view, this release, the
    ledger key, the request's language and query and ``parts`` (what else the representation shows)."""
    from traceapp import db
    from traceapp.i18n import current_language

    digest = hashlib.sha256(current_app.extensions[_RELEASE].encode())
    digest.update(db.ledger().verifier.encode().encode())
    digest.update(json.dumps([current_language(), request.script_root, request.query_string.decode("latin-1"),
                              *parts], default=str).encode())
    digest.update(json.dumps(view, sort_keys=True, default=str, ensure_ascii=False).encode())
    return digest.hexdigest()[:40]


def public(response, tag: str):
    """Mark ``response`` (or a 304) as cacheable by anyone for MAX_AGE seconds, with its ETag."""
    response.set_etag(tag)
    cache = response.cache_control
    cache.public = True
    cache.max_age = MAX_AGE
    cache.stale_while_revalidate = STALE_WHILE_REVALIDATE
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")  # the ``lang`` cookie chooses the language too
    return response
